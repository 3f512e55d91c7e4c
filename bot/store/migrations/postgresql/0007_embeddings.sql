-- PostgreSQL: one embedding vector per post, float16 bytes (the same blobs as SQLite's);
-- an edit deletes the vector and the next embedding run computes the new one.
CREATE TABLE post_embeddings (
    post_id     BIGINT PRIMARY KEY REFERENCES posts(id) ON DELETE CASCADE,
    model       TEXT NOT NULL,
    dim         INTEGER NOT NULL,
    vector      BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE FUNCTION posts_embedding_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM post_embeddings WHERE post_id = OLD.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER posts_embedding_stale AFTER UPDATE OF text ON posts
FOR EACH ROW WHEN (OLD.text <> NEW.text) EXECUTE FUNCTION posts_embedding_stale();
