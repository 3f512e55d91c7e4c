-- The Telegraph account briefs are published with (createAccount once, then its token for
-- every page). One row; a token Telegraph no longer accepts is replaced by a new account's.
-- The token is a secret: it is kept here and nowhere else (never in a log line).

CREATE TABLE telegraph_account (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    short_name      TEXT NOT NULL,
    author_name     TEXT NOT NULL,
    access_token    TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);
