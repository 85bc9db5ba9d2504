package server

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *testClock) step(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// metricValue is the value of a counter or gauge, or the count and sum of
// a histogram, with exactly these labels; ok is false when there is none.
// countedSeries counts the series of a metric that are above zero (a
// histogram's: with observations).
func countedSeries(t *testing.T, reg *prometheus.Registry, name string) int {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if m.GetCounter().GetValue() > 0 || m.GetGauge().GetValue() > 0 || m.GetHistogram().GetSampleCount() > 0 {
				n++
			}
		}
	}
	return n
}

func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) (v float64, count uint64, ok bool) {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue next
				}
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				return m.GetCounter().GetValue(), 0, true
			case dto.MetricType_GAUGE:
				return m.GetGauge().GetValue(), 0, true
			case dto.MetricType_HISTOGRAM:
				return m.GetHistogram().GetSampleSum(), m.GetHistogram().GetSampleCount(), true
			}
		}
	}
	return 0, 0, false
}

// The support metrics on /metrics count what the support metrics API
// reads from the event log: tickets filed, answered, escalated by hand
// and by the SLA clock, resolved and rated, and Get help sessions with and
// without a ticket.
func TestSupportMetrics(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clk := &testClock{now: t0}
	for _, name := range []string{"ana", "bo"} {
		if err := st.CreateUser(ctx, store.User{ID: "u-" + name, Name: name, Role: store.RoleTier2, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	support := newSupportMetrics()
	log := slog.New(slog.DiscardHandler)
	policy := tickets.Policy{Limits: map[int]time.Duration{1: 15 * time.Minute, 2: 4 * time.Hour, 3: 48 * time.Hour},
		Response: map[int]time.Duration{1: 10 * time.Minute}}
	svc, err := tickets.New(tickets.Config{Store: st, Policy: policy, Logger: slog.New(slog.DiscardHandler), Now: clk.Now,
		Changes: tickets.PublishFunc(support.observeChange(st, log))})
	if err != nil {
		t.Fatal(err)
	}
	d := tickets.NewDevices(svc, st, log, support.observeSession)
	fleet := newFleetCollector(st)
	fleet.now = clk.Now
	reg := prometheus.NewRegistry()
	reg.MustRegister(fleet, support)

	file := func(id string) string {
		t.Helper()
		rec, err := d.FileHelp(ctx, "dev1", "pc-17", wire.HelpRequest{RequestID: id, Text: "VPN drops", User: "maria",
			Snapshot: wire.Snapshot{Taken: clk.Now(), Checks: []diag.CheckResult{{Name: "vpn-reachable", Status: diag.StatusFailing}}}})
		if err != nil {
			t.Fatal(err)
		}
		return rec.TicketID
	}
	must := func(_ store.Ticket, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	tick := func(d time.Duration) {
		t.Helper()
		clk.step(d)
		if _, err := svc.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// A: answered after 2m, resolved in tier 1 at 5m (first contact), rated 5.
	a := file("req-a")
	tick(2 * time.Minute)
	must(svc.Message(ctx, a, "ana", tickets.FromTechnician, "on it"))
	tick(3 * time.Minute)
	must(svc.Resolve(ctx, a, "ana", "reconnected"))
	must(svc.Survey(ctx, a, "user", 5, ""))
	// B: escalated by hand after 1m, a fix run at 2m, resolved in tier 2
	// at 4m, rated 3.
	b := file("req-b")
	tick(time.Minute)
	must(svc.Escalate(ctx, b, "ana", 2, "needs the VPN team"))
	tick(time.Minute)
	must(svc.RecordRun(ctx, b, "bo", wire.NewID(), "restart-vpn", "fixed"))
	tick(2 * time.Minute)
	must(svc.Resolve(ctx, b, "bo", "VPN client restarted"))
	must(svc.Survey(ctx, b, "user", 3, ""))
	// C: nobody answers: its response limit passes at 10m, its tier 1
	// limit at 15m, and the SLA clock escalates it to tier 2.
	c := file("req-c")
	tick(11 * time.Minute)
	tick(5 * time.Minute)
	if tk, _ := st.GetTicket(ctx, c); tk.Tier != 2 {
		t.Fatalf("ticket C in tier %d after its tier 1 limit, want 2", tk.Tier)
	}
	// D: filed 5 minutes before the scrape, still new in tier 1.
	file("req-d")
	tick(5 * time.Minute)
	// A comes back and is resolved again: still one resolution of A.
	must(svc.Reopen(ctx, a, "maria", "dropping again"))
	must(svc.Resolve(ctx, a, "ana", "reconnected again"))

	// Get help sessions: one fixed on the device (recovered, and sent
	// twice by an agent that missed the acknowledgement), one given up
	// with the check still failing, one that ended with a ticket.
	sessions := []wire.HelpSession{
		{SessionID: wire.NewID(), Failing: []string{"dns-resolution"}, Recovered: []string{"dns-resolution"}, FixesRun: []string{"flush-dns"}},
		{SessionID: wire.NewID(), Failing: []string{"disk-space"}},
		{SessionID: wire.NewID(), Ticket: true, Failing: []string{"vpn-reachable"}},
	}
	sessions = append(sessions, sessions[0])
	for _, h := range sessions {
		h.Started, h.Ended = t0, t0.Add(time.Minute)
		if err := d.HelpSession(ctx, "dev1", h); err != nil {
			t.Fatal(err)
		}
	}

	type lv = map[string]string
	counters := []struct {
		name   string
		labels lv
		want   float64
	}{
		{"tierline_tickets_resolved_total", lv{"tier": "1", "first_contact": "true"}, 1},
		{"tierline_tickets_resolved_total", lv{"tier": "2", "first_contact": "false"}, 1},
		{"tierline_ticket_escalations_total", lv{"from_tier": "1", "reason": "manual"}, 1},
		{"tierline_ticket_escalations_total", lv{"from_tier": "1", "reason": "sla"}, 1},
		{"tierline_sla_breaches_total", lv{"tier": "1", "clock": "response"}, 1},
		{"tierline_sla_breaches_total", lv{"tier": "1", "clock": "resolution"}, 1},
		{"tierline_csat_responses_total", lv{"score": "5"}, 1},
		{"tierline_csat_responses_total", lv{"score": "3"}, 1},
		{"tierline_csat_responses_total", lv{"score": "1"}, 0},
		{"tierline_help_sessions_total", lv{"outcome": "recovered"}, 1},
		{"tierline_help_sessions_total", lv{"outcome": "no_ticket"}, 1},
		{"tierline_help_sessions_total", lv{"outcome": "ticket"}, 1},
		{"tierline_ticket_events_total", lv{"kind": "resolved"}, 3},
		{"tierline_ticket_events_total", lv{"kind": "filed"}, 4},
		// The oldest waiting ticket of tier 1 is D; of tier 2, C (21m).
		{"tierline_ticket_backlog_oldest_seconds", lv{"tier": "1"}, 300},
		{"tierline_ticket_backlog_oldest_seconds", lv{"tier": "2"}, 21 * 60},
		{"tierline_ticket_backlog_oldest_seconds", lv{"tier": "3"}, 0},
		{"tierline_tickets", lv{"tier": "2", "state": "resolved"}, 1},
	}
	for _, c := range counters {
		if got, _, ok := metricValue(t, reg, c.name, c.labels); !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	for _, n := range []string{"tierline_tickets_resolved_total", "tierline_ticket_escalations_total", "tierline_sla_breaches_total"} {
		if got := countedSeries(t, reg, n); got != 2 {
			t.Errorf("%s has %d series above zero, want the 2 above", n, got)
		}
	}
	histograms := []struct {
		name  string
		tier  string
		sum   float64
		count uint64
	}{
		{"tierline_ticket_first_response_seconds", "1", 120 + 120, 2}, // A's message, B's run: tier filed in
		{"tierline_ticket_resolve_seconds", "1", 300, 1},
		{"tierline_ticket_resolve_seconds", "2", 240, 1},
	}
	for _, h := range histograms {
		if sum, count, ok := metricValue(t, reg, h.name, lv{"tier": h.tier}); !ok || sum != h.sum || count != h.count {
			t.Errorf("%s{tier=%s}: %d observations summing to %v s, want %d summing to %v s", h.name, h.tier, count, sum, h.count, h.sum)
		}
	}
	if got := countedSeries(t, reg, "tierline_ticket_resolve_seconds"); got != 2 {
		t.Errorf("tierline_ticket_resolve_seconds has %d series with observations, want tiers 1 and 2", got)
	}

	// The API reads the same from the event log, except that it knows A
	// was reopened later and so takes its first contact back; the counter
	// was counted at A's resolution.
	m, err := svc.Metrics(ctx, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if m.Overall.Resolved != 2 || m.Overall.FirstContact != 0 || m.Overall.FirstResponse.Count != 2 || m.Overall.CSAT.Answers != 2 ||
		m.Overall.Escalated != 2 || m.Overall.ResponseBreached != 1 || m.Overall.Breached != 1 || m.Overall.Backlog.MaxAge != 21*60 {
		t.Errorf("support metrics API %+v: want 2 resolved, none at first contact (A was reopened), 2 first responses, 2 answers, "+
			"2 escalations, 1 response and 1 resolution breach, oldest waiting 21m", m.Overall)
	}
	// The fixed session is not deflected in the API: its device filed
	// tickets after it, within the 72 h window.
	if m.SelfHelp.Sessions != 3 || m.SelfHelp.CameBack != 1 || m.SelfHelp.Deflected != 0 || m.SelfHelp.Tickets != 1 || m.SelfHelp.Window != "3 d" {
		t.Errorf("support metrics API self-help %+v: want 3 sessions, 1 recovered whose device came back, 1 with a ticket", m.SelfHelp)
	}

	// The names follow Prometheus conventions.
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint %s: %s", p.Metric, p.Text)
	}
}

// SessionOutcome agrees with the store's count of recovered sessions, the
// one the support metrics API reports.
func TestSessionOutcomeMatchesStore(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	cases := []wire.HelpSession{
		{Ticket: true},
		{Ticket: true, Failing: []string{"a"}, Recovered: []string{"a"}},
		{},
		{Recovered: []string{"a"}},
		{Failing: []string{"a", "b"}, Recovered: []string{"b", "a"}},
		{Failing: []string{"a", "b"}, Recovered: []string{"a"}},
		{Failing: []string{"a"}, Recovered: []string{"a", "c"}},
	}
	want := map[string]int{}
	for i, h := range cases {
		h.SessionID, h.Started, h.Ended = wire.NewID(), t0, t0.Add(time.Duration(i)*time.Second)
		if err := st.RecordHelpSession(ctx, store.HelpSessionRecord{DeviceID: "dev1", HelpSession: h}); err != nil {
			t.Fatal(err)
		}
		want[tickets.SessionOutcome(h)]++
	}
	c, err := st.HelpSessionCounts(ctx, t0, t0.Add(time.Hour), 0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if c.Total != len(cases) || c.Ticket != want[tickets.SessionTicket] || c.Recovered != want[tickets.SessionRecovered] || want[tickets.SessionRecovered] != 2 {
		t.Errorf("store: %+v; SessionOutcome: %v", c, want)
	}
}
