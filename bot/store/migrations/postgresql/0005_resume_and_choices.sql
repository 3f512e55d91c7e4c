-- PostgreSQL: a poll's resume point, and a chat's choices that outlive restarts.
ALTER TABLE sources ADD COLUMN resume_before BIGINT;
ALTER TABLE sources ADD COLUMN pending_cursor BIGINT;

ALTER TABLE subscriptions ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
