-- Tickets. ticket_events is the source of truth: every change is an event,
-- and the columns of tickets are a projection of its events (state, tier,
-- SLA clock), kept in the same transaction and recomputable from them.
CREATE TABLE tickets (
	id                TEXT PRIMARY KEY,
	number            BIGINT NOT NULL UNIQUE,
	device_id         TEXT NOT NULL DEFAULT '',
	request_id        TEXT NOT NULL DEFAULT '',
	requester         TEXT NOT NULL DEFAULT '',
	title             TEXT NOT NULL,
	body              TEXT NOT NULL DEFAULT '',
	category          TEXT NOT NULL DEFAULT '',
	queue             TEXT NOT NULL DEFAULT '',
	signature         TEXT NOT NULL DEFAULT '',
	snapshot          TEXT,
	tried             TEXT,
	screenshot        BLOB,
	created_at        BIGINT NOT NULL,
	updated_at        BIGINT NOT NULL,
	-- projection of ticket_events
	state             TEXT NOT NULL,
	waiting_reason    TEXT NOT NULL DEFAULT '',
	tier              INTEGER NOT NULL,
	impact            INTEGER NOT NULL,
	urgency           INTEGER NOT NULL,
	priority          INTEGER NOT NULL,
	assignee          TEXT NOT NULL DEFAULT '',
	collaborators     TEXT NOT NULL DEFAULT '[]',
	problem_id        TEXT NOT NULL DEFAULT '',
	vendor_id         TEXT NOT NULL DEFAULT '',
	vendor_ref        TEXT NOT NULL DEFAULT '',
	vendor_due        BIGINT,
	resolution        TEXT NOT NULL DEFAULT '',
	csat              INTEGER,
	first_response_at BIGINT,
	resolved_at       BIGINT,
	closed_at         BIGINT,
	tier_entered_at   BIGINT NOT NULL,
	clock_used_ns     BIGINT NOT NULL DEFAULT 0,
	clock_since       BIGINT,
	clock_running     BOOLEAN NOT NULL DEFAULT TRUE,
	warned_pct        INTEGER NOT NULL DEFAULT 0,
	escalations       INTEGER NOT NULL DEFAULT 0,
	breaches          INTEGER NOT NULL DEFAULT 0,
	next_check_at     BIGINT,
	events            INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX tickets_request ON tickets (device_id, request_id) WHERE request_id <> '';
CREATE INDEX tickets_queue ON tickets (tier, state, created_at);
CREATE INDEX tickets_device ON tickets (device_id, created_at);
CREATE INDEX tickets_next_check ON tickets (next_check_at);
CREATE INDEX tickets_signature ON tickets (signature);

CREATE TABLE ticket_events (
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	ticket_id TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
	time      BIGINT NOT NULL,
	actor     TEXT NOT NULL,
	kind      TEXT NOT NULL,
	data      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id, id);
CREATE INDEX ticket_events_time ON ticket_events (time);

CREATE TABLE ticket_collaborators (
	ticket_id TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
	user_name TEXT NOT NULL,
	PRIMARY KEY (ticket_id, user_name)
);

CREATE TABLE ticket_links (
	ticket_id TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
	other_id  TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
	kind      TEXT NOT NULL,
	PRIMARY KEY (ticket_id, other_id, kind)
);

-- Get help sessions, for the self-help deflection rate.
CREATE TABLE help_sessions (
	id        TEXT NOT NULL,
	device_id TEXT NOT NULL,
	started   BIGINT NOT NULL,
	ended     BIGINT NOT NULL,
	category  TEXT NOT NULL DEFAULT '',
	ticket    BOOLEAN NOT NULL,
	failing   TEXT NOT NULL DEFAULT '',
	recovered TEXT NOT NULL DEFAULT '',
	fixes     TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (device_id, id)
);
CREATE INDEX help_sessions_ended ON help_sessions (ended);
