-- Problems (known errors): the cause shared by several tickets, with its
-- root cause and workaround. Tickets point at their problem
-- (tickets.problem_id, set through a "problem" event on the ticket).
CREATE TABLE problems (
	id          TEXT PRIMARY KEY,
	title       TEXT NOT NULL,
	state       TEXT NOT NULL,
	root_cause  TEXT NOT NULL DEFAULT '',
	workaround  TEXT NOT NULL DEFAULT '',
	signature   TEXT NOT NULL DEFAULT '',
	created_by  TEXT NOT NULL,
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL
);
CREATE INDEX problems_state ON problems (state, updated_at);
