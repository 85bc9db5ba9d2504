-- A Get help session names the user who opened it, so a user who comes
-- back about their problem from another computer (a session, or a ticket
-- they file) takes the first session's deflection back.
ALTER TABLE help_sessions ADD COLUMN user_name TEXT NOT NULL DEFAULT '';
CREATE INDEX help_sessions_user ON help_sessions (user_name, started);
CREATE INDEX tickets_requester ON tickets (requester, created_at);
