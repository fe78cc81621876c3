-- depends: 0004.fleet-status
-- Config governance: when each config version was written, every revision kept (also of deleted
-- configs), and the audit trail of User API writes. Configs that exist when history begins get one
-- revision holding what they are now.
ALTER TABLE configs ADD COLUMN update_time INTEGER NOT NULL DEFAULT 0;  -- unix seconds

CREATE TABLE config_revisions (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    action TEXT NOT NULL,  -- CREATE, UPDATE, DELETE, ROLLBACK
    time INTEGER NOT NULL,  -- unix seconds
    actor TEXT NOT NULL,
    reason TEXT NOT NULL,
    agent_type TEXT NOT NULL,
    description TEXT NOT NULL,
    content TEXT NOT NULL,
    PRIMARY KEY (name, version)
);

INSERT INTO config_revisions (name, version, action, time, actor, reason, agent_type, description, content)
SELECT name, version, 'CREATE', 0, '', 'the config as it was when history began', agent_type,
       description, content
FROM configs WHERE deleted = 0;

CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time INTEGER NOT NULL,  -- unix seconds
    actor TEXT NOT NULL,
    peer TEXT NOT NULL,
    rpc TEXT NOT NULL,
    target TEXT NOT NULL,
    code TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX audit_events_by_time ON audit_events (time, id);
CREATE INDEX audit_events_by_actor ON audit_events (actor, time, id);
CREATE INDEX audit_events_by_target ON audit_events (target, time, id);
