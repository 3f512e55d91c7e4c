-- LLM digests: answers cached by the exact request, and tokens spent per UTC day.

-- key: sha256 of model, language, prompt templates, topic, window and the sources sent
-- (post ids and text), so a repeated digest of the same posts costs no call.
CREATE TABLE llm_cache (
    key         TEXT PRIMARY KEY,
    model       TEXT NOT NULL,
    answer      TEXT NOT NULL,       -- the model's raw answer, verified again on every use
    tokens_in   INTEGER NOT NULL,
    tokens_out  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE INDEX llm_cache_by_age ON llm_cache (created_at);

-- For /status ("tokens spent today") and the daily token budget.
CREATE TABLE llm_usage (
    day         TEXT PRIMARY KEY,    -- UTC date, YYYY-MM-DD
    tokens_in   INTEGER NOT NULL DEFAULT 0,
    tokens_out  INTEGER NOT NULL DEFAULT 0,
    calls       INTEGER NOT NULL DEFAULT 0
);
