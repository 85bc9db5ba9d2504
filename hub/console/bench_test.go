package console

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/auth"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// The benchmarks render the queue and ticket pages against a SQLite store
// holding benchDevices devices and benchTickets tickets (a third of them
// open, spread over the four tiers). The seeded file is cached in
// os.TempDir() under a name with benchSeedVersion, so later runs reuse it;
// bump the version when the seed changes.
const (
	benchDevices     = 10_000
	benchTickets     = 100_000
	benchSeedVersion = 3
)

// benchTicketID is a ticket with a full snapshot and timeline.
const benchTicketID = "bench-ticket-full"

func benchStore(tb testing.TB) *store.Store {
	tb.Helper()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("tierline-console-bench-v%d-%d-%d.db", benchSeedVersion, benchDevices, benchTickets))
	if _, err := os.Stat(path); err != nil {
		start := time.Now()
		tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
		st, err := store.Open(context.Background(), tmp)
		if err != nil {
			tb.Fatal(err)
		}
		if err := seedBench(st); err != nil {
			st.Close()
			os.Remove(tmp)
			tb.Fatalf("seed the benchmark store: %v", err)
		}
		if _, err := st.DB().Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			tb.Fatal(err)
		}
		st.Close()
		for _, sfx := range []string{"-wal", "-shm"} {
			os.Remove(tmp + sfx)
		}
		if err := os.Rename(tmp, path); err != nil {
			tb.Fatal(err)
		}
		tb.Logf("seeded %d devices and %d tickets into %s in %s", benchDevices, benchTickets, path, time.Since(start).Round(time.Millisecond))
	}
	st, err := store.Open(context.Background(), path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// benchSnapshot is a realistic frozen snapshot: every check, a sample with
// processes, an inventory and an hour of history.
func benchSnapshot(now time.Time) wire.Snapshot {
	s := wire.Snapshot{Taken: now, Sample: &diag.Sample{Time: now, CPU: diag.CPU{TotalPct: 85, Load1: 3.2}, Memory: diag.Memory{UsedPct: 71},
		Filesystems: []diag.Filesystem{{Mount: "/", UsedPct: 64}, {Mount: "/home", UsedPct: 91}}},
		Inventory: &diag.Inventory{Hostname: "pc-0042", OS: diag.OSInfo{Name: "linux", Platform: "debian", Version: "12"},
			Hardware: diag.Hardware{CPU: &diag.CPUInfo{Model: "Example CPU", Cores: 8}, MemoryBytes: 16 << 30}}}
	for i := range 12 {
		st := diag.StatusOK
		if i%5 == 0 {
			st = diag.StatusFailing
		}
		s.Checks = append(s.Checks, diag.CheckResult{Name: fmt.Sprintf("check-%02d", i), Status: st, Summary: "what the check saw", Time: now})
	}
	for i := range 10 {
		s.Sample.TopCPU = append(s.Sample.TopCPU, diag.Process{PID: int32(1000 + i), Name: fmt.Sprintf("proc-%d", i), CPUPct: float64(10 - i), RSS: 100 << 20})
	}
	for i := range 360 {
		s.History.Full = append(s.History.Full, diag.Point{Time: now.Add(time.Duration(i-360) * 10 * time.Second),
			Summary: diag.Summary{CPUPct: float64(i % 100), MemPct: 50 + float64(i%20)}})
	}
	return s
}

// seedBench fills an empty store in one transaction with plain INSERTs;
// the columns are the ones the store's own writes fill.
func seedBench(st *store.Store) error {
	ctx := context.Background()
	tx, err := st.DB().BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := time.Now().UTC()
	rng := rand.New(rand.NewPCG(1, 2))
	dev, err := tx.Prepare(`INSERT INTO devices (id, public_key, hostname, os, arch, grp, enrolled_at, online, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	groups := []string{"finance", "sales", "engineering", "support", "lab"}
	for i := range benchDevices {
		if _, err := dev.Exec(fmt.Sprintf("dev-%05d", i), []byte{1}, fmt.Sprintf("pc-%05d", i), "linux", "amd64", groups[i%len(groups)],
			now.Add(-30*24*time.Hour).UnixNano(), i%3 != 0, now.UnixNano()); err != nil {
			return err
		}
	}
	tk, err := tx.Prepare(`INSERT INTO tickets (id, number, device_id, title, body, category, created_at, updated_at, state, tier, impact, urgency, priority,
		assignee, tier_entered_at, clock_used_ns, clock_since, clock_running, snapshot, tried) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	snap, _ := json.Marshal(benchSnapshot(now))
	tried, _ := json.Marshal(wire.SelfHelp{Runs: []wire.TriedFix{{Fix: "flush-dns", Outcome: "not_fixed", Time: now}}})
	states := []string{store.TicketResolved, store.TicketClosed, store.TicketNew, store.TicketOpen, store.TicketWaitingUser, store.TicketClosed}
	for i := range benchTickets {
		id := fmt.Sprintf("bench-%06d", i)
		var sn, tr any
		if i == 0 {
			id, sn, tr = benchTicketID, string(snap), string(tried)
		}
		created := now.Add(-time.Duration(rng.IntN(90*24*3600)) * time.Second)
		state := states[i%len(states)]
		if i == 0 {
			state = store.TicketOpen
		}
		tier := 1 + rng.IntN(4)
		since := created.Add(time.Duration(rng.IntN(3600)) * time.Second)
		running := state != store.TicketWaitingUser
		assignee := ""
		if i%7 == 0 {
			assignee = "tier1-user"
		}
		if _, err := tk.Exec(id, i+1, fmt.Sprintf("dev-%05d", rng.IntN(benchDevices)), fmt.Sprintf("pc-%05d: ticket %d about something slow", i%benchDevices, i),
			"The application hangs when I open a large file and nothing responds for minutes.", "slow",
			created.UnixNano(), created.UnixNano(), state, tier, 3, 3, 3, assignee, since.UnixNano(), int64(rng.IntN(600))*int64(time.Second),
			since.UnixNano(), running, sn, tr); err != nil {
			return err
		}
	}
	ev, err := tx.Prepare(`INSERT INTO ticket_events (ticket_id, time, actor, kind, data) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	for i, kind := range []string{"filed", "self_help", "assigned", "message", "message", "escalated", "run", "message"} {
		data := map[string]any{"tier": 1, "to": "tier1-user", "from": "technician", "text": "Please try again now.", "fix": "flush-dns", "outcome": "fixed"}
		b, _ := json.Marshal(data)
		if _, err := ev.Exec(benchTicketID, now.Add(time.Duration(i)*time.Minute).UnixNano(), "tier1-user", kind, string(b)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// benchConsole is a console on the seeded store with a logged-in tier1
// user; it returns the handler and the session cookie.
func benchConsole(tb testing.TB) (*Console, http.Handler, *http.Cookie) {
	tb.Helper()
	st := benchStore(tb)
	ctx := context.Background()
	u, err := st.GetUserByName(ctx, "tier1-user")
	if err != nil {
		hash, _ := auth.HashPassword(testPassword)
		u = store.User{ID: wire.NewID(), Name: "tier1-user", Role: store.RoleTier1, PasswordHash: hash}
		if err := st.CreateUser(ctx, u); err != nil {
			tb.Fatal(err)
		}
	}
	c, err := New(Config{Store: st})
	if err != nil {
		tb.Fatal(err)
	}
	id := auth.Secret(32)
	now := time.Now()
	if err := st.CreateSession(ctx, store.Session{IDHash: auth.HashSecret(id), UserID: u.ID, CSRF: "bench", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		tb.Fatal(err)
	}
	return c, c.Handler(), &http.Cookie{Name: CookieName, Value: id}
}

func benchGet(b *testing.B, h http.Handler, ck *http.Cookie, path, want string) {
	b.Helper()
	req := httptest.NewRequest("GET", "https://hub.example"+path, nil)
	req.AddCookie(ck)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), want) {
		b.Fatalf("GET %s: %d, want 200 with %q\n%.2000s", path, rec.Code, want, rec.Body.String())
	}
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("GET %s: %d", path, rec.Code)
		}
	}
}

// BenchmarkQueuePage renders the first page (100 tickets) of the Tier 1
// queue, ordered by SLA due, with 100,000 tickets in the store.
func BenchmarkQueuePage(b *testing.B) {
	_, h, ck := benchConsole(b)
	benchGet(b, h, ck, "/queue?tier=1", "page 1, ordered by SLA due")
}

// BenchmarkQueuePageFiltered renders the Tier 2 queue filtered by device
// group and state.
func BenchmarkQueuePageFiltered(b *testing.B) {
	_, h, ck := benchConsole(b)
	benchGet(b, h, ck, "/queue?tier=2&state=open&group=finance", "page 1, ordered by SLA due")
}

// BenchmarkTicketPage renders a ticket with a full snapshot (12 checks, an
// hour of history as SVG, processes, inventory) and its timeline.
func BenchmarkTicketPage(b *testing.B) {
	_, h, ck := benchConsole(b)
	benchGet(b, h, ck, "/tickets/"+benchTicketID, "Health checks at filing")
}

// TestQueueUsesIndex checks on the seeded store that the queue query walks
// the tickets_console_queue index instead of sorting the open tickets.
func TestQueueUsesIndex(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 100,000 tickets")
	}
	st := benchStore(t)
	for _, f := range []store.QueueFilter{{Tier: 1}, {Tier: 2, State: store.TicketOpen}, {Tier: 3, Group: "finance"}, {Tier: 1, Priority: 1}} {
		plan, err := st.ExplainQueue(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		all := strings.Join(plan, "\n")
		index := "tickets_console_queue "
		if f.Priority > 0 {
			index = "tickets_console_queue_priority "
		}
		if !strings.Contains(all+" ", index) || strings.Contains(all, "TEMP B-TREE FOR ORDER BY") {
			t.Errorf("queue %+v does not run on the index:\n%s", f, all)
		}
	}
}
