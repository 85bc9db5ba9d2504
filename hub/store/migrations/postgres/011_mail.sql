-- Email intake (hub/mailin) and replies (hub/mailout): files that came
-- with a mail, the mail Message-IDs of each ticket's thread (so a reply
-- that names one in In-Reply-To or References finds its ticket, and a
-- reply out can name them), and an outbox of technicians' replies the
-- mail sender drains with retries.

-- One row per attachment of an incoming mail. A dropped one (too large, or
-- one too many) keeps its name, type and size with the reason, and no data.
-- The id is derived from the mail and the part, so a mail read twice
-- stores its files once.
CREATE TABLE ticket_attachments (
	id           TEXT PRIMARY KEY,
	ticket_id    TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
	mail_id      TEXT NOT NULL,
	position     INTEGER NOT NULL DEFAULT 0,
	name         TEXT NOT NULL,
	content_type TEXT NOT NULL,
	size         BIGINT NOT NULL,
	data         BYTEA,
	dropped      TEXT NOT NULL DEFAULT '',
	created_at   BIGINT NOT NULL
);
CREATE INDEX ticket_attachments_ticket ON ticket_attachments (ticket_id, created_at);

CREATE TABLE ticket_mail_ids (
	message_id TEXT PRIMARY KEY,
	ticket_id  TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
	outgoing   BOOLEAN NOT NULL DEFAULT FALSE,
	created_at BIGINT NOT NULL
);
CREATE INDEX ticket_mail_ids_ticket ON ticket_mail_ids (ticket_id, created_at);

-- One row per technician message on an email ticket, written in the same
-- transaction as the message event, so no reply asked for is lost; it stays
-- pending until the mail server takes it.
CREATE TABLE mail_outbox (
	id              TEXT PRIMARY KEY,
	ticket_id       TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
	event_id        BIGINT NOT NULL,
	to_addr         TEXT NOT NULL,
	state           TEXT NOT NULL DEFAULT 'pending',
	attempts        INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT NOT NULL DEFAULT '',
	created_at      BIGINT NOT NULL,
	next_attempt_at BIGINT,
	done_at         BIGINT
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at);
