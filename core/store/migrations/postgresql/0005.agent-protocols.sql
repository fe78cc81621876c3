-- depends: 0004.config-governance
-- Agents of every generation: the protocol an agent speaks, its host name (v2), and what it reported of
-- applying each config (v2); what a config configures (a pipeline, or a LoongCollector instance).
ALTER TABLE agents ADD COLUMN protocol TEXT NOT NULL DEFAULT 'alpha';
ALTER TABLE agents ADD COLUMN hostname TEXT NOT NULL DEFAULT '';
ALTER TABLE agents ADD COLUMN config_statuses TEXT NOT NULL DEFAULT '[]';  -- JSON list of [name, status]
ALTER TABLE configs ADD COLUMN kind TEXT NOT NULL DEFAULT 'PIPELINE';
ALTER TABLE config_revisions ADD COLUMN kind TEXT NOT NULL DEFAULT 'PIPELINE';
