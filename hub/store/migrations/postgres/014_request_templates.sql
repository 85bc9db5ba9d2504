-- Service request templates: what users can ask for (new software, access
-- to a share, a new monitor) with the fields to fill in and the tier,
-- priority and category the requests start with. The template itself
-- (wire.RequestTemplate) is kept as JSON in doc, so a field added to it
-- later needs no migration; names are unique and order the list
-- users see. A ticket filed from one keeps its answers and the labels
-- they had in a "request_form" event on its timeline.
CREATE TABLE request_templates (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL UNIQUE,
	doc         TEXT NOT NULL,
	created_by  TEXT NOT NULL,
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL
);
