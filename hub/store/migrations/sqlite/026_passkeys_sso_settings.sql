-- Passkeys (WebAuthn credentials) as a second factor for password logins:
-- the credential as go-webauthn keeps it (public key, sign count, flags),
-- as JSON, under the name its owner gave it.
CREATE TABLE user_passkeys (
	credential_id BLOB PRIMARY KEY,
	user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name          TEXT NOT NULL,
	credential    TEXT NOT NULL,
	created_at    BIGINT NOT NULL,
	last_used_at  BIGINT
);
CREATE INDEX user_passkeys_user ON user_passkeys (user_id);

-- A passkey ceremony between its options and the browser's answer: the
-- challenge and what it allows, as JSON; one per user and purpose
-- ("register" from the account page, "login" at the second-factor step).
CREATE TABLE webauthn_sessions (
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	purpose    TEXT NOT NULL,
	data       TEXT NOT NULL,
	expires_at BIGINT NOT NULL,
	PRIMARY KEY (user_id, purpose)
);

-- Single sign-on as an admin set it on the admin page (the hub's --oidc-*
-- flags, when given, stand over it). One row; version counts changes so
-- every replica notices one.
CREATE TABLE sso_settings (
	id             INTEGER PRIMARY KEY CHECK (id = 1),
	issuer         TEXT NOT NULL,
	client_id      TEXT NOT NULL,
	client_secret  TEXT NOT NULL,
	roles          TEXT NOT NULL,
	groups_claim   TEXT NOT NULL,
	create_users   BOOLEAN NOT NULL,
	password_login BOOLEAN NOT NULL,
	break_glass    TEXT NOT NULL,
	version        BIGINT NOT NULL,
	updated_at     BIGINT NOT NULL,
	updated_by     TEXT NOT NULL
);
