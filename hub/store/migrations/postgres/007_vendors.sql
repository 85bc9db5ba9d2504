-- Tier 4 vendors, their deliveries (an outbox the SLA loop drains with
-- retries), the vendor and response clocks of tickets, and the message ids
-- that make a replayed user reply a no-op.
CREATE TABLE vendors (
	id               TEXT PRIMARY KEY,
	name             TEXT NOT NULL UNIQUE,
	email            TEXT NOT NULL DEFAULT '',
	webhook_url      TEXT NOT NULL DEFAULT '',
	webhook_secret   TEXT NOT NULL DEFAULT '',
	contract_ref     TEXT NOT NULL DEFAULT '',
	response_target_ns BIGINT NOT NULL DEFAULT 0,
	created_at       BIGINT NOT NULL,
	updated_at       BIGINT NOT NULL,
	disabled_at      BIGINT
);

-- One row per message and channel (webhook or email). A row is written in
-- the same transaction as the ticket event that asks for it, so nothing
-- asked for is lost; it stays pending until delivered or given up.
CREATE TABLE vendor_deliveries (
	id              TEXT PRIMARY KEY,
	ticket_id       TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
	vendor_id       TEXT NOT NULL,
	event_id        BIGINT NOT NULL,
	kind            TEXT NOT NULL,
	channel         TEXT NOT NULL,
	note            TEXT NOT NULL DEFAULT '',
	state           TEXT NOT NULL DEFAULT 'pending',
	attempts        INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT NOT NULL DEFAULT '',
	created_at      BIGINT NOT NULL,
	next_attempt_at BIGINT,
	done_at         BIGINT
);
CREATE INDEX vendor_deliveries_due ON vendor_deliveries (next_attempt_at);
CREATE INDEX vendor_deliveries_ticket ON vendor_deliveries (ticket_id, created_at);

ALTER TABLE tickets ADD COLUMN vendor_target_ns BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN tier_responded_at BIGINT;
ALTER TABLE tickets ADD COLUMN response_breached BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tickets ADD COLUMN response_breaches INTEGER NOT NULL DEFAULT 0;

CREATE TABLE ticket_message_ids (
	ticket_id TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
	msg_id    TEXT NOT NULL,
	PRIMARY KEY (ticket_id, msg_id)
);
