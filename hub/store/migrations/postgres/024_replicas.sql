-- Hub replicas sharing this database (PostgreSQL scale-out): each replica
-- registers itself and renews a lease; a device's connection names the
-- replica holding it, so a starting replica resets only its own devices
-- and the devices of a replica whose lease lapsed are marked offline by
-- another. A hub on the embedded store leaves these empty but for its own
-- row.
CREATE TABLE hub_replicas (
	id          TEXT PRIMARY KEY,
	address     TEXT NOT NULL,
	started_at  BIGINT NOT NULL,
	lease_until BIGINT NOT NULL
);
ALTER TABLE devices ADD COLUMN replica TEXT NOT NULL DEFAULT '';
CREATE INDEX devices_replica ON devices (replica) WHERE online;
