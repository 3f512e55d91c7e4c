-- A poll that stops before reaching the cursor (a backlog longer than one poll reads)
-- remembers where to continue; the cursor moves only when the gap is closed.
ALTER TABLE sources ADD COLUMN resume_before INTEGER;
ALTER TABLE sources ADD COLUMN pending_cursor INTEGER;

-- A chat's choice outlives restarts: a configured daily digest the chat turned off stays
-- off, and a time the chat moved stays moved.
ALTER TABLE subscriptions ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
