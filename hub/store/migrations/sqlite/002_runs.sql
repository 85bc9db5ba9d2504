-- Fix runs: one row per run of a catalog fix on one device. A run waits in
-- its device's queue (state queued), is sent when the device is connected
-- (sent), and is done when the agent's result is stored (done); queued runs
-- past their expiry become expired, and a queued run can be cancelled.
ALTER TABLE devices ADD COLUMN fixes TEXT NOT NULL DEFAULT '';

CREATE TABLE runs (
	id               TEXT PRIMARY KEY,
	device_id        TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	fix              TEXT NOT NULL,
	params           TEXT NOT NULL DEFAULT '{}',
	ticket           TEXT NOT NULL DEFAULT '',
	batch_id         TEXT NOT NULL DEFAULT '',
	requested_by     TEXT NOT NULL,
	requester_role   TEXT NOT NULL,
	tier             INTEGER NOT NULL,
	consent_obtained BOOLEAN NOT NULL DEFAULT FALSE,
	state            TEXT NOT NULL,
	outcome          TEXT NOT NULL DEFAULT '',
	code             TEXT NOT NULL DEFAULT '',
	reason           TEXT NOT NULL DEFAULT '',
	result           TEXT,
	bundle           BLOB,
	bundle_name      TEXT NOT NULL DEFAULT '',
	created_at       BIGINT NOT NULL,
	expires_at       BIGINT NOT NULL,
	sent_at          BIGINT,
	finished_at      BIGINT
);
CREATE INDEX runs_device_state ON runs (device_id, state, created_at);
CREATE INDEX runs_state_expires ON runs (state, expires_at);
CREATE INDEX runs_batch ON runs (batch_id);
CREATE INDEX runs_ticket ON runs (ticket);

CREATE TABLE run_batches (
	id           TEXT PRIMARY KEY,
	fix          TEXT NOT NULL,
	params       TEXT NOT NULL DEFAULT '{}',
	target       TEXT NOT NULL,
	requested_by TEXT NOT NULL,
	created_at   BIGINT NOT NULL,
	total        INTEGER NOT NULL
);
