-- Signed agent releases, rollouts per device group, and update outcomes.
CREATE TABLE update_releases (
	version    TEXT NOT NULL,
	os         TEXT NOT NULL,
	arch       TEXT NOT NULL,
	sha256     TEXT NOT NULL,
	size       BIGINT NOT NULL,
	manifest   BYTEA NOT NULL,
	signature  TEXT NOT NULL,
	content    BYTEA NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (version, os, arch)
);
CREATE INDEX update_releases_sha256 ON update_releases (sha256);

CREATE TABLE update_rollouts (
	grp        TEXT PRIMARY KEY,
	version    TEXT NOT NULL,
	percent    INTEGER NOT NULL,
	updated_at BIGINT NOT NULL,
	updated_by TEXT NOT NULL DEFAULT ''
);

CREATE TABLE update_reports (
	device_id    TEXT PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
	from_version TEXT NOT NULL,
	to_version   TEXT NOT NULL,
	outcome      TEXT NOT NULL,
	error        TEXT NOT NULL DEFAULT '',
	at           BIGINT NOT NULL
);
