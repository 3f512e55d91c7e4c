-- Channels and posts, edits kept, full-text search kept in sync by triggers.
-- Times are unix seconds, UTC.

CREATE TABLE channels (
    id          INTEGER PRIMARY KEY,
    peer_id     INTEGER UNIQUE,                 -- bare channel id, as in t.me/c/<peer_id>/<id>
    username    TEXT UNIQUE COLLATE NOCASE,     -- without @
    title       TEXT,
    created_at  INTEGER NOT NULL,
    CHECK (peer_id IS NOT NULL OR username IS NOT NULL)
);

CREATE TABLE posts (
    id              INTEGER PRIMARY KEY,
    channel_id      INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    message_id      INTEGER NOT NULL,
    date            INTEGER NOT NULL,
    text            TEXT NOT NULL,
    views           INTEGER,
    edit_date       INTEGER,
    forwarded_from  TEXT,
    media_kind      TEXT,
    author          TEXT,
    reply_to        INTEGER,
    edited          INTEGER NOT NULL DEFAULT 0,  -- text changed after it was first stored
    deleted_at      INTEGER,                     -- when the post was found deleted
    first_seen_at   INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (channel_id, message_id)
);

CREATE INDEX posts_by_date ON posts (date);

-- Every earlier text of an edited post, so a digest can say what changed.
CREATE TABLE post_edits (
    id          INTEGER PRIMARY KEY,
    post_id     INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    old_text    TEXT NOT NULL,
    seen_at     INTEGER NOT NULL,
    edit_date   INTEGER
);

CREATE INDEX post_edits_by_post ON post_edits (post_id);

-- External-content FTS5 index over posts.text. Case and Latin diacritics are folded by
-- unicode61; Russian ё is folded to е here, and the query builder does the same.
CREATE VIRTUAL TABLE posts_fts USING fts5 (
    text,
    content = 'posts',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN
    INSERT INTO posts_fts (rowid, text)
    VALUES (new.id, replace(replace(new.text, 'ё', 'е'), 'Ё', 'Е'));
END;

CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, text)
    VALUES ('delete', old.id, replace(replace(old.text, 'ё', 'е'), 'Ё', 'Е'));
END;

CREATE TRIGGER posts_fts_update AFTER UPDATE OF text ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, text)
    VALUES ('delete', old.id, replace(replace(old.text, 'ё', 'е'), 'Ё', 'Е'));
    INSERT INTO posts_fts (rowid, text)
    VALUES (new.id, replace(replace(new.text, 'ё', 'е'), 'Ё', 'Е'));
END;

-- Keep the old text whenever the text really changes.
CREATE TRIGGER posts_keep_old_text BEFORE UPDATE OF text ON posts
WHEN old.text <> new.text BEGIN
    INSERT INTO post_edits (post_id, old_text, seen_at, edit_date)
    VALUES (old.id, old.text, new.updated_at, new.edit_date);
END;
