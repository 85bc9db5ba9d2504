-- Sites. A device belongs to one site (its enrollment token's), a ticket to
-- its device's site (or the one it was filed for when it has no device);
-- a user's sites are a comma-separated list, empty for every site; an API
-- token's sites narrow its user's (empty: the user's). A fresh hub has the
-- one site "default", so nothing changes until an admin names another.
ALTER TABLE devices ADD COLUMN site TEXT NOT NULL DEFAULT 'default';
ALTER TABLE enroll_tokens ADD COLUMN site TEXT NOT NULL DEFAULT 'default';
ALTER TABLE tickets ADD COLUMN site TEXT NOT NULL DEFAULT 'default';
ALTER TABLE users ADD COLUMN sites TEXT NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN sites TEXT NOT NULL DEFAULT '';
CREATE INDEX devices_site ON devices (site);
CREATE INDEX tickets_site ON tickets (site);

-- Vendors, articles and problems are shared (site NULL) or kept to one
-- site, as an admin decides.
ALTER TABLE vendors ADD COLUMN site TEXT;
ALTER TABLE articles ADD COLUMN site TEXT;
ALTER TABLE problems ADD COLUMN site TEXT;
