-- Console sessions and login lockout. Only the SHA-256 of a session id is
-- stored, so a copy of the database does not hand out live sessions.
CREATE TABLE sessions (
	id_hash    BLOB PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	csrf       TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	last_seen  BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Failed logins per name (known or not, so answers do not reveal which
-- names exist); cleared by a successful login.
CREATE TABLE login_failures (
	name      TEXT PRIMARY KEY,
	failures  INTEGER NOT NULL,
	last_at   BIGINT NOT NULL
);

-- The console queue: open tickets of a tier ordered by when their SLA
-- clock runs out (clock start minus time already used; paused clocks last).
CREATE INDEX tickets_console_queue ON tickets (tier,
	(CASE WHEN clock_running AND clock_since IS NOT NULL THEN clock_since - clock_used_ns ELSE 9223372036854775807 END), number)
	WHERE state NOT IN ('resolved', 'closed');
-- Device groups, for the queue's group filter and its list of groups.
CREATE INDEX devices_grp ON devices (grp);
