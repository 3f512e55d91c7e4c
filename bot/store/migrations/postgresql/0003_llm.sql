-- PostgreSQL: LLM answers cached by the exact request, and tokens spent per UTC day.

CREATE TABLE llm_cache (
    key         TEXT PRIMARY KEY,
    model       TEXT NOT NULL,
    answer      TEXT NOT NULL,
    tokens_in   BIGINT NOT NULL,
    tokens_out  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE INDEX llm_cache_by_age ON llm_cache (created_at);

CREATE TABLE llm_usage (
    day         TEXT PRIMARY KEY,
    tokens_in   BIGINT NOT NULL DEFAULT 0,
    tokens_out  BIGINT NOT NULL DEFAULT 0,
    calls       BIGINT NOT NULL DEFAULT 0
);
