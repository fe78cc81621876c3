-- depends: 0001.initial-schema
-- The change feed: one row per write that other server processes on this file must see. Write
-- transactions are serialized (BEGIN IMMEDIATE), so ids follow commit order and a reader that remembers
-- the last id it applied misses nothing. Rows are pruned after an hour.
CREATE TABLE changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    origin TEXT NOT NULL,  -- the server process that wrote it
    kind TEXT NOT NULL,  -- group, config, binding or agent
    name TEXT NOT NULL,  -- the group, config or agent it concerns
    created_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now'))
);
