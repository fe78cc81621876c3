-- depends: 0002.change-feed
-- What agents report and send: the config versions held at the last GetConfigList and when, and alarms.
-- The heartbeat index serves expiry (agents silent since a time).
ALTER TABLE agents ADD COLUMN config_versions TEXT NOT NULL DEFAULT '[]';  -- JSON list of [name, version]
ALTER TABLE agents ADD COLUMN last_config_fetch_time BIGINT NOT NULL DEFAULT 0;
CREATE INDEX agents_by_heartbeat ON agents (latest_heartbeat_time);

CREATE TABLE alarms (
    id BIGSERIAL PRIMARY KEY,
    agent_id TEXT NOT NULL,
    type TEXT NOT NULL,
    detail TEXT NOT NULL,
    time BIGINT NOT NULL  -- unix seconds, the server's
);
CREATE INDEX alarms_by_agent ON alarms (agent_id, id);
CREATE INDEX alarms_by_time ON alarms (time, id);
