-- PostgreSQL: the Telegraph account briefs are published with (one row; its token is a
-- secret kept here and nowhere else).

CREATE TABLE telegraph_account (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    short_name      TEXT NOT NULL,
    author_name     TEXT NOT NULL,
    access_token    TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
