package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// Fleet health aggregates, for the console's fleet page and
// GET /api/v1/fleet/health. Each query reads one table through an index
// where one exists; the exceptions are noted on the function.

// DeviceCounts counts the devices that are not revoked.
type DeviceCounts struct {
	Total   int `json:"total"`
	Online  int `json:"online"`
	Offline int `json:"offline"`
}

// FailingCheck is a health check that is failing or warning on some devices.
type FailingCheck struct {
	Name    string `json:"name"`
	Failing int    `json:"failing"` // devices where it is failing
	Warning int    `json:"warning"` // devices where it is warning
}

// ProblemCount is a problem with the number of tickets linked to it.
type ProblemCount struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	State   string `json:"state"`
	Tickets int    `json:"tickets"`
}

// TicketCount is the number of tickets in one tier and state.
type TicketCount struct {
	Tier  int    `json:"tier"`
	State string `json:"state"`
	Count int    `json:"count"`
}

// DayCount is a count for one UTC day.
type DayCount struct {
	Day   time.Time `json:"day"`
	Count int       `json:"count"`
}

// FixRate counts the finished runs of one fix by outcome. Success are runs
// that fixed the problem or succeeded; Failure those that failed or did not
// fix it; refused and not-applicable runs ran nothing and count in neither.
type FixRate struct {
	Fix      string         `json:"fix"`
	Runs     int            `json:"runs"`
	Outcomes map[string]int `json:"outcomes"`
	Success  int            `json:"success"`
	Failure  int            `json:"failure"`
	// SuccessPct is Success out of Success+Failure, -1 when both are 0.
	SuccessPct float64 `json:"success_pct"`
}

// FleetHealth is the fleet at a glance over [From, To).
type FleetHealth struct {
	From          time.Time      `json:"from"`
	To            time.Time      `json:"to"`
	Devices       DeviceCounts   `json:"devices"`
	FailingChecks []FailingCheck `json:"failing_checks"`
	TopProblems   []ProblemCount `json:"top_problems"`
	Tickets       []TicketCount  `json:"tickets"`
	SLABreaches   []DayCount     `json:"sla_breaches"` // one entry per UTC day in range, zeros included
	FixRates      []FixRate      `json:"fix_rates"`
}

// MaxFleetRange bounds the range of FleetHealth (one entry per day).
const MaxFleetRange = 366 * 24 * time.Hour

// FleetHealth gathers the fleet aggregates; SLA breaches and fix runs are
// those in [from, to), problems at most topProblems (0: 10).
func (s *Store) FleetHealth(ctx context.Context, from, to time.Time, topProblems int) (FleetHealth, error) {
	if !from.Before(to) {
		return FleetHealth{}, errors.New("fleet health: from must be before to")
	}
	if to.Sub(from) > MaxFleetRange {
		return FleetHealth{}, fmt.Errorf("fleet health: the range may span at most %d days", int(MaxFleetRange/(24*time.Hour)))
	}
	h := FleetHealth{From: from.UTC(), To: to.UTC()}
	var err error
	total, online, err := s.CountDevices(ctx)
	if err != nil {
		return h, fmt.Errorf("fleet health: %w", err)
	}
	h.Devices = DeviceCounts{Total: total, Online: online, Offline: total - online}
	if h.FailingChecks, err = s.FailingChecks(ctx); err != nil {
		return h, err
	}
	if h.TopProblems, err = s.TopProblems(ctx, topProblems); err != nil {
		return h, err
	}
	counts, err := s.CountTickets(ctx)
	if err != nil {
		return h, fmt.Errorf("fleet health: %w", err)
	}
	h.Tickets = []TicketCount{}
	for tier, states := range counts {
		for state, n := range states {
			h.Tickets = append(h.Tickets, TicketCount{Tier: tier, State: state, Count: n})
		}
	}
	sort.Slice(h.Tickets, func(i, j int) bool {
		a, b := h.Tickets[i], h.Tickets[j]
		if a.Tier != b.Tier {
			return a.Tier < b.Tier
		}
		return stateOrder(a.State) < stateOrder(b.State)
	})
	if h.SLABreaches, err = s.SLABreachesPerDay(ctx, from, to); err != nil {
		return h, err
	}
	if h.FixRates, err = s.FixRates(ctx, from, to); err != nil {
		return h, err
	}
	return h, nil
}

func stateOrder(state string) int {
	for i, s := range TicketStates {
		if s == state {
			return i
		}
	}
	return len(TicketStates)
}

// FailingChecks counts, per health check, the devices (not revoked) where it
// is failing or warning, most failing first. It scans check_state, which
// holds one row per device and check, without a join: the few revoked
// devices come from their index.
func (s *Store) FailingChecks(ctx context.Context) ([]FailingCheck, error) {
	inSite, siteArgs := deviceSiteSuffix(ctx, "c.device_id")
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT c.name,
		SUM(CASE WHEN c.status = ? THEN 1 ELSE 0 END), SUM(CASE WHEN c.status = ? THEN 1 ELSE 0 END)
		FROM check_state c
		WHERE c.status IN (?, ?) AND c.device_id NOT IN (SELECT id FROM devices WHERE revoked_at IS NOT NULL)`+inSite+`
		GROUP BY c.name`), append([]any{string(diag.StatusFailing), string(diag.StatusWarning), string(diag.StatusFailing), string(diag.StatusWarning)}, siteArgs...)...)
	if err != nil {
		return nil, fmt.Errorf("failing checks: %w", err)
	}
	defer rows.Close()
	out := []FailingCheck{}
	for rows.Next() {
		var c FailingCheck
		if err := rows.Scan(&c.Name, &c.Failing, &c.Warning); err != nil {
			return nil, fmt.Errorf("failing checks: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failing checks: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Failing != b.Failing {
			return a.Failing > b.Failing
		}
		if a.Warning != b.Warning {
			return a.Warning > b.Warning
		}
		return a.Name < b.Name
	})
	return out, nil
}

// TopProblems returns the problems with the most linked tickets, at most
// limit (0: 10), problems without tickets left out.
func (s *Store) TopProblems(ctx context.Context, limit int) ([]ProblemCount, error) {
	if limit <= 0 {
		limit = 10
	}
	inSite, siteArgs := siteSuffix(ctx, "t.site")
	shared, sharedArgs := sharedSuffix(ctx, "p.site")
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT p.id, p.title, p.state, COUNT(*) AS n
		FROM tickets t JOIN problems p ON p.id = t.problem_id
		WHERE t.problem_id <> ''`+inSite+shared+`
		GROUP BY p.id, p.title, p.state
		ORDER BY n DESC, p.id LIMIT ?`), append(append(siteArgs, sharedArgs...), limit)...)
	if err != nil {
		return nil, fmt.Errorf("top problems: %w", err)
	}
	defer rows.Close()
	out := []ProblemCount{}
	for rows.Next() {
		var p ProblemCount
		if err := rows.Scan(&p.ID, &p.Title, &p.State, &p.Tickets); err != nil {
			return nil, fmt.Errorf("top problems: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("top problems: %w", err)
	}
	return out, nil
}

const nsPerDay = int64(24 * time.Hour)

// SLABreachesPerDay counts sla_breach ticket events per UTC day in
// [from, to), one entry for every day the range touches (zeros included).
// It reads ticket_events through its time index.
func (s *Store) SLABreachesPerDay(ctx context.Context, from, to time.Time) ([]DayCount, error) {
	if !from.Before(to) {
		return []DayCount{}, nil
	}
	inSite, siteArgs := "", []any(nil)
	if c, a := siteCond(ctx, "site"); c != "" {
		inSite, siteArgs = " AND ticket_id IN (SELECT id FROM tickets WHERE "+c+")", a
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT time / CAST(? AS BIGINT) AS day, COUNT(*) FROM ticket_events
		WHERE time >= ? AND time < ? AND kind = ?`+inSite+` GROUP BY 1`),
		append([]any{nsPerDay, from.UnixNano(), to.UnixNano(), "sla_breach"}, siteArgs...)...)
	if err != nil {
		return nil, fmt.Errorf("sla breaches per day: %w", err)
	}
	defer rows.Close()
	byDay := map[int64]int{}
	for rows.Next() {
		var day int64
		var n int
		if err := rows.Scan(&day, &n); err != nil {
			return nil, fmt.Errorf("sla breaches per day: %w", err)
		}
		byDay[day] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sla breaches per day: %w", err)
	}
	first, last := from.UnixNano()/nsPerDay, (to.UnixNano()-1)/nsPerDay
	out := make([]DayCount, 0, last-first+1)
	for d := first; d <= last; d++ {
		out = append(out, DayCount{Day: fromNS(d * nsPerDay), Count: byDay[d]})
	}
	return out, nil
}

// FixRates counts the runs finished in [from, to) by fix and outcome, most
// run fix first. runs has no index on finished_at, so this scans the
// table; "state || ”" keeps the planner from reading every done run
// through runs_state_expires instead, which is slower than the scan.
func (s *Store) FixRates(ctx context.Context, from, to time.Time) ([]FixRate, error) {
	inSite, siteArgs := deviceSiteSuffix(ctx, "device_id")
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT fix, outcome, COUNT(*) FROM runs
		WHERE state || '' = ? AND finished_at >= ? AND finished_at < ?`+inSite+` GROUP BY fix, outcome`),
		append([]any{RunDone, from.UnixNano(), to.UnixNano()}, siteArgs...)...)
	if err != nil {
		return nil, fmt.Errorf("fix rates: %w", err)
	}
	defer rows.Close()
	byFix := map[string]*FixRate{}
	for rows.Next() {
		var fix, outcome string
		var n int
		if err := rows.Scan(&fix, &outcome, &n); err != nil {
			return nil, fmt.Errorf("fix rates: %w", err)
		}
		r := byFix[fix]
		if r == nil {
			r = &FixRate{Fix: fix, Outcomes: map[string]int{}}
			byFix[fix] = r
		}
		r.Outcomes[outcome] += n
		r.Runs += n
		switch outcome {
		case wire.OutcomeFixed, wire.OutcomeSucceeded:
			r.Success += n
		case wire.OutcomeFailed, wire.OutcomeNotFixed:
			r.Failure += n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("fix rates: %w", err)
	}
	out := make([]FixRate, 0, len(byFix))
	for _, r := range byFix {
		r.SuccessPct = -1
		if d := r.Success + r.Failure; d > 0 {
			r.SuccessPct = 100 * float64(r.Success) / float64(d)
		}
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Runs != out[j].Runs {
			return out[i].Runs > out[j].Runs
		}
		return out[i].Fix < out[j].Fix
	})
	return out, nil
}
