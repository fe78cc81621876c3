-- depends: 0001.initial-schema
-- The change feed: one row per write that other servers must see, numbered by the store revision. Each
-- write transaction takes the next revision (its row stays locked until commit) and writes it as the id
-- of its row, so ids follow commit order without gaps, and a server that applied every entry up to the
-- current revision has seen every acknowledged write. NOTIFY only wakes the servers; the rows are the
-- feed. Rows are pruned after an hour.
CREATE TABLE changes (
    id BIGINT PRIMARY KEY,
    origin TEXT NOT NULL,  -- the server process that wrote it
    kind TEXT NOT NULL,  -- group, config, binding or agent
    name TEXT NOT NULL,  -- the group, config or agent it concerns
    created_at BIGINT NOT NULL DEFAULT (extract(epoch FROM now())::bigint)
);

CREATE TABLE store_revision (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);

INSERT INTO store_revision (id, value) VALUES (1, 0);
