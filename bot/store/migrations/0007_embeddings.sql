-- One embedding vector per post, for the post's current text: an edit deletes the vector
-- (trigger below) and the next embedding run computes the new one. Vectors are float16,
-- little-endian, L2-normalised; `model` names what made them, so changing the model
-- re-embeds instead of comparing vectors of two different spaces.
CREATE TABLE post_embeddings (
    post_id     INTEGER PRIMARY KEY REFERENCES posts(id) ON DELETE CASCADE,
    model       TEXT NOT NULL,
    dim         INTEGER NOT NULL,
    vector      BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TRIGGER posts_embedding_stale AFTER UPDATE OF text ON posts
WHEN old.text <> new.text BEGIN
    DELETE FROM post_embeddings WHERE post_id = old.id;
END;
