-- depends: 0002.change-feed
-- Revisions for the change feed: each write transaction takes the next value (its row stays locked until
-- commit) and writes it as the id of its `changes` row, so ids follow commit order without gaps, and a
-- server that applied every entry up to the current value has seen every acknowledged write.
CREATE TABLE store_revision (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);

INSERT INTO store_revision (id, value) SELECT 1, coalesce(max(id), 0) FROM changes;
