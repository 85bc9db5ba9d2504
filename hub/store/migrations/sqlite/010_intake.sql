-- How a ticket came in (agent, phone, walk-in, chat, email, web) and
-- whether it is an incident or a service request. Tickets before this
-- migration all came from devices' help requests: incidents.
ALTER TABLE tickets ADD COLUMN channel TEXT NOT NULL DEFAULT 'agent';
ALTER TABLE tickets ADD COLUMN ticket_type TEXT NOT NULL DEFAULT 'incident';
CREATE INDEX tickets_channel ON tickets (channel, created_at);
