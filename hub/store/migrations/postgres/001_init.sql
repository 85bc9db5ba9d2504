CREATE TABLE enroll_tokens (
	id          TEXT PRIMARY KEY,
	secret_hash BYTEA NOT NULL UNIQUE,
	note        TEXT NOT NULL DEFAULT '',
	created_by  TEXT NOT NULL DEFAULT '',
	created_at  BIGINT NOT NULL,
	expires_at  BIGINT,
	max_uses    INTEGER NOT NULL,
	uses        INTEGER NOT NULL DEFAULT 0,
	revoked_at  BIGINT
);

CREATE TABLE devices (
	id            TEXT PRIMARY KEY,
	public_key    BYTEA NOT NULL,
	hostname      TEXT NOT NULL DEFAULT '',
	os            TEXT NOT NULL DEFAULT '',
	arch          TEXT NOT NULL DEFAULT '',
	platform      TEXT NOT NULL DEFAULT '',
	agent_version TEXT NOT NULL DEFAULT '',
	grp           TEXT NOT NULL DEFAULT '',
	token_id      TEXT NOT NULL DEFAULT '',
	enrolled_at   BIGINT NOT NULL,
	online        BOOLEAN NOT NULL DEFAULT FALSE,
	last_seen     BIGINT,
	revoked_at    BIGINT,
	last_seq      BIGINT NOT NULL DEFAULT 0,
	spool_dropped BIGINT NOT NULL DEFAULT 0,
	summary       TEXT,
	latest_at     BIGINT,
	latest        TEXT,
	inventory     TEXT
);
CREATE INDEX devices_revoked_at ON devices (revoked_at);
CREATE INDEX devices_hostname ON devices (hostname);

CREATE TABLE telemetry (
	device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	seq       BIGINT NOT NULL,
	ts        BIGINT NOT NULL,
	cpu_pct   DOUBLE PRECISION NOT NULL,
	mem_pct   DOUBLE PRECISION NOT NULL,
	disk_pct  DOUBLE PRECISION NOT NULL,
	load1     DOUBLE PRECISION NOT NULL,
	rx_bps    DOUBLE PRECISION NOT NULL,
	tx_bps    DOUBLE PRECISION NOT NULL,
	sample    TEXT NOT NULL,
	PRIMARY KEY (device_id, seq)
);
CREATE INDEX telemetry_device_ts ON telemetry (device_id, ts);
CREATE INDEX telemetry_ts ON telemetry (ts);

CREATE TABLE telemetry_rollup (
	device_id    TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	bucket       BIGINT NOT NULL,
	width        BIGINT NOT NULL,
	count        BIGINT NOT NULL,
	cpu_pct      DOUBLE PRECISION NOT NULL,
	mem_pct      DOUBLE PRECISION NOT NULL,
	disk_pct     DOUBLE PRECISION NOT NULL,
	load1        DOUBLE PRECISION NOT NULL,
	rx_bps       DOUBLE PRECISION NOT NULL,
	tx_bps       DOUBLE PRECISION NOT NULL,
	max_cpu_pct  DOUBLE PRECISION NOT NULL,
	max_mem_pct  DOUBLE PRECISION NOT NULL,
	max_disk_pct DOUBLE PRECISION NOT NULL,
	max_load1    DOUBLE PRECISION NOT NULL,
	max_rx_bps   DOUBLE PRECISION NOT NULL,
	max_tx_bps   DOUBLE PRECISION NOT NULL,
	PRIMARY KEY (device_id, bucket)
);
CREATE INDEX telemetry_rollup_bucket ON telemetry_rollup (bucket);

CREATE TABLE check_state (
	device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	name      TEXT NOT NULL,
	status    TEXT NOT NULL,
	summary   TEXT NOT NULL DEFAULT '',
	evidence  TEXT,
	fix       TEXT NOT NULL DEFAULT '',
	micros    BIGINT NOT NULL DEFAULT 0,
	time      BIGINT NOT NULL,
	PRIMARY KEY (device_id, name)
);

CREATE TABLE check_transitions (
	id          BIGSERIAL PRIMARY KEY,
	device_id   TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	name        TEXT NOT NULL,
	from_status TEXT NOT NULL DEFAULT '',
	to_status   TEXT NOT NULL,
	time        BIGINT NOT NULL,
	summary     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX check_transitions_device_time ON check_transitions (device_id, time);

CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL UNIQUE,
	role          TEXT NOT NULL,
	password_hash TEXT NOT NULL DEFAULT '',
	created_at    BIGINT NOT NULL,
	disabled_at   BIGINT
);

CREATE TABLE api_tokens (
	id         TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	hash       BYTEA NOT NULL UNIQUE,
	note       TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	expires_at BIGINT,
	last_used  BIGINT,
	revoked_at BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE audit (
	id      BIGSERIAL PRIMARY KEY,
	time    BIGINT NOT NULL,
	actor   TEXT NOT NULL DEFAULT '',
	action  TEXT NOT NULL,
	target  TEXT NOT NULL DEFAULT '',
	detail  TEXT,
	remote  TEXT NOT NULL DEFAULT '',
	outcome TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_time ON audit (time);

CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
