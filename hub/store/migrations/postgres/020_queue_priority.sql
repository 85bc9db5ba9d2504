-- The console queue filtered by priority (a technician watching P1 calls):
-- open tickets of a tier and priority in SLA order, so the page does not
-- walk every open ticket of the tier to find the few of one priority.
CREATE INDEX tickets_console_queue_priority ON tickets (tier, priority,
	(CASE WHEN clock_running AND clock_since IS NOT NULL THEN clock_since - clock_used_ns ELSE 9223372036854775807 END), number)
	WHERE state NOT IN ('resolved', 'closed');
