-- Sources: the channels wirebrief keeps current, with their poll cursor and health.

CREATE TABLE sources (
    id                   INTEGER PRIMARY KEY,
    username             TEXT UNIQUE COLLATE NOCASE,  -- web preview sources
    channel_id           INTEGER REFERENCES channels(id) ON DELETE SET NULL,
    kind                 TEXT NOT NULL DEFAULT 'web' CHECK (kind IN ('web', 'updates')),
    origin               TEXT NOT NULL DEFAULT 'config',  -- config, admin:<user id>, channel_post
    enabled              INTEGER NOT NULL DEFAULT 1,
    status               TEXT NOT NULL DEFAULT 'new',  -- new, ok, error, no_preview, not_found
    status_reason        TEXT,
    cursor               INTEGER,      -- newest message id stored from this source
    posts_stored         INTEGER NOT NULL DEFAULT 0,
    last_poll_at         INTEGER,
    last_success_at      INTEGER,
    last_error_at        INTEGER,
    last_error           TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    next_poll_at         INTEGER,
    added_at             INTEGER NOT NULL,
    CHECK (username IS NOT NULL OR channel_id IS NOT NULL)
);

CREATE UNIQUE INDEX sources_by_channel ON sources (channel_id) WHERE channel_id IS NOT NULL;
