package tickets_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/hub/tickets"
)

func TestSLASettingsApplyLive(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, st *store.Store) {
		base := tickets.Policy{Limits: map[int]time.Duration{1: 15 * time.Minute, 2: 4 * time.Hour}}
		h := newHarness(t, st, base)
		other := newHarness(t, st, base) // a second hub on the same database
		tk, _, _ := h.svc.File(ctx, "dev1", "pc-17", helpRequest("req-1", "slow"))
		if v := h.svc.SLA(); v.TierLimits != "1=15 min,2=4 h" || v.ResponseLimits != "" || v.TierLimitsSource != "default" {
			t.Fatalf("before: %+v", v)
		}
		tl, rl := "1=2m,2=1h", "1=30s"
		v, err := h.svc.SetSLA(ctx, tickets.SLASettings{TierLimits: &tl, ResponseLimits: &rl})
		if err != nil || v.TierLimits != "1=2 min,2=1 h" || v.ResponseLimits != "1=30 s" || v.TierLimitsSource != "setting" {
			t.Fatalf("set: %+v %v", v, err)
		}
		// In force at once: the ticket is checked at the new 50% mark.
		got, _ := st.GetTicket(ctx, tk.ID)
		if got.NextCheckAt == nil || !got.NextCheckAt.Equal(t0.Add(30*time.Second)) {
			t.Fatalf("next check %v, want the response limit at 30s", got.NextCheckAt)
		}
		h.clock.Set(t0.Add(2 * time.Minute))
		h.svc.Tick(ctx)
		got, _ = st.GetTicket(ctx, tk.ID)
		if got.Tier != 2 || got.ResponseBreaches != 1 {
			t.Fatalf("after 2m under the new limits: tier %d, %d response breaches", got.Tier, got.ResponseBreaches)
		}
		m, err := h.svc.Metrics(ctx, t0.Add(-time.Hour), t0.Add(time.Hour))
		if err != nil || m.Overall.ResponseBreached != 1 || len(m.Tiers) == 0 || m.Tiers[0].Tier != 1 || m.Tiers[0].ResponseBreached != 1 {
			t.Fatalf("metrics: %+v %v", m, err)
		}
		// The other hub picks the setting up on its next round.
		if changed, err := other.svc.ReloadSLA(ctx); err != nil || !changed || other.svc.Policy().Limit(1, 3) != 2*time.Minute {
			t.Fatalf("reload: %v %v %v", changed, err, other.svc.Policy().Limits)
		}
		if changed, _ := other.svc.ReloadSLA(ctx); changed {
			t.Fatal("reload without a change reported one")
		}
		// Null goes back to the default.
		if v, err = h.svc.SetSLA(ctx, tickets.SLASettings{ResponseLimits: &rl}); err != nil || v.TierLimits != "1=15 min,2=4 h" || v.TierLimitsSource != "default" {
			t.Fatalf("reset: %+v %v", v, err)
		}
		for _, bad := range []string{"1=0s", "9=1m", "1=soon", "1=1m,1=2m", "1/P0=1m", "1/P6=1m", "1/1=1m", "1/P1=1m,1/p1=2m", "1/P1=-1m"} {
			if _, err := h.svc.SetSLA(ctx, tickets.SLASettings{TierLimits: &bad}); !errors.Is(err, tickets.ErrInvalid) {
				t.Errorf("%q: %v", bad, err)
			}
		}
		if h.svc.Policy().Limit(1, 3) != 15*time.Minute {
			t.Errorf("a refused setting changed the policy: %v", h.svc.Policy().Limits)
		}
	})
}

// TestSLAByPriority: an admin gives P1 tickets a shorter Tier 1 clock than
// the tier's: a P1 ticket breaches and escalates on it, a P4 ticket filed
// at the same time stays on the tier's; raising a ticket to P1 puts it on
// the shorter clock. The setting reads back in human durations.
func TestSLAByPriority(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, st *store.Store) {
		h := newHarness(t, st, tickets.Policy{Limits: map[int]time.Duration{1: time.Hour, 2: 4 * time.Hour}})
		tl := "1=1h,2=4h,1/P1=10m,2/P1=1h"
		v, err := h.svc.SetSLA(ctx, tickets.SLASettings{TierLimits: &tl})
		if err != nil || v.TierLimits != "1=1 h,2=4 h,1/P1=10 min,2/P1=1 h" {
			t.Fatalf("set: %+v %v", v, err)
		}
		urgent, _, err := h.svc.Open(ctx, "ana", tickets.Intake{Requester: "ceo", Text: "No email at all", Impact: 1, Urgency: 1}, nil)
		if err != nil || urgent.Priority != 1 {
			t.Fatalf("P1 ticket: %v, priority %d", err, urgent.Priority)
		}
		calm, _, _ := h.svc.Open(ctx, "ana", tickets.Intake{Requester: "bo", Text: "New mouse please", Type: store.TypeRequest}, nil)
		raised, _, _ := h.svc.Open(ctx, "ana", tickets.Intake{Requester: "cy", Text: "VPN slow"}, nil)
		if calm.Priority != 4 {
			t.Fatalf("default priority P%d, want P4", calm.Priority)
		}
		h.clock.Set(t0.Add(5 * time.Minute))
		if _, err := h.svc.SetPriority(ctx, raised.ID, "ana", 1, 1); err != nil {
			t.Fatal(err)
		}
		h.clock.Set(t0.Add(11 * time.Minute))
		if _, err := h.svc.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			id   string
			tier int
		}{{urgent.ID, 2}, {calm.ID, 1}, {raised.ID, 2}} {
			got, _ := st.GetTicket(ctx, c.id)
			if got.Tier != c.tier {
				t.Errorf("ticket %q (P%d) after 11 min: tier %d, want %d", got.Title, got.Priority, got.Tier, c.tier)
			}
		}
		if d := h.svc.Policy().Limit(2, 1); d != time.Hour {
			t.Errorf("tier 2 P1 limit %s, want 1h", d)
		}
		if d := h.svc.Policy().Limit(2, 4); d != 4*time.Hour {
			t.Errorf("tier 2 P4 limit %s, want the tier's 4h", d)
		}
	})
}

// TestSLABusinessHoursSetting: an admin sets business hours at run time;
// they are in force at once (check times move, a tick counts business
// time only), another hub picks them up, "" counts all hours again and
// null returns to the serve flag's default.
func TestSLABusinessHoursSetting(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, st *store.Store) {
		flag, err := tickets.ParseBusinessHours("mon-sun 00:00-24:00 UTC")
		if err != nil {
			t.Fatal(err)
		}
		base := tickets.Policy{Limits: map[int]time.Duration{1: time.Hour}, Hours: flag}
		h := newHarness(t, st, base)
		other := newHarness(t, st, base)
		if v := h.svc.SLA(); v.BusinessHours != "mon-sun 00:00-24:00 UTC" || v.BusinessHoursSource != "default" {
			t.Fatalf("before: %+v", v)
		}
		tk, _, _ := h.svc.File(ctx, "dev1", "pc-17", helpRequest("req-1", "slow")) // Monday 09:00
		h.clock.Set(t0.Add(10 * time.Minute))

		// Monday does not count any more: the 50% mark (30m) is Tuesday 09:30.
		bh := "tue-fri 09:00-17:00 UTC"
		v, err := h.svc.SetSLA(ctx, tickets.SLASettings{BusinessHours: &bh})
		if err != nil || v.BusinessHours != bh || v.BusinessHoursSource != "setting" || v.TierLimitsSource != "default" {
			t.Fatalf("set: %+v %v", v, err)
		}
		tuesday := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
		got, _ := st.GetTicket(ctx, tk.ID)
		if got.NextCheckAt == nil || !got.NextCheckAt.Equal(tuesday.Add(30*time.Minute)) {
			t.Fatalf("next check %v, want Tuesday 09:30", got.NextCheckAt)
		}
		if s := tickets.Status(&got, h.svc.Policy(), h.clock.Now()); s.Used != 0 || s.Due == nil || !s.Due.Equal(tuesday.Add(time.Hour)) {
			t.Fatalf("status under business hours: %+v", s)
		}
		// Monday 10:30 is past the limit in wall time but not in business time.
		h.clock.Set(t0.Add(90 * time.Minute))
		h.svc.Tick(ctx)
		if k := kindsOf(t, st, tk.ID); count(k, tickets.EvSLAWarning)+count(k, tickets.EvSLABreach) != 0 {
			t.Fatalf("warnings outside business hours: %v", k)
		}
		h.clock.Set(tuesday.Add(40 * time.Minute))
		h.svc.Tick(ctx)
		if k := kindsOf(t, st, tk.ID); count(k, tickets.EvSLAWarning) != 1 || count(k, tickets.EvSLABreach) != 0 {
			t.Fatalf("Tuesday 09:40: %v, want one warning (50%%)", k)
		}

		// The other hub picks the hours up on its next round.
		if changed, err := other.svc.ReloadSLA(ctx); err != nil || !changed || tickets.FormatBusinessHours(other.svc.Policy().Hours) != bh {
			t.Fatalf("reload: %v %v %+v", changed, err, other.svc.Policy().Hours)
		}

		// "" is all hours (24/7), a setting of its own.
		off := ""
		if v, err = h.svc.SetSLA(ctx, tickets.SLASettings{BusinessHours: &off}); err != nil || v.BusinessHours != "" || v.BusinessHoursSource != "setting" || h.svc.Policy().Hours != nil {
			t.Fatalf("off: %+v %v", v, err)
		}
		if changed, err := other.svc.ReloadSLA(ctx); err != nil || !changed || other.svc.Policy().Hours != nil {
			t.Fatalf("reload off: %v %v", changed, err)
		}
		// null is the flag's default again.
		if v, err = h.svc.SetSLA(ctx, tickets.SLASettings{}); err != nil || v.BusinessHours != "mon-sun 00:00-24:00 UTC" || v.BusinessHoursSource != "default" {
			t.Fatalf("reset: %+v %v", v, err)
		}

		for _, bad := range []string{"weekdays", "mon-fri 9-5", "mon-fri 17:00-09:00", "funday 09:00-17:00",
			"mon-fri 09:00-17:00 Mars/Olympus", "mon-fri 09:00-17:00 UTC extra", strings.Repeat("mon,", 60) + "mon 09:00-17:00"} {
			_, err := h.svc.SetSLA(ctx, tickets.SLASettings{BusinessHours: &bad})
			if !errors.Is(err, tickets.ErrInvalid) || !strings.Contains(err.Error(), "business_hours") || !strings.Contains(err.Error(), "DAYS FROM-TO [ZONE]") {
				t.Errorf("%q: %v", bad, err)
			}
		}
		if v := h.svc.SLA(); v.BusinessHours != "mon-sun 00:00-24:00 UTC" || v.BusinessHoursSource != "default" {
			t.Errorf("a refused setting changed the policy: %+v", v)
		}
	})
}

// TestFormatBusinessHours: the text the settings show reads back as the
// same hours.
func TestFormatBusinessHours(t *testing.T) {
	for in, want := range map[string]string{
		"mon-fri 09:00-17:00 Europe/Berlin": "mon-fri 09:00-17:00 Europe/Berlin",
		"fri-mon 08:00-24:00":               "mon,fri-sun 08:00-24:00 UTC",
		"SUN,sat 10:00-12:30 UTC":           "sat-sun 10:00-12:30 UTC",
		"wed,mon,tue 00:00-23:59":           "mon-wed 00:00-23:59 UTC",
	} {
		h, err := tickets.ParseBusinessHours(in)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		got := tickets.FormatBusinessHours(h)
		if got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
		back, err := tickets.ParseBusinessHours(got)
		if err != nil || tickets.FormatBusinessHours(back) != got || back.From != h.From || back.To != h.To || back.Location.String() != h.Location.String() {
			t.Errorf("%q does not read back: %+v %v", got, back, err)
		}
	}
	if got := tickets.FormatBusinessHours(nil); got != "" {
		t.Errorf("no hours: %q", got)
	}
}

func TestAssignNeedsAnEnabledConsoleUser(t *testing.T) {
	st := storetest.Open(t)
	h := newHarness(t, st, tickets.Policy{})
	now := t0
	if err := st.CreateUser(ctx, store.User{ID: "u-old", Name: "old", Role: store.RoleTier1, CreatedAt: t0, DisabledAt: &now}); err != nil {
		t.Fatal(err)
	}
	tk, _, _ := h.svc.File(ctx, "dev1", "pc-17", helpRequest("req-1", "slow"))
	for _, name := range []string{"nobody", "old"} {
		if _, err := h.svc.Assign(ctx, tk.ID, "ana", name); !errors.Is(err, tickets.ErrUnknownUser) || !strings.Contains(err.Error(), name) {
			t.Errorf("assign to %s: %v", name, err)
		}
		if _, err := h.svc.AddCollaborator(ctx, tk.ID, "ana", name); !errors.Is(err, tickets.ErrUnknownUser) {
			t.Errorf("collaborator %s: %v", name, err)
		}
	}
	if got, err := h.svc.Assign(ctx, tk.ID, "ana", "bo"); err != nil || got.Assignee != "bo" {
		t.Fatalf("assign to bo: %v", err)
	}
}

// TestUserReplyIsAddedOnce: a reply delivered twice (lost acknowledgement,
// spool replay) is one message; replies without an id (older agents) are
// added per delivery.
func TestUserReplyIsAddedOnce(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, st *store.Store) {
		h := newHarness(t, st, tickets.Policy{})
		tk, _, _ := h.svc.File(ctx, "dev1", "pc-17", helpRequest("req-1", "slow"))
		for i := 0; i < 3; i++ {
			got, err := h.svc.MessageOnce(ctx, tk.ID, "user:maria", tickets.FromUser, "still slow", "reply-1")
			if err != nil || got.ID != tk.ID {
				t.Fatalf("delivery %d: %v", i, err)
			}
		}
		h.svc.MessageOnce(ctx, tk.ID, "user:maria", tickets.FromUser, "still slow", "reply-2")
		h.svc.MessageOnce(ctx, tk.ID, "user:maria", tickets.FromUser, "old agent", "")
		h.svc.MessageOnce(ctx, tk.ID, "user:maria", tickets.FromUser, "old agent", "")
		// The same id on another ticket is another message.
		other, _, _ := h.svc.File(ctx, "dev1", "pc-17", helpRequest("req-2", "other"))
		h.svc.MessageOnce(ctx, other.ID, "user:maria", tickets.FromUser, "hello", "reply-1")
		if n := count(kindsOf(t, st, tk.ID), tickets.EvMessage); n != 4 {
			t.Fatalf("%d messages, want 4 (reply-1 once, reply-2, two without id)", n)
		}
		if n := count(kindsOf(t, st, other.ID), tickets.EvMessage); n != 1 {
			t.Fatalf("%d messages on the other ticket", n)
		}
		if _, err := h.svc.MessageOnce(ctx, tk.ID, "u", tickets.FromUser, "x", strings.Repeat("i", 65)); !errors.Is(err, tickets.ErrInvalid) {
			t.Fatalf("long id: %v", err)
		}
		checkReplay(t, st, tk.ID, h.svc.Policy())
	})
}

// TestTwoHubsOneSLAPass: two hubs on one PostgreSQL database tick the same
// due ticket at once; the advisory lock lets one pass run, so the breach
// and the escalation are recorded once.
func TestTwoHubsOneSLAPass(t *testing.T) {
	pg := os.Getenv(storetest.PostgresEnv)
	if pg == "" {
		t.Skip("set " + storetest.PostgresEnv + " to run against PostgreSQL")
	}
	st1 := storetest.OpenPostgres(t, pg)
	var dbName string
	if err := st1.DB().QueryRowContext(ctx, `SELECT current_database()`).Scan(&dbName); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(pg)
	u.Path = "/" + dbName
	st2, err := store.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	p := tickets.Policy{Limits: map[int]time.Duration{1: time.Minute, 2: time.Hour}}
	h1, h2 := newHarness(t, st1, p), newHarness(t, st2, p)
	var ids []string
	for i := range 20 {
		tk, _, err := h1.svc.File(ctx, "dev1", "pc-17", helpRequest("req-"+string(rune('a'+i)), "slow"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tk.ID)
	}
	h1.clock.Set(t0.Add(2 * time.Minute))
	h2.clock.Set(t0.Add(2 * time.Minute))
	var wg sync.WaitGroup
	for _, h := range []*harness{h1, h2, h1, h2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := h.svc.Tick(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for _, id := range ids {
		k := kindsOf(t, st1, id)
		if count(k, tickets.EvSLABreach) != 1 || count(k, tickets.EvEscalated) != 1 {
			t.Fatalf("ticket %s: %v: want one breach and one escalation", id, k)
		}
	}
	// The lock itself: while one hub holds it, the other's pass does not run.
	hold, release := make(chan struct{}), make(chan struct{})
	go st1.WithJobLock(ctx, "sla", func(context.Context) error { close(hold); <-release; return nil })
	<-hold
	ran, err := st2.WithJobLock(ctx, "sla", func(context.Context) error { return nil })
	close(release)
	if err != nil || ran {
		t.Fatalf("second hub ran the pass while the first held the lock: %v %v", ran, err)
	}
}
