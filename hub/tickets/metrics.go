package tickets

import (
	"cmp"
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/ticketevent"
	"github.com/tierline/tierline/shared/wire"
)

// Metrics are the support metrics of a period, computed from the timelines
// of the tickets filed in it.
type Metrics struct {
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Tickets int       `json:"tickets"`
	// Channels and Types count the tickets filed in the period by how
	// they came in (agent, phone, ...) and by type (incident, request).
	Channels map[string]int `json:"channels"`
	Types    map[string]int `json:"types"`
	Overall  TierMetrics    `json:"overall"`
	Tiers    []TierMetrics  `json:"tiers"`
	// FirstContactResolution is the share of resolved tickets resolved in
	// the tier they were filed in, without escalation or reopening.
	FirstContactResolution float64         `json:"first_contact_resolution"`
	SelfHelp               SelfHelpMetrics `json:"self_help"`
	// ByChannel and ByType give the measures of the tickets filed by each
	// channel and of each type.
	ByChannel map[string]GroupMetrics `json:"by_channel"`
	ByType    map[string]GroupMetrics `json:"by_type"`
	// Days are the period's UTC days in order: tickets filed that day, and
	// of those filed in the period, the ones resolved (and at first
	// contact) and the survey answers given that day.
	Days []DayMetrics `json:"days"`
}

// GroupMetrics are the measures of a group of tickets (one channel, one
// type), counted from their filing tier to their resolution.
type GroupMetrics struct {
	Tickets                int       `json:"tickets"`
	Resolved               int       `json:"resolved"`
	FirstContact           int       `json:"first_contact"`
	FirstContactResolution float64   `json:"first_contact_resolution"`
	Escalated              int       `json:"escalated"`
	EscalationRate         float64   `json:"escalation_rate"`
	Breached               int       `json:"breached"`
	BreachRate             float64   `json:"breach_rate"`
	FirstResponse          Durations `json:"first_response"`
	TimeToResolve          Durations `json:"time_to_resolve"`
	CSAT                   CSAT      `json:"csat"`
}

func (g *GroupMetrics) finish() {
	g.FirstContactResolution = rate(g.FirstContact, g.Resolved)
	g.EscalationRate = rate(g.Escalated, g.Tickets)
	g.BreachRate = rate(g.Breached, g.Tickets)
	g.FirstResponse.finish()
	g.TimeToResolve.finish()
	g.CSAT.finish()
}

// DayMetrics are one UTC day's counts.
type DayMetrics struct {
	Day          string `json:"day"` // 2006-01-02
	Filed        int    `json:"filed"`
	Resolved     int    `json:"resolved"`
	FirstContact int    `json:"first_contact"`
	CSAT         CSAT   `json:"csat"`
}

// TierMetrics are the metrics of one tier (Tier 0 in Overall).
type TierMetrics struct {
	Tier int `json:"tier"`
	// Entered: tickets that were in the tier (filed there or escalated to
	// it).
	Entered   int `json:"entered"`
	Resolved  int `json:"resolved"`
	Escalated int `json:"escalated"` // left the tier upwards
	Breached  int `json:"breached"`  // passed the tier's limit
	// ResponseBreached: nobody responded in the tier within its response
	// limit (tickets; overall: tickets with at least one).
	ResponseBreached int `json:"response_breached"`
	// FirstContact: resolved in the tier they were filed in, never
	// escalated nor reopened.
	FirstContact   int       `json:"first_contact"`
	EscalationRate float64   `json:"escalation_rate"`
	BreachRate     float64   `json:"breach_rate"`
	FirstResponse  Durations `json:"first_response"`  // from filing, by tier filed in
	TimeToResolve  Durations `json:"time_to_resolve"` // from filing, by tier resolved in
	Backlog        Backlog   `json:"backlog"`         // tickets not resolved now
	CSAT           CSAT      `json:"csat"`
}

// Durations summarizes durations, in seconds.
type Durations struct {
	Count  int     `json:"count"`
	Mean   float64 `json:"mean_s"`
	Median float64 `json:"median_s"`
	Max    float64 `json:"max_s"`
	all    []time.Duration
}

func (d *Durations) add(v time.Duration) { d.all = append(d.all, max(v, 0)) }

func (d *Durations) finish() {
	d.Count = len(d.all)
	if d.Count == 0 {
		return
	}
	sort.Slice(d.all, func(i, j int) bool { return d.all[i] < d.all[j] })
	var sum time.Duration
	for _, v := range d.all {
		sum += v
	}
	d.Mean = (sum / time.Duration(d.Count)).Seconds()
	d.Median = d.all[d.Count/2].Seconds()
	if d.Count%2 == 0 {
		d.Median = ((d.all[d.Count/2-1] + d.all[d.Count/2]) / 2).Seconds()
	}
	d.Max = d.all[d.Count-1].Seconds()
}

// Backlog are the tickets still waiting for resolution now, with their
// ages in seconds.
type Backlog struct {
	Open    int     `json:"open"`
	MeanAge float64 `json:"mean_age_s"`
	MaxAge  float64 `json:"max_age_s"`
}

// CSAT is the satisfaction survey result: answers and their mean (1-5).
type CSAT struct {
	Answers int     `json:"answers"`
	Mean    float64 `json:"mean"`
	sum     int
}

func (c *CSAT) add(score int) { c.sum += score; c.Answers++ }

func (c *CSAT) finish() {
	if c.Answers > 0 {
		c.Mean = float64(c.sum) / float64(c.Answers)
	}
}

// SelfHelpMetrics count Get help sessions: deflected are those that ended
// without a ticket and with the device's failing checks recovered.
type SelfHelpMetrics struct {
	Sessions int `json:"sessions"`
	Tickets  int `json:"tickets"`
	// Deflected sessions fixed the problem and their device did not come
	// back about it (another session or a ticket) within Window; Pending
	// ones fixed it and their window is still open; CameBack ones fixed
	// it and the device came back.
	Deflected      int     `json:"deflected"`
	Pending        int     `json:"pending"`
	CameBack       int     `json:"came_back"`
	DeflectionRate float64 `json:"deflection_rate"`
	Window         string  `json:"window"`
}

// DefaultDeflectionWindow is how long a fixed problem must stay away for
// its Get help session to count as deflected.
const DefaultDeflectionWindow = 72 * time.Hour

// BacklogStates are the states of tickets waiting for resolution: the
// backlog.
var BacklogStates = []string{store.TicketNew, store.TicketOpen, store.TicketWaitingUser, store.TicketWaitingVendor}

// Metrics computes the support metrics of tickets filed in [from, to),
// and the backlog as of now.
func (s *Service) Metrics(ctx context.Context, from, to time.Time) (Metrics, error) {
	if !to.After(from) {
		return Metrics{}, invalid("period: to (%s) must be after from (%s)", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	events, err := s.cfg.Store.TicketEventsOf(ctx, from, to)
	if err != nil {
		return Metrics{}, fmt.Errorf("support metrics: %w", err)
	}
	open, err := s.cfg.Store.ListTickets(ctx, store.TicketFilter{States: BacklogStates, Limit: 100000})
	if err != nil {
		return Metrics{}, fmt.Errorf("support metrics: backlog: %w", err)
	}
	sc, err := s.cfg.Store.HelpSessionCounts(ctx, from, to, s.cfg.DeflectionWindow, s.now())
	if err != nil {
		return Metrics{}, fmt.Errorf("support metrics: %w", err)
	}
	m := ComputeMetrics(events, open, s.now())
	m.From, m.To = from, to
	m.Days = days(m.Days, from, to)
	m.SelfHelp = SelfHelpMetrics{Sessions: sc.Total, Tickets: sc.Ticket, Deflected: sc.Deflected, Pending: sc.Pending,
		CameBack: sc.CameBack, DeflectionRate: rate(sc.Deflected, sc.Total), Window: HumanSpan(s.cfg.DeflectionWindow)}
	return m, nil
}

// ComputeMetrics computes metrics from timelines (grouped by ticket, each
// in order) and the tickets open now.
func ComputeMetrics(events []store.TicketEvent, open []store.Ticket, now time.Time) Metrics {
	m := Metrics{Channels: map[string]int{}, Types: map[string]int{}, ByChannel: map[string]GroupMetrics{}, ByType: map[string]GroupMetrics{}}
	byDay := map[string]*DayMetrics{}
	day := func(t time.Time) *DayMetrics {
		k := t.UTC().Format(time.DateOnly)
		if byDay[k] == nil {
			byDay[k] = &DayMetrics{Day: k}
		}
		return byDay[k]
	}
	groups := map[string]*GroupMetrics{}
	group := func(key string) *GroupMetrics {
		if groups[key] == nil {
			groups[key] = &GroupMetrics{}
		}
		return groups[key]
	}
	tiers := map[int]*TierMetrics{}
	tier := func(n int) *TierMetrics {
		if tiers[n] == nil {
			tiers[n] = &TierMetrics{Tier: n}
		}
		return tiers[n]
	}
	all := &m.Overall
	resolvedTotal := 0
	for i := 0; i < len(events); {
		j := i
		for j < len(events) && events[j].TicketID == events[i].TicketID {
			j++
		}
		tl := events[i:j]
		i = j
		f, ok := tl[0].Data.(ticketevent.Filed)
		if !ok {
			continue
		}
		obs := Observe(tl)
		m.Tickets++
		ch, typ := FiledAs(f)
		m.Channels[ch]++
		m.Types[typ]++
		day(tl[0].Time).Filed++
		var g GroupMetrics // this ticket's part of its channel's and type's
		g.Tickets = 1
		all.Entered++
		filedTier := max(f.Tier, 1)
		tier(filedTier).Entered++
		escalated, reopened, resolved, firstContact := false, false, false, false
		var resolvedAt time.Time
		breached := map[int]bool{}
		respBreached := false
		for _, o := range obs {
			switch o.Kind {
			case ObsMoved:
				if o.Up {
					tier(o.Tier).Escalated++
					if !escalated {
						all.Escalated++
						g.Escalated = 1
					}
					escalated = true
				}
				tier(o.To).Entered++
			case ObsSLABreach:
				if !breached[o.Tier] {
					breached[o.Tier] = true
					tier(o.Tier).Breached++
				}
			case ObsResponseBreach:
				tier(o.Tier).ResponseBreached++
				respBreached = true
			case ObsFirstResponse:
				tier(o.Tier).FirstResponse.add(o.Elapsed)
				all.FirstResponse.add(o.Elapsed)
				g.FirstResponse.add(o.Elapsed)
			case ObsResolved:
				if !resolved {
					resolvedAt = o.Event.Time
					g.TimeToResolve.add(o.Elapsed)
				}
				resolved, firstContact = true, o.FirstContact
				tier(o.Tier).Resolved++
				all.Resolved++
				tier(o.Tier).TimeToResolve.add(o.Elapsed)
				all.TimeToResolve.add(o.Elapsed)
			case ObsReopened:
				reopened = true
			case ObsSurvey:
				tier(o.Tier).CSAT.add(o.Score)
				all.CSAT.add(o.Score)
				g.CSAT.add(o.Score)
				day(o.Event.Time).CSAT.add(o.Score)
			}
		}
		if len(breached) > 0 {
			all.Breached++
			g.Breached = 1
		}
		if respBreached {
			all.ResponseBreached++
		}
		if resolved {
			resolvedTotal++
			g.Resolved = 1
			day(resolvedAt).Resolved++
			// A reopening after the first resolution takes first contact back.
			if firstContact && !reopened {
				tier(filedTier).FirstContact++
				all.FirstContact++
				g.FirstContact = 1
				day(resolvedAt).FirstContact++
			}
		}
		group("channel:" + ch).merge(g)
		group("type:" + typ).merge(g)
	}
	for _, t := range open {
		age := now.Sub(t.CreatedAt).Seconds()
		for _, b := range []*Backlog{&tier(t.Tier).Backlog, &all.Backlog} {
			b.Open++
			b.MeanAge += age
			b.MaxAge = max(b.MaxAge, age)
		}
	}
	finish := func(t *TierMetrics) {
		t.EscalationRate = rate(t.Escalated, t.Entered)
		t.BreachRate = rate(t.Breached, t.Entered)
		t.FirstResponse.finish()
		t.TimeToResolve.finish()
		if t.Backlog.Open > 0 {
			t.Backlog.MeanAge /= float64(t.Backlog.Open)
		}
		t.CSAT.finish()
	}
	finish(all)
	for _, n := range []int{1, 2, 3} {
		tier(n)
	}
	keys := make([]int, 0, len(tiers))
	for k := range tiers {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	for _, k := range keys {
		finish(tiers[k])
		m.Tiers = append(m.Tiers, *tiers[k])
	}
	m.FirstContactResolution = rate(all.FirstContact, resolvedTotal)
	for k, g := range groups {
		g.finish()
		if ch, ok := strings.CutPrefix(k, "channel:"); ok {
			m.ByChannel[ch] = *g
		} else {
			m.ByType[strings.TrimPrefix(k, "type:")] = *g
		}
	}
	for _, d := range byDay {
		d.CSAT.finish()
		m.Days = append(m.Days, *d)
	}
	sort.Slice(m.Days, func(i, j int) bool { return m.Days[i].Day < m.Days[j].Day })
	return m
}

// merge adds one ticket's part.
func (g *GroupMetrics) merge(t GroupMetrics) {
	g.Tickets += t.Tickets
	g.Resolved += t.Resolved
	g.FirstContact += t.FirstContact
	g.Escalated += t.Escalated
	g.Breached += t.Breached
	g.FirstResponse.all = append(g.FirstResponse.all, t.FirstResponse.all...)
	g.TimeToResolve.all = append(g.TimeToResolve.all, t.TimeToResolve.all...)
	g.CSAT.sum += t.CSAT.sum
	g.CSAT.Answers += t.CSAT.Answers
}

// days lists every UTC day of [from, to), with the counts of those that
// have any.
func days(have []DayMetrics, from, to time.Time) []DayMetrics {
	byDay := map[string]DayMetrics{}
	for _, d := range have {
		byDay[d.Day] = d
	}
	var out []DayMetrics
	start := from.UTC().Truncate(24 * time.Hour)
	for t := start; t.Before(to) && len(out) < 400; t = t.Add(24 * time.Hour) {
		k := t.Format(time.DateOnly)
		d, ok := byDay[k]
		if !ok {
			d = DayMetrics{Day: k}
		}
		out = append(out, d)
	}
	return out
}

func rate(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

// Observation kinds: what an event of a timeline means for the support
// metrics.
const (
	ObsFirstResponse  = "first_response"  // Tier: filed in; Elapsed: since filing
	ObsMoved          = "moved"           // Tier: left, To: entered; Up: an escalation; Auto: by the SLA clock
	ObsSLABreach      = "sla_breach"      // Tier: whose resolution limit passed
	ObsResponseBreach = "response_breach" // Tier: whose response limit passed
	ObsResolved       = "resolved"        // Tier: resolved in; Elapsed: since filing; FirstContact
	ObsReopened       = "reopened"
	ObsSurvey         = "survey" // Tier: resolved in (or current); Score 1-5
)

// Observation is what one event of a ticket's timeline means for the
// support metrics.
type Observation struct {
	Event   store.TicketEvent
	Kind    string
	Tier    int
	To      int
	Up      bool
	Auto    bool
	Elapsed time.Duration
	// FirstContact: on the ticket's first resolution, it is resolved in
	// the tier it was filed in, never escalated nor reopened so far. A
	// later reopening takes it back (ComputeMetrics does so).
	FirstContact bool
	Score        int
}

// Observe reads one ticket's timeline, in order, the way the support
// metrics do: the first technician response (a technician's message or a
// fix run), the first resolution, tier moves, breaches, survey answers.
// The hub's Prometheus metrics observe events with it as they are stored,
// so both agree on what counts. A timeline that does not start with its
// filing has nothing to observe.
func Observe(tl []store.TicketEvent) []Observation {
	if len(tl) == 0 {
		return nil
	}
	f, ok := tl[0].Data.(ticketevent.Filed)
	if !ok {
		return nil
	}
	var out []Observation
	filed := tl[0].Time
	filedTier := max(f.Tier, 1)
	cur := filedTier
	escalated, reopened, responded, resolved := false, false, false, false
	resolvedTier := 0
	for _, e := range tl {
		o := Observation{Event: e, Tier: cur}
		switch d := e.Data.(type) {
		case ticketevent.Escalated:
			o.Kind, o.To, o.Up, o.Auto = ObsMoved, d.To, d.To > cur, d.Auto
			escalated = escalated || o.Up
			cur = d.To
		case ticketevent.SLABreach:
			o.Kind = ObsSLABreach
		case ticketevent.ResponseBreach:
			o.Kind = ObsResponseBreach
		case ticketevent.Run, ticketevent.Message:
			if m, ok := d.(ticketevent.Message); responded || (ok && m.From != FromTechnician) {
				continue
			}
			responded = true
			o.Kind, o.Tier, o.Elapsed = ObsFirstResponse, filedTier, max(e.Time.Sub(filed), 0)
		case ticketevent.Resolved:
			if resolved {
				continue
			}
			resolved, resolvedTier = true, cur
			o.Kind, o.Elapsed = ObsResolved, max(e.Time.Sub(filed), 0)
			o.FirstContact = !escalated && !reopened && cur == filedTier
		case ticketevent.Reopened:
			reopened = true
			o.Kind = ObsReopened
		case ticketevent.Survey:
			if resolvedTier != 0 {
				o.Tier = resolvedTier
			}
			o.Kind, o.Score = ObsSurvey, d.Score
		default:
			continue
		}
		out = append(out, o)
	}
	return out
}

// Help session outcomes.
const (
	SessionTicket    = "ticket"    // ended with a ticket filed
	SessionRecovered = "recovered" // no ticket, and every check failing at the start recovered (store.Deflected)
	SessionNoTicket  = "no_ticket" // no ticket, and nothing confirms the problem went
)

// SessionOutcome is how a Get help session ended, as the store's
// HelpSessionCounts counts it for the support metrics: recovered needs the
// device's health checks to confirm it, so a session with nothing failing
// has not recovered anything. Whether a recovered session deflected the
// problem is known only when its window has passed (SelfHelpMetrics).
func SessionOutcome(h wire.HelpSession) string {
	switch {
	case h.Ticket:
		return SessionTicket
	case store.Deflected(h.Failing, h.Recovered):
		return SessionRecovered
	default:
		return SessionNoTicket
	}
}

// FiledAs is the channel and type a filed event gives its ticket; events
// from before channels and types are a device's incidents.
func FiledAs(f ticketevent.Filed) (channel, typ string) {
	return cmp.Or(f.Channel, store.IntakeAgent), cmp.Or(f.Type, store.TypeIncident)
}
