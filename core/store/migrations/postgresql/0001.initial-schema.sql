-- The alpha schema: groups, configs (deleted ones kept for their version), bindings, agents.
CREATE TABLE agent_groups (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    tags TEXT NOT NULL  -- JSON list of [name, value] pairs
);

CREATE TABLE configs (
    name TEXT PRIMARY KEY,
    agent_type TEXT NOT NULL,
    description TEXT NOT NULL,
    content TEXT NOT NULL,
    version BIGINT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0  -- 1: deleted, row kept so that a re-creation gets a new version
);

CREATE TABLE applied_configs (
    group_name TEXT NOT NULL REFERENCES agent_groups (name),
    config_name TEXT NOT NULL REFERENCES configs (name),
    PRIMARY KEY (group_name, config_name)
);

CREATE INDEX applied_configs_by_config ON applied_configs (config_name);

CREATE TABLE agents (
    agent_id TEXT PRIMARY KEY,
    agent_type TEXT NOT NULL,
    ip TEXT NOT NULL,
    version TEXT NOT NULL,
    running_status TEXT NOT NULL,
    startup_time BIGINT NOT NULL,
    latest_heartbeat_time BIGINT NOT NULL,
    tags TEXT NOT NULL,  -- JSON list of [name, value] pairs
    running_details TEXT NOT NULL  -- JSON object
);

INSERT INTO agent_groups (name, description, tags)
VALUES ('default', 'Default agent group, include all agents.', '[]');
