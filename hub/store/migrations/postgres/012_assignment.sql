-- Automatic assignment: a technician says whether new tickets of their
-- tier may be given to them, and when one last was (round robin gives the
-- next ticket to whoever waited longest).
ALTER TABLE users ADD COLUMN available BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN last_assigned_at BIGINT;
