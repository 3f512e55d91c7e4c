-- The rest of a long digest, behind its "More" button: the button carries only the id, so
-- a button from before a restart still works (until the row is pruned, after a week).

CREATE TABLE digest_pages (
    id              INTEGER PRIMARY KEY,
    chat_id         INTEGER NOT NULL,
    topic           TEXT NOT NULL,           -- a topic name, "digest" (all sources) or "query"
    query           TEXT,                    -- the words of a "query" digest
    since           INTEGER NOT NULL,        -- the window of the digest it continues
    until           INTEGER NOT NULL,
    shown           INTEGER NOT NULL,        -- stories shown before this page
    page_size       INTEGER NOT NULL,
    exclude_seen    INTEGER NOT NULL DEFAULT 0,  -- a daily digest: leave out what the chat has
    created_at      INTEGER NOT NULL,
    used_at         INTEGER                  -- when its button was pressed
);

CREATE INDEX digest_pages_by_age ON digest_pages (created_at);
