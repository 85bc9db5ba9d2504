package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/hub/ticketevent"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

func healthItem(dev string, seq uint64, at time.Time, checks ...diag.CheckResult) store.IngestItem {
	return store.IngestItem{DeviceID: dev, Seq: seq, Kind: store.KindHealth, Received: at, Checks: checks}
}

func check(name string, st diag.Status, at time.Time) diag.CheckResult {
	return diag.CheckResult{Name: name, Status: st, Summary: name + " is " + string(st), Time: at}
}

func TestFleetHealth(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		enroll(t, s, "d1", "alpha")
		enroll(t, s, "d2", "beta")
		enroll(t, s, "d3", "gamma")
		enroll(t, s, "d4", "revoked-one")
		if err := s.MarkConnected(ctx, "d1", store.DeviceHello{Hostname: "alpha"}, t0); err != nil {
			t.Fatal(err)
		}
		mustIngest(t, s,
			healthItem("d1", 1, t0, check("dns-resolution", diag.StatusFailing, t0), check("disk-space", diag.StatusOK, t0)),
			healthItem("d2", 1, t0, check("dns-resolution", diag.StatusFailing, t0), check("disk-space", diag.StatusWarning, t0)),
			healthItem("d3", 1, t0, check("dns-resolution", diag.StatusOK, t0), check("disk-space", diag.StatusFailing, t0)),
			healthItem("d4", 1, t0, check("dns-resolution", diag.StatusFailing, t0)),
		)
		if err := s.RevokeDevice(ctx, "d4", t0); err != nil {
			t.Fatal(err)
		}

		// Tickets: two on a problem, one on another, SLA breaches on two
		// days and one outside the range.
		mustCreateTicket(t, s, "t1", "d1", "r1", t0)
		mustCreateTicket(t, s, "t2", "d2", "r2", t0.Add(time.Second))
		mustCreateTicket(t, s, "t3", "d3", "r3", t0.Add(2*time.Second), func(tk *store.Ticket) { tk.Tier = 2; tk.State = store.TicketOpen })
		for _, p := range []store.Problem{{ID: "p1", Title: "Resolver drops queries"}, {ID: "p2", Title: "Disk fills"}, {ID: "p3", Title: "Unlinked"}} {
			p.CreatedBy, p.CreatedAt, p.State = "eng", t0, store.ProblemOpen
			if err := s.CreateProblem(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		event := func(id string, kind string, at time.Time, edit func(*store.Ticket)) {
			t.Helper()
			if _, _, err := s.UpdateTicket(ctx, id, func(tk *store.Ticket) ([]store.TicketEvent, error) {
				if edit != nil {
					edit(tk)
				}
				return []store.TicketEvent{{Time: at, Actor: "system", Data: ticketevent.Unknown{Name: kind, Raw: []byte(`{"tier":1}`)}}}, nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		event("t1", "problem", t0.Add(time.Minute), func(tk *store.Ticket) { tk.ProblemID = "p1" })
		event("t2", "problem", t0.Add(time.Minute), func(tk *store.Ticket) { tk.ProblemID = "p1" })
		event("t3", "problem", t0.Add(time.Minute), func(tk *store.Ticket) { tk.ProblemID = "p2" })
		day := 24 * time.Hour
		event("t1", "sla_breach", t0.Add(15*time.Minute), nil)
		event("t2", "sla_breach", t0.Add(20*time.Minute), nil)
		event("t3", "sla_breach", t0.Add(day), nil)
		event("t3", "sla_breach", t0.Add(5*day), nil) // after the range
		event("t3", "sla_warning", t0.Add(day), nil)  // not a breach

		// Runs: flush-dns fixed twice and failed once, restart-spooler
		// refused once (ran nothing); one run finished after the range.
		runs := []store.Run{newRun("r1", "d1", "flush-dns", t0), newRun("r2", "d2", "flush-dns", t0), newRun("r3", "d1", "flush-dns", t0),
			newRun("r4", "d3", "restart-spooler", t0), newRun("r5", "d3", "flush-dns", t0)}
		if err := s.CreateRuns(ctx, nil, runs); err != nil {
			t.Fatal(err)
		}
		result := func(dev string, seq uint64, run, outcome string, at time.Time) store.IngestItem {
			return store.IngestItem{DeviceID: dev, Seq: seq, Kind: store.KindRunResult, Received: at, RunResult: &wire.RunResult{RunID: run, Outcome: outcome}}
		}
		mustIngest(t, s,
			result("d1", 2, "r1", wire.OutcomeFixed, t0.Add(time.Minute)),
			result("d2", 2, "r2", wire.OutcomeFixed, t0.Add(time.Minute)),
			result("d1", 3, "r3", wire.OutcomeFailed, t0.Add(time.Minute)),
			result("d3", 2, "r4", wire.OutcomeRefused, t0.Add(time.Minute)),
			result("d3", 3, "r5", wire.OutcomeFixed, t0.Add(10*day)),
		)

		from := t0.Truncate(day)
		h, err := s.FleetHealth(ctx, from, from.Add(3*day), 0)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(store.DeviceCounts{Total: 3, Online: 1, Offline: 2}, h.Devices); diff != "" {
			t.Errorf("devices (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]store.FailingCheck{{Name: "dns-resolution", Failing: 2}, {Name: "disk-space", Failing: 1, Warning: 1}}, h.FailingChecks); diff != "" {
			t.Errorf("failing checks (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]store.ProblemCount{{ID: "p1", Title: "Resolver drops queries", State: "open", Tickets: 2}, {ID: "p2", Title: "Disk fills", State: "open", Tickets: 1}}, h.TopProblems); diff != "" {
			t.Errorf("top problems (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]store.TicketCount{{Tier: 1, State: "new", Count: 2}, {Tier: 2, State: "open", Count: 1}}, h.Tickets); diff != "" {
			t.Errorf("tickets (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]store.DayCount{{Day: from, Count: 2}, {Day: from.Add(day), Count: 1}, {Day: from.Add(2 * day), Count: 0}}, h.SLABreaches); diff != "" {
			t.Errorf("sla breaches (-want +got):\n%s", diff)
		}
		want := []store.FixRate{
			{Fix: "flush-dns", Runs: 3, Outcomes: map[string]int{"fixed": 2, "failed": 1}, Success: 2, Failure: 1, SuccessPct: 200.0 / 3},
			{Fix: "restart-spooler", Runs: 1, Outcomes: map[string]int{"refused": 1}, SuccessPct: -1},
		}
		if diff := cmp.Diff(want, h.FixRates, approx); diff != "" {
			t.Errorf("fix rates (-want +got):\n%s", diff)
		}
		if _, err := s.FleetHealth(ctx, from, from, 0); err == nil {
			t.Error("an empty range was accepted")
		}
		if _, err := s.FleetHealth(ctx, from, from.Add(400*day), 0); err == nil {
			t.Error("a 400-day range was accepted")
		}

		// Drill-down: devices where a check fails, and text search.
		ids := func(f store.DeviceSearch) string {
			t.Helper()
			ds, more, err := s.SearchDevices(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			out := ""
			for _, d := range ds {
				out += d.ID + " "
			}
			if more {
				out += "+"
			}
			return out
		}
		online := true
		for _, c := range []struct {
			f    store.DeviceSearch
			want string
		}{
			{store.DeviceSearch{}, "d1 d2 d3 "},
			{store.DeviceSearch{Check: "dns-resolution"}, "d1 d2 "},
			{store.DeviceSearch{Check: "disk-space"}, "d2 d3 "},
			{store.DeviceSearch{Check: "disk-space", Status: "failing"}, "d3 "},
			{store.DeviceSearch{Q: "ETA"}, "d2 "},
			{store.DeviceSearch{Q: "d3"}, "d3 "},
			{store.DeviceSearch{Q: "%_"}, "d1 d2 d3 "},
			{store.DeviceSearch{Q: "revoked"}, ""},
			{store.DeviceSearch{Online: &online}, "d1 "},
			{store.DeviceSearch{Limit: 2}, "d1 d2 +"},
			{store.DeviceSearch{Limit: 2, Offset: 2}, "d3 "},
		} {
			if got := ids(c.f); got != c.want {
				t.Errorf("search %+v: %q, want %q", c.f, got, c.want)
			}
		}
	})
}

func TestTelemetrySeries(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		enroll(t, s, "d1", "alpha")
		// Six points a minute apart: cpu 10..60.
		var items []store.IngestItem
		for i := range 6 {
			items = append(items, telemetryItem("d1", uint64(i+1), sample(t0.Add(time.Duration(i)*time.Minute), float64(10*(i+1)), 50, 70, 1, 100, 200)))
		}
		mustIngest(t, s, items...)
		pts, err := s.TelemetrySeries(ctx, "d1", t0, t0.Add(6*time.Minute), 2*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		type got struct {
			Min      int
			Count    int
			CPU, Max float64
		}
		var g []got
		for _, p := range pts {
			g = append(g, got{int(p.Time.Sub(t0) / time.Minute), p.Count, p.Summary.CPUPct, p.Max.CPUPct})
		}
		if diff := cmp.Diff([]got{{0, 2, 15, 20}, {2, 2, 35, 40}, {4, 2, 55, 60}}, g, approx); diff != "" {
			t.Fatalf("buckets (-want +got):\n%s", diff)
		}

		// After pruning the first four points into 4-minute rollups, the
		// buckets still weigh every point once.
		if _, err := s.Prune(ctx, t0.Add(4*time.Minute), time.Time{}, 4*time.Minute); err != nil {
			t.Fatal(err)
		}
		pts, err = s.TelemetrySeries(ctx, "d1", t0, t0.Add(6*time.Minute), 6*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(pts) != 1 || pts[0].Count != 6 || pts[0].Summary.CPUPct < 34.99 || pts[0].Summary.CPUPct > 35.01 || pts[0].Max.CPUPct != 60 {
			t.Fatalf("one bucket over raw and rollups: %+v", pts)
		}
		if _, err := s.TelemetrySeries(ctx, "d1", t0, t0.Add(time.Hour), 0); err == nil {
			t.Error("a zero step was accepted")
		}
		if _, err := s.TelemetrySeries(ctx, "d1", t0, t0.Add(time.Hour), time.Millisecond); err == nil {
			t.Error("millions of buckets were accepted")
		}
	})
}

// seedFleet fills s with devices devices of ten health checks each (a
// tenth of them failing one check), tickets tickets (some linked to
// problems, some with SLA breaches) and runs finished runs, in one
// transaction straight into the tables.
func seedFleet(b *testing.B, s *store.Store, devices, tickets, runs int) {
	b.Helper()
	tx, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	q := func(query string) string { // the store's ? to PostgreSQL's $n
		if s.Dialect() != "postgres" {
			return query
		}
		out, n := "", 0
		for _, c := range query {
			if c == '?' {
				n++
				out += fmt.Sprintf("$%d", n)
				continue
			}
			out += string(c)
		}
		return out
	}
	exec := func(query string, rows int, args func(i int) []any) {
		st, err := tx.PrepareContext(ctx, q(query))
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		for i := range rows {
			if _, err := st.ExecContext(ctx, args(i)...); err != nil {
				b.Fatalf("%s: %v", query, err)
			}
		}
	}
	at := t0.UnixNano()
	dev := func(i int) string { return fmt.Sprintf("%032x", i) }
	checks := []string{"dns-resolution", "disk-almost-full", "memory-pressure", "clock-skew", "cpu-saturated", "default-route", "hub-reachable", "pending-reboot", "service-stopped", "uptime-long"}
	exec(`INSERT INTO devices (id, public_key, hostname, enrolled_at, online) VALUES (?, ?, ?, ?, ?)`, devices, func(i int) []any {
		return []any{dev(i), []byte("pk"), fmt.Sprintf("host-%05d", i), at, i%3 != 0}
	})
	exec(`INSERT INTO check_state (device_id, name, status, time) VALUES (?, ?, ?, ?)`, devices*len(checks), func(i int) []any {
		d, c := i/len(checks), i%len(checks)
		status := "ok"
		if d%10 == 0 && c == d/10%len(checks) {
			status = "failing"
		}
		return []any{dev(d), checks[c], status, at}
	})
	exec(`INSERT INTO problems (id, title, state, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`, 50, func(i int) []any {
		return []any{fmt.Sprintf("p%d", i), fmt.Sprintf("problem %d", i), "open", "eng", at, at}
	})
	exec(`INSERT INTO tickets (id, number, device_id, title, created_at, updated_at, state, tier, impact, urgency, priority, tier_entered_at, problem_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 3, 3, 3, ?, ?)`, tickets, func(i int) []any {
		problem := ""
		if i%20 == 0 {
			problem = fmt.Sprintf("p%d", i%50)
		}
		return []any{fmt.Sprintf("t%d", i), i + 1, dev(i % devices), "ticket", at, at, store.TicketStates[i%len(store.TicketStates)], 1 + i%4, at, problem}
	})
	exec(`INSERT INTO ticket_events (ticket_id, time, actor, kind) VALUES (?, ?, ?, ?)`, tickets, func(i int) []any {
		kind := "filed"
		if i%10 == 0 {
			kind = "sla_breach"
		}
		return []any{fmt.Sprintf("t%d", i), at + int64(i)*int64(time.Minute), "system", kind}
	})
	exec(`INSERT INTO runs (id, device_id, fix, requested_by, requester_role, tier, state, outcome, created_at, expires_at, finished_at)
		VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)`, runs, func(i int) []any {
		outcomes := []string{"fixed", "succeeded", "failed", "not_fixed", "refused"}
		return []any{fmt.Sprintf("r%d", i), dev(i % devices), checks[i%5], "ana", "tier1", store.RunDone, outcomes[i%len(outcomes)], at, at + int64(time.Hour), at + int64(i)*int64(time.Second)}
	})
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkFleetHealth measures the fleet page's aggregates over 30 days
// with 10,000 devices (100,000 check results), 100,000 tickets and 50,000
// finished runs in SQLite.
func BenchmarkFleetHealth(b *testing.B) {
	s := storetest.Open(b)
	seedFleet(b, s, 10_000, 100_000, 50_000)
	from := t0.Truncate(24 * time.Hour)
	b.ResetTimer()
	for b.Loop() {
		h, err := s.FleetHealth(ctx, from, from.Add(30*24*time.Hour), 10)
		if err != nil {
			b.Fatal(err)
		}
		if h.Devices.Total != 10_000 || len(h.FailingChecks) == 0 || len(h.FixRates) != 5 {
			b.Fatalf("health %+v", h.Devices)
		}
	}
}

// BenchmarkSearchDevicesByCheck measures the fleet page's drill-down: the
// first 100 devices failing one check among 10,000.
func BenchmarkSearchDevicesByCheck(b *testing.B) {
	s := storetest.Open(b)
	seedFleet(b, s, 10_000, 0, 0)
	b.ResetTimer()
	for b.Loop() {
		ds, _, err := s.SearchDevices(ctx, store.DeviceSearch{Check: "dns-resolution", Limit: 100})
		if err != nil || len(ds) == 0 {
			b.Fatalf("%d devices, %v", len(ds), err)
		}
	}
}
