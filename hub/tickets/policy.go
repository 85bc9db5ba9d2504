// Package tickets is the hub's ticket core: tickets filed from devices,
// tiered queues, SLA clocks with warnings, breaches and automatic
// escalation, and support metrics. Devices (devices.go) is the devices'
// side of it: help requests, replies, surveys, Get help sessions and
// article searches from devices, and the catch-up a device hears when it
// connects; DeviceNotifier (device_notify.go) tells devices about their
// tickets. One View of a ticket (view.go) serves the API, the console and
// the devices.
//
// In Tierline's names "help desk" means the people who answer users (as
// the user sees them, and Tier 1 in the catalog); the hub's handling of
// device requests is Devices, never a "help desk".
//
// A ticket's timeline (store.TicketEvent) is the source of truth. Apply is
// the one function that turns an event into the ticket's state
// (store.TicketState); the Service changes tickets only by appending events
// through store.UpdateTicket and applying them, so Replay of a timeline
// always gives the state the store holds.
package tickets

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultLimits are the per-tier SLA time limits when none are configured,
// the same as `tierline-hub serve --tier-limits 1=15m,2=4h,3=2d`.
func DefaultLimits() map[int]time.Duration {
	return map[int]time.Duration{1: 15 * time.Minute, 2: 4 * time.Hour, 3: 48 * time.Hour}
}

// TopTier is the highest tier automatic escalation reaches; tier 4
// (vendors) is entered by hand.
const TopTier = 3

// Policy is the SLA policy: how long a ticket may stay in each tier, and
// optionally the business hours in which that time counts.
type Policy struct {
	// Limits maps a tier to its time limit. A tier without a limit has no
	// clock: no warnings, breaches or automatic escalation.
	Limits map[int]time.Duration
	// Response maps a tier to its response limit: how long a ticket may
	// wait in the tier, counted on the same clock as Limits (paused while
	// waiting), before a technician first responds there (a message, an
	// assignment or a fix run). Passing it records a response_breach; it
	// does not escalate. A tier without one has no response clock.
	Response map[int]time.Duration
	// LimitsByPriority and ResponseByPriority override Limits and
	// Response for the tickets of one priority in a tier: a P1 gets a
	// shorter clock than a P4.
	LimitsByPriority   map[TierPriority]time.Duration
	ResponseByPriority map[TierPriority]time.Duration
	// Hours, when set, makes clocks count business time only.
	Hours *BusinessHours
}

// TierPriority names the tickets of one priority (1 highest to 5) in one
// tier.
type TierPriority struct{ Tier, Priority int }

// Limit returns the time limit of a ticket of that priority in the tier, 0
// when it has none.
func (p Policy) Limit(tier, priority int) time.Duration {
	if d, ok := p.LimitsByPriority[TierPriority{tier, priority}]; ok {
		return d
	}
	return p.Limits[tier]
}

// ResponseLimit returns the response limit of a ticket of that priority in
// the tier, 0 when it has none.
func (p Policy) ResponseLimit(tier, priority int) time.Duration {
	if d, ok := p.ResponseByPriority[TierPriority{tier, priority}]; ok {
		return d
	}
	return p.Response[tier]
}

// Validate reports a policy that cannot work, saying what to change.
func (p Policy) Validate() error {
	for what, m := range map[string]map[int]time.Duration{"tier limits": p.Limits, "response limits": p.Response} {
		for tier, d := range m {
			if tier < 0 || tier > 4 {
				return fmt.Errorf("%s: tier %d is outside 0-4", what, tier)
			}
			if d <= 0 {
				return fmt.Errorf("%s: tier %d limit %s must be positive", what, tier, d)
			}
		}
	}
	for what, m := range map[string]map[TierPriority]time.Duration{"tier limits": p.LimitsByPriority, "response limits": p.ResponseByPriority} {
		for k, d := range m {
			if k.Tier < 0 || k.Tier > 4 || k.Priority < 1 || k.Priority > 5 {
				return fmt.Errorf("%s: %d/P%d: tier must be 0-4 and priority P1-P5", what, k.Tier, k.Priority)
			}
			if d <= 0 {
				return fmt.Errorf("%s: %d/P%d limit %s must be positive", what, k.Tier, k.Priority, d)
			}
		}
	}
	if p.Hours != nil {
		return p.Hours.Validate()
	}
	return nil
}

// ParseLimits parses per-tier limits written "1=15m,2=4h,3=2d": any Go
// duration, or whole days with d. An empty string is no limits.
func ParseLimits(s string) (map[int]time.Duration, error) {
	out, byPriority, err := ParseLimitsByPriority(s)
	if err == nil && len(byPriority) > 0 {
		err = errors.New("limits by priority (TIER/PN=DURATION) are set in the SLA settings, not here")
	}
	return out, err
}

// ParseLimitsByPriority parses limits per tier and, where a priority needs
// its own, per tier and priority: "1=15m,2=4h,1/P1=5m,2/P1=1h" (P1 is the
// highest priority, P5 the lowest).
func ParseLimitsByPriority(s string) (map[int]time.Duration, map[TierPriority]time.Duration, error) {
	out, byPriority := map[int]time.Duration{}, map[TierPriority]time.Duration{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		tierText, prioText, hasPrio := strings.Cut(strings.TrimSpace(k), "/")
		tier, err := strconv.Atoi(tierText)
		if !ok || err != nil || tier < 0 || tier > 4 {
			return nil, nil, fmt.Errorf("%q should be TIER=DURATION or TIER/PN=DURATION with TIER 0-4, e.g. 1=15m or 1/P1=5m", part)
		}
		prio := 0
		if hasPrio {
			n, err := strconv.Atoi(strings.TrimPrefix(strings.ToUpper(prioText), "P"))
			if err != nil || n < 1 || n > 5 || !strings.HasPrefix(strings.ToUpper(prioText), "P") {
				return nil, nil, fmt.Errorf("%q: the priority is P1 (highest) to P5, e.g. 1/P1=5m", part)
			}
			prio = n
		}
		d, err := ParseSpan(v)
		if err != nil {
			return nil, nil, fmt.Errorf("tier %s: %v", strings.TrimSpace(k), err)
		}
		if d <= 0 {
			return nil, nil, fmt.Errorf("%q: duration must be positive, such as 90 s, 15 min, 4 h or 2 d", part)
		}
		if prio > 0 {
			key := TierPriority{tier, prio}
			if _, dup := byPriority[key]; dup {
				return nil, nil, fmt.Errorf("%q: tier %d P%d is given twice", part, tier, prio)
			}
			byPriority[key] = d
			continue
		}
		if _, dup := out[tier]; dup {
			return nil, nil, fmt.Errorf("%q: tier %d is given twice", part, tier)
		}
		out[tier] = d
	}
	return out, byPriority, nil
}

// ParseSpan reads a length of time as people and flags write it: "15 min",
// "4 hours", "2 days", "1 h 30 min", "90s", or a Go duration ("1h30m",
// with d for whole days: "2d").
func ParseSpan(s string) (time.Duration, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	if s == "" {
		return 0, errors.New("no length of time given: write one such as 15 min, 4 h or 2 days")
	}
	// Words: numbers each followed by a unit, spaces optional between.
	var total time.Duration
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		n, err := strconv.ParseFloat(rest[:i], 64)
		if i == 0 || err != nil {
			return 0, fmt.Errorf("%q: write a number and a unit, such as 15 min, 4 h or 2 days", s)
		}
		rest = strings.TrimLeft(rest[i:], " ")
		j := 0
		for j < len(rest) && rest[j] >= 'a' && rest[j] <= 'z' {
			j++
		}
		unit, ok := spanUnits[rest[:j]]
		if !ok {
			return 0, fmt.Errorf("%q: unit %q is not one of s, min, h, d (or seconds, minutes, hours, days)", s, rest[:j])
		}
		total += time.Duration(n * float64(unit))
		rest = strings.TrimLeft(strings.TrimPrefix(rest[j:], ","), " ")
	}
	return total, nil
}

var spanUnits = map[string]time.Duration{
	"s": time.Second, "sec": time.Second, "secs": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hrs": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
	"w": 7 * 24 * time.Hour, "week": 7 * 24 * time.Hour, "weeks": 7 * 24 * time.Hour,
}

// HumanSpan writes d as ParseSpan reads it and people say it: "15 min",
// "4 h", "2 d", "1 h 30 min", "90 s" becomes "1 min 30 s".
func HumanSpan(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	var parts []string
	for _, u := range []struct {
		name string
		d    time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"min", time.Minute}, {"s", time.Second}} {
		if n := d / u.d; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, u.name))
			d -= n * u.d
		}
	}
	if len(parts) == 0 {
		return d.String()
	}
	return strings.Join(parts, " ")
}

// FormatLimits writes limits as ParseLimitsByPriority reads them, by tier
// and then by priority.
func FormatLimits(m map[int]time.Duration, byPriority ...map[TierPriority]time.Duration) string {
	tiers := make([]int, 0, len(m))
	for t := range m {
		tiers = append(tiers, t)
	}
	slices.Sort(tiers)
	parts := make([]string, 0, len(tiers))
	for _, t := range tiers {
		parts = append(parts, fmt.Sprintf("%d=%s", t, HumanSpan(m[t])))
	}
	for _, bp := range byPriority {
		keys := slices.SortedFunc(maps.Keys(bp), func(a, b TierPriority) int {
			return cmp.Or(cmp.Compare(a.Tier, b.Tier), cmp.Compare(a.Priority, b.Priority))
		})
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%d/P%d=%s", k.Tier, k.Priority, HumanSpan(bp[k])))
		}
	}
	return strings.Join(parts, ",")
}

// BusinessHours are the hours in which SLA clocks count: on Days, from
// From to To after local midnight in Location.
type BusinessHours struct {
	Days     []time.Weekday
	From, To time.Duration
	Location *time.Location
}

// ParseBusinessHours parses "mon-fri 09:00-17:00 Europe/Berlin" (days as a
// range or comma list, the zone optional and UTC by default).
func ParseBusinessHours(s string) (*BusinessHours, error) {
	f := strings.Fields(s)
	if len(f) < 2 || len(f) > 3 {
		return nil, fmt.Errorf("business hours %q: write DAYS FROM-TO [ZONE], e.g. mon-fri 09:00-17:00 Europe/Berlin", s)
	}
	h := &BusinessHours{Location: time.UTC}
	names := []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
	day := func(n string) (int, error) {
		i := slices.Index(names, strings.ToLower(n))
		if i < 0 {
			return 0, fmt.Errorf("business hours: day %q is not one of %s", n, strings.Join(names, ", "))
		}
		return i, nil
	}
	for _, part := range strings.Split(f[0], ",") {
		a, b, isRange := strings.Cut(part, "-")
		from, err := day(a)
		if err != nil {
			return nil, err
		}
		to := from
		if isRange {
			if to, err = day(b); err != nil {
				return nil, err
			}
		}
		for d := from; ; d = (d + 1) % 7 {
			if !slices.Contains(h.Days, time.Weekday(d)) {
				h.Days = append(h.Days, time.Weekday(d))
			}
			if d == to {
				break
			}
		}
	}
	a, b, ok := strings.Cut(f[1], "-")
	clock := func(s string) (time.Duration, error) {
		if s == "24:00" {
			return 24 * time.Hour, nil
		}
		t, err := time.Parse("15:04", s)
		if err != nil {
			return 0, fmt.Errorf("business hours: %q is not a HH:MM clock time", s)
		}
		return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
	}
	if !ok {
		return nil, fmt.Errorf("business hours: %q should be FROM-TO, e.g. 09:00-17:00", f[1])
	}
	var err error
	if h.From, err = clock(a); err != nil {
		return nil, err
	}
	if h.To, err = clock(b); err != nil {
		return nil, err
	}
	if len(f) == 3 {
		if h.Location, err = time.LoadLocation(f[2]); err != nil {
			return nil, fmt.Errorf("business hours: time zone %q: %w", f[2], err)
		}
	}
	return h, h.Validate()
}

// Validate reports business hours in which no time would ever count.
func (h *BusinessHours) Validate() error {
	if len(h.Days) == 0 {
		return errors.New("business hours: no days; name at least one, e.g. mon-fri")
	}
	if h.From < 0 || h.To > 24*time.Hour || h.From >= h.To {
		return fmt.Errorf("business hours: from %s must be before to %s within one day", h.From, h.To)
	}
	return nil
}

// maxDays bounds the day-by-day walks below (ten years).
const maxDays = 3660

// window returns the business window of the day containing t.
func (h *BusinessHours) window(t time.Time) (start, end time.Time, open bool) {
	loc := h.Location
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	midnight := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, loc)
	return midnight.Add(h.From), midnight.Add(h.To), slices.Contains(h.Days, lt.Weekday())
}

// nextDay returns local midnight of the day after the one containing t.
func (h *BusinessHours) nextDay(t time.Time) time.Time {
	loc := h.Location
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	return time.Date(lt.Year(), lt.Month(), lt.Day()+1, 0, 0, 0, 0, loc)
}

// Elapsed is the clock time between from and to: all of it, or only the
// business hours in it.
func (p Policy) Elapsed(from, to time.Time) time.Duration {
	if !to.After(from) {
		return 0
	}
	if p.Hours == nil {
		return to.Sub(from)
	}
	var d time.Duration
	for t, i := from, 0; t.Before(to) && i < maxDays; t, i = p.Hours.nextDay(t), i+1 {
		start, end, open := p.Hours.window(t)
		if !open {
			continue
		}
		start, end = later(start, t), earlier(end, to)
		if end.After(start) {
			d += end.Sub(start)
		}
	}
	return d
}

// Add returns the instant at which d of clock time has passed since from.
func (p Policy) Add(from time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return from
	}
	if p.Hours == nil {
		return from.Add(d)
	}
	t := from
	for i := 0; i < maxDays; i, t = i+1, p.Hours.nextDay(t) {
		start, end, open := p.Hours.window(t)
		if !open {
			continue
		}
		start = later(start, t)
		if !end.After(start) {
			continue
		}
		if avail := end.Sub(start); d <= avail {
			return start.Add(d)
		} else {
			d -= avail
		}
	}
	return t.Add(d)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Priority is the ITIL priority of an impact and an urgency (each 1 high
// to 3 low): 1 critical to 5 planning.
//
//	          urgency 1  2  3
//	impact 1          1  2  3
//	impact 2          2  3  4
//	impact 3          3  4  5
func Priority(impact, urgency int) int {
	return clamp(impact, 1, 3) + clamp(urgency, 1, 3) - 1
}

// Default impact and urgency of a ticket a user files: one person affected,
// work slowed but possible.
const (
	DefaultImpact  = 3
	DefaultUrgency = 2
)

func clamp(v, lo, hi int) int {
	return min(max(v, lo), hi)
}

// ShortDuration writes d as people write it and time.ParseDuration reads
// it: 15m rather than 15m0s, 4h rather than 4h0m0s; "" for none (d <= 0).
func ShortDuration(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
