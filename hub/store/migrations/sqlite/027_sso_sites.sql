-- The provider groups that give sites, as an admin set them on the admin
-- page (group -> site, several joined by "|", "*" every site), as JSON;
-- the hub's --oidc-sites flag, when given, stands over it.
ALTER TABLE sso_settings ADD COLUMN sites TEXT NOT NULL DEFAULT '{}';
