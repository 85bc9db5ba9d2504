-- Device policies per device group, every version kept (each save is a new
-- version), and the policy each device reports applying.
CREATE TABLE policies (
	grp        TEXT NOT NULL,
	version    BIGINT NOT NULL,
	doc        TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	created_by TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (grp, version)
);

CREATE TABLE device_policies (
	device_id   TEXT PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
	grp         TEXT NOT NULL DEFAULT '',
	version     BIGINT NOT NULL DEFAULT 0,
	error       TEXT NOT NULL DEFAULT '',
	narrowed    TEXT NOT NULL DEFAULT '[]',
	checks      TEXT NOT NULL DEFAULT '',
	reported_at BIGINT NOT NULL
);
