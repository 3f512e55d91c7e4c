-- What the bot promised and delivered: daily subscriptions, digests sent and the posts
-- they cited (so a chat's next digest can leave out what it has seen and correct what
-- changed).

CREATE TABLE subscriptions (
    id              INTEGER PRIMARY KEY,
    chat_id         INTEGER NOT NULL,
    topic           TEXT NOT NULL,
    time_of_day     TEXT NOT NULL,           -- HH:MM in the bot's TIMEZONE
    origin          TEXT NOT NULL DEFAULT 'chat',  -- chat (/subscribe) or config
    created_by      INTEGER,
    created_at      INTEGER NOT NULL,
    last_sent_at    INTEGER,                 -- when its last digest went out
    UNIQUE (chat_id, topic)
);

CREATE TABLE digests_sent (
    id              INTEGER PRIMARY KEY,
    chat_id         INTEGER NOT NULL,
    topic           TEXT NOT NULL,
    kind            TEXT NOT NULL,           -- command or daily
    since           INTEGER NOT NULL,
    until           INTEGER NOT NULL,
    summarizer      TEXT NOT NULL,
    items           INTEGER NOT NULL,
    sent_at         INTEGER NOT NULL
);

CREATE INDEX digests_sent_by_chat ON digests_sent (chat_id, sent_at);

-- One row per post a chat received as a citation, with the text it saw.
CREATE TABLE cited_posts (
    chat_id         INTEGER NOT NULL,
    post_id         INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    digest_id       INTEGER NOT NULL REFERENCES digests_sent(id) ON DELETE CASCADE,
    seen_text       TEXT NOT NULL,
    seen_deleted    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (chat_id, post_id)
);
