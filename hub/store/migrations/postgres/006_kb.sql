-- Knowledge base. checks and fixes are comma lists without spaces (health
-- check names, catalog fix ids). tsv is the full-text document, title
-- weighted above body, with the 'simple' configuration so that technical
-- words (dns, vpn, flush) are not stemmed away.
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
	updated_by    TEXT NOT NULL DEFAULT '',
	tsv           tsvector GENERATED ALWAYS AS (
		setweight(to_tsvector('simple'::regconfig, title), 'A') ||
		setweight(to_tsvector('simple'::regconfig, body), 'B')) STORED
);
CREATE INDEX articles_state ON articles (state, updated_at);
CREATE INDEX articles_tsv ON articles USING GIN (tsv);
