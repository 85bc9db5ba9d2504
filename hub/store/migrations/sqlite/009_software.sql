-- Installed software per device, one row a package, rewritten from each
-- inventory by difference. name_key is the lower-cased name. The table is
-- clustered by it (WITHOUT ROWID, name first), so the fleet search ("which
-- devices have X") reads one contiguous range instead of a row lookup per
-- device; a device's own list goes through device_software_device.
CREATE TABLE device_software (
	name_key  TEXT NOT NULL,
	device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	source    TEXT NOT NULL DEFAULT '',
	name      TEXT NOT NULL,
	version   TEXT NOT NULL DEFAULT '',
	publisher TEXT NOT NULL DEFAULT '',
	installed BIGINT,
	PRIMARY KEY (name_key, device_id, source, name, version)
) WITHOUT ROWID;
CREATE INDEX device_software_device ON device_software (device_id);

-- Software changes (installed, removed, upgraded, downgraded) the hub saw
-- between two inventories of a device: its software history.
CREATE TABLE software_changes (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	device_id    TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	time         BIGINT NOT NULL,
	change       TEXT NOT NULL,
	source       TEXT NOT NULL DEFAULT '',
	name         TEXT NOT NULL,
	from_version TEXT NOT NULL DEFAULT '',
	to_version   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX software_changes_device_time ON software_changes (device_id, time);

-- The OS update status a device last reported (reporting only).
CREATE TABLE device_os_updates (
	device_id       TEXT PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
	manager         TEXT NOT NULL DEFAULT '',
	pending         INTEGER NOT NULL DEFAULT 0,
	security        INTEGER NOT NULL DEFAULT 0,
	oldest_pending  BIGINT,
	oldest_security BIGINT,
	last_success    BIGINT,
	last_check      BIGINT,
	automatic       TEXT NOT NULL DEFAULT '',
	reported_at     BIGINT NOT NULL
);
CREATE INDEX device_os_updates_security ON device_os_updates (security, oldest_security);
