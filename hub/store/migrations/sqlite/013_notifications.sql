-- Notifications to technicians (hub/notify): each user's choices, the
-- notifications themselves (the console's bell lists them), and an outbox
-- of their email and webhook deliveries drained with retries.

-- One row per user who saved choices; users without one get the defaults.
-- prefs is the JSON document (notify.Prefs) without the webhook secret,
-- which is kept apart, write-only.
CREATE TABLE notify_prefs (
	user_id        TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	prefs          TEXT NOT NULL,
	webhook_secret TEXT NOT NULL DEFAULT '',
	updated_at     BIGINT NOT NULL
);

-- One row per notification to one user. dedupe_key names what it is about
-- (a ticket event, a device's offline spell), so the same thing is never
-- notified to a user twice.
CREATE TABLE notifications (
	id         TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	dedupe_key TEXT NOT NULL,
	event      TEXT NOT NULL,
	ticket_id  TEXT NOT NULL DEFAULT '',
	device_id  TEXT NOT NULL DEFAULT '',
	title      TEXT NOT NULL,
	body       TEXT NOT NULL DEFAULT '',
	link       TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	read_at    BIGINT,
	UNIQUE (user_id, dedupe_key)
);
CREATE INDEX notifications_user ON notifications (user_id, created_at);

-- One row per notification and channel (email, webhook), written with the
-- notification; pending until sent. next_attempt_at of a notification in
-- its user's quiet hours is when they end.
CREATE TABLE notify_outbox (
	id              TEXT PRIMARY KEY,
	notification_id TEXT NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
	user_id         TEXT NOT NULL,
	channel         TEXT NOT NULL,
	state           TEXT NOT NULL DEFAULT 'pending',
	attempts        INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT NOT NULL DEFAULT '',
	created_at      BIGINT NOT NULL,
	next_attempt_at BIGINT,
	done_at         BIGINT
);
CREATE INDEX notify_outbox_due ON notify_outbox (state, next_attempt_at);
CREATE INDEX notify_outbox_user ON notify_outbox (user_id, channel, done_at);
