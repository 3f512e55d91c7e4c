-- Leases: several workers (`wirebrief run --role poller`) share the sources, each source
-- polled by one of them at a time; one worker holds the scheduler's lease and sends the
-- daily digests. A lease expires, so a worker that dies leaves its work to the others.
ALTER TABLE sources ADD COLUMN leased_by TEXT;
ALTER TABLE sources ADD COLUMN lease_until INTEGER;

CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
);
