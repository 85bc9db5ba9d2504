-- Technician identity. A second factor for console logins: a TOTP secret per user (confirmed
-- once the user has typed a code from it), the last time step accepted so
-- a code is never taken twice, and one-time recovery codes stored as
-- SHA-256 of random 80-bit codes.
CREATE TABLE user_totp (
	user_id      TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	secret       TEXT NOT NULL,
	confirmed_at BIGINT,
	last_step    BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE user_recovery_codes (
	user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	code_hash BYTEA NOT NULL,
	used_at   BIGINT,
	PRIMARY KEY (user_id, code_hash)
);

-- A login between the password and the second factor: its id lives only in
-- a short-lived cookie, the store keeps its SHA-256. purpose is "code" (the
-- user has a second factor to type) or "enroll" (their role requires one and
-- they have none yet).
CREATE TABLE login_challenges (
	id_hash    BYTEA PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	purpose    TEXT NOT NULL,
	next       TEXT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX login_challenges_expires ON login_challenges (expires_at);

-- Single sign-on: the provider's (issuer, subject) of a user, fixed at
-- their first login; a user made for sign-on has no password.
CREATE TABLE user_identities (
	issuer  TEXT NOT NULL,
	subject TEXT NOT NULL,
	user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	PRIMARY KEY (issuer, subject)
);
CREATE INDEX user_identities_user ON user_identities (user_id);

-- A sign-on login between leaving for the provider and its callback: the
-- SHA-256 of its state, its nonce and PKCE verifier; taken once.
CREATE TABLE sso_logins (
	state_hash BYTEA PRIMARY KEY,
	nonce      TEXT NOT NULL,
	verifier   TEXT NOT NULL,
	next       TEXT NOT NULL,
	expires_at BIGINT NOT NULL
);

-- API tokens: read-only ones may only read (GET); the address a token was
-- last used from, so a use from a new one is audited.
ALTER TABLE api_tokens ADD COLUMN read_only BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE api_tokens ADD COLUMN last_address TEXT NOT NULL DEFAULT '';
