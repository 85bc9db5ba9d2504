-- Knowledge base. checks and fixes are comma lists without spaces (health
-- check names, catalog fix ids). articles_fts is a full-text index of title
-- and body kept in sync by triggers; it carries the article id rather than
-- relying on articles' implicit rowid, which VACUUM may renumber.
CREATE TABLE articles (
	id            TEXT PRIMARY KEY,
	title         TEXT NOT NULL,
	body          TEXT NOT NULL DEFAULT '',
	state         TEXT NOT NULL,
	checks        TEXT NOT NULL DEFAULT '',
	fixes         TEXT NOT NULL DEFAULT '',
	source_ticket TEXT NOT NULL DEFAULT '',
	created_by    TEXT NOT NULL DEFAULT '',
	created_at    BIGINT NOT NULL,
	updated_at    BIGINT NOT NULL,
	updated_by    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX articles_state ON articles (state, updated_at);

CREATE VIRTUAL TABLE articles_fts USING fts5(id UNINDEXED, title, body, tokenize = 'unicode61 remove_diacritics 2');

CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
	INSERT INTO articles_fts (id, title, body) VALUES (new.id, new.title, new.body);
END;
CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, body ON articles BEGIN
	DELETE FROM articles_fts WHERE id = old.id;
	INSERT INTO articles_fts (id, title, body) VALUES (new.id, new.title, new.body);
END;
CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
	DELETE FROM articles_fts WHERE id = old.id;
END;
