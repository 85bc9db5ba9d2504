-- The latest progress step of a running fix run, as its agent reported it
-- (run_progress): percent (-1 when not known), one line of text, and when
-- the hub received it. NULL until the first step; the result supersedes it.
ALTER TABLE runs ADD COLUMN progress_percent INTEGER;
ALTER TABLE runs ADD COLUMN progress_text TEXT;
ALTER TABLE runs ADD COLUMN progress_at BIGINT;
