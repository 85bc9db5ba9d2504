-- TLS session ticket keys, shared by every hub on this database and kept
-- across restarts, so an agent reconnecting after a restart or to another
-- replica resumes its TLS session instead of a full handshake. Rotated
-- daily; a key is used to resume for two days, then deleted.
CREATE TABLE tls_ticket_keys (
	id         TEXT PRIMARY KEY,
	secret     BYTEA NOT NULL,
	created_at BIGINT NOT NULL
);
