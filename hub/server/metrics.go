package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/ticketevent"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// metricsHandler serves reg's metrics. A collector that cannot read the
// store in time is left out of the answer, not the whole answer with it;
// promhttp_metric_handler_errors_total counts those (a log line per
// family flooded the log in storms).
func metricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, Registry: reg})
}

// fleetCollector reports fleet and queue gauges from the store at scrape
// time.
type fleetCollector struct {
	st      *store.Store
	devices *prometheus.Desc
	now     func() time.Time
}

func newFleetCollector(st *store.Store) *fleetCollector {
	return &fleetCollector{st: st, now: time.Now, devices: prometheus.NewDesc("tierline_devices",
		"Enrolled (not revoked) devices by presence.", []string{"state"}, nil)}
}

func (c *fleetCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.devices
	ch <- ticketsDesc
	ch <- backlogOldestDesc
	ch <- checksDesc
}

var checksDesc = prometheus.NewDesc("tierline_health_checks",
	"Devices (not revoked) where a health check is failing or warning, by check and status; every known check from the start.",
	[]string{"check", "status"}, nil)

var ticketsDesc = prometheus.NewDesc("tierline_tickets", "Tickets by tier and state.", []string{"tier", "state"}, nil)

var backlogOldestDesc = prometheus.NewDesc("tierline_ticket_backlog_oldest_seconds",
	"Age of the oldest ticket of the tier still waiting for resolution (new, open, waiting); 0 when there is none.",
	[]string{"tier"}, nil)

func (c *fleetCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	total, online, err := c.st.CountDevices(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.devices, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.devices, prometheus.GaugeValue, float64(online), "online")
	ch <- prometheus.MustNewConstMetric(c.devices, prometheus.GaugeValue, float64(total-online), "offline")
	counts, err := c.st.CountTickets(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(ticketsDesc, err)
		return
	}
	// Every tier and state, 0 when empty: a queue that empties must read
	// 0, not vanish.
	if counts == nil {
		counts = map[int]map[string]int{}
	}
	for tier := 1; tier <= tickets.TopTier; tier++ {
		if counts[tier] == nil {
			counts[tier] = map[string]int{}
		}
		for _, state := range store.TicketStates {
			if _, ok := counts[tier][state]; !ok {
				counts[tier][state] = 0
			}
		}
	}
	for tier, states := range counts {
		for state, n := range states {
			ch <- prometheus.MustNewConstMetric(ticketsDesc, prometheus.GaugeValue, float64(n), strconv.Itoa(tier), state)
		}
	}
	c.collectBacklog(ctx, ch, counts)
	c.collectChecks(ctx, ch)
}

// collectChecks reports, per health check, the devices where it fails or
// warns: every check the agents know at 0 when none, and the ones admins
// declared when they fail somewhere.
func (c *fleetCollector) collectChecks(ctx context.Context, ch chan<- prometheus.Metric) {
	failing, err := c.st.FailingChecks(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(checksDesc, err)
		return
	}
	counts := map[string]store.FailingCheck{}
	for _, name := range diag.CheckNames {
		counts[name] = store.FailingCheck{Name: name}
	}
	for _, f := range failing {
		counts[f.Name] = f
	}
	for name, f := range counts {
		ch <- prometheus.MustNewConstMetric(checksDesc, prometheus.GaugeValue, float64(f.Failing), name, "failing")
		ch <- prometheus.MustNewConstMetric(checksDesc, prometheus.GaugeValue, float64(f.Warning), name, "warning")
	}
}

// collectBacklog reports the age of each tier's oldest waiting ticket. The
// counts say which (tier, state) pairs hold tickets; each of those is one
// row read through the (tier, state, created_at) index.
func (c *fleetCollector) collectBacklog(ctx context.Context, ch chan<- prometheus.Metric, counts map[int]map[string]int) {
	now := c.now()
	tiers := map[int]float64{}
	for n := 1; n <= tickets.TopTier; n++ {
		tiers[n] = 0
	}
	for tier, states := range counts {
		if _, ok := tiers[tier]; !ok {
			tiers[tier] = 0
		}
		for _, state := range tickets.BacklogStates {
			if states[state] == 0 {
				continue
			}
			oldest, err := c.st.ListTickets(ctx, store.TicketFilter{Tier: tier, States: []string{state}, Limit: 1})
			if err != nil {
				ch <- prometheus.NewInvalidMetric(backlogOldestDesc, fmt.Errorf("oldest tier %d %s ticket: %w", tier, state, err))
				return
			}
			if len(oldest) == 1 {
				tiers[tier] = max(tiers[tier], now.Sub(oldest[0].CreatedAt).Seconds())
			}
		}
	}
	for tier, age := range tiers {
		ch <- prometheus.MustNewConstMetric(backlogOldestDesc, prometheus.GaugeValue, age, strconv.Itoa(tier))
	}
}

// supportMetrics are the support metrics counted as ticket events are
// stored and Get help sessions reported. They read events the way
// tickets.ComputeMetrics does (tickets.Observe), so they agree with GET
// /api/v1/metrics/support; being counters, they start again from zero
// when the hub restarts, while the API reads the event log.
type supportMetrics struct {
	events        *prometheus.CounterVec
	firstResponse *prometheus.HistogramVec
	resolve       *prometheus.HistogramVec
	resolved      *prometheus.CounterVec
	escalations   *prometheus.CounterVec
	breaches      *prometheus.CounterVec
	sessions      *prometheus.CounterVec
	csat          *prometheus.CounterVec
	filed         *prometheus.CounterVec

	// seen remembers recent help session ids: an agent that did not get
	// the acknowledgement sends a session again, and the store keeps it
	// once, so it counts once.
	mu       sync.Mutex
	seen     map[string]bool
	seenRing []string
	seenNext int
}

// sessionsRemembered bounds the help session ids kept to count each once.
const sessionsRemembered = 4096

// changesDropped counts ticket changes a subscriber of the changes bus
// lost to its full queue ("device" counts updates a device's own queue
// refused).
var changesDropped = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tierline_ticket_changes_dropped_total",
	Help: "Ticket changes a subscriber (device-notifier, console, support-metrics, assigner) dropped because its queue was full."},
	[]string{"subscriber"})

// ticketEvents is the hub's support metrics, registered with its other
// metrics at start.
var ticketEvents = newSupportMetrics()

func newSupportMetrics() *supportMetrics {
	tier := []string{"tier"}
	m := &supportMetrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tierline_ticket_events_total",
			Help: "Ticket events stored by this hub, by kind (escalated, sla_breach, resolved, ...)."}, []string{"kind"}),
		firstResponse: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tierline_ticket_first_response_seconds",
			Help:    "Time from filing to a technician's first response (a message or a fix run), by the tier the ticket was filed in.",
			Buckets: []float64{30, 60, 120, 300, 600, 900, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600, 24 * 3600, 72 * 3600}}, tier),
		resolve: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tierline_ticket_resolve_seconds",
			Help:    "Time from filing to a ticket's first resolution, by the tier it was resolved in.",
			Buckets: []float64{300, 900, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600, 24 * 3600, 48 * 3600, 96 * 3600, 7 * 24 * 3600, 14 * 24 * 3600}}, tier),
		resolved: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tierline_tickets_resolved_total",
			Help: "First resolutions of tickets, by the tier resolved in; first_contact=\"true\" when resolved in the tier filed in, never escalated nor reopened."},
			[]string{"tier", "first_contact"}),
		escalations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tierline_ticket_escalations_total",
			Help: "Tickets moved up a tier, by the tier they left; reason=\"sla\" when the tier's time limit passed, \"manual\" when a technician escalated."},
			[]string{"from_tier", "reason"}),
		breaches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tierline_sla_breaches_total",
			Help: "SLA limits passed, by tier and clock: response (nobody responded in time) or resolution (the tier's time limit)."},
			[]string{"tier", "clock"}),
		sessions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tierline_help_sessions_total",
			Help: "Get help sessions reported by devices, by outcome at their end: ticket, recovered (no ticket and every failing check recovered; the support metrics count it deflected once the device has not come back within the deflection window) or no_ticket."},
			[]string{"outcome"}),
		csat: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tierline_csat_responses_total",
			Help: "Satisfaction survey answers, by score (1-5)."}, []string{"score"}),
		filed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tierline_tickets_filed_total",
			Help: "Tickets filed, by channel (agent: a device's help request; phone, walk-in, chat, email, web: filed by a technician) and type (incident, request)."},
			[]string{"channel", "type"}),
		seen:     map[string]bool{},
		seenRing: make([]string, sessionsRemembered),
	}
	// Series for the label values known from the start, at zero, so that
	// dashboards and alerts see them before the first event.
	for _, o := range []string{tickets.SessionTicket, tickets.SessionRecovered, tickets.SessionNoTicket} {
		m.sessions.WithLabelValues(o)
	}
	for _, k := range ticketevent.Kinds() {
		m.events.WithLabelValues(k)
	}
	for t := 1; t <= tickets.TopTier; t++ {
		tier := strconv.Itoa(t)
		m.firstResponse.WithLabelValues(tier)
		m.resolve.WithLabelValues(tier)
		for _, fc := range []string{"true", "false"} {
			m.resolved.WithLabelValues(tier, fc)
		}
		if t < tickets.TopTier {
			for _, reason := range []string{"sla", "manual"} {
				m.escalations.WithLabelValues(tier, reason)
			}
		}
		for _, clock := range []string{"response", "resolution"} {
			m.breaches.WithLabelValues(tier, clock)
		}
	}
	for _, ch := range store.IntakeChannels {
		for _, typ := range store.TicketTypes {
			m.filed.WithLabelValues(ch, typ)
		}
	}
	for s := 1; s <= 5; s++ {
		m.csat.WithLabelValues(strconv.Itoa(s))
	}
	return m
}

func (m *supportMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.events, m.firstResponse, m.resolve, m.resolved, m.escalations, m.breaches, m.sessions, m.csat, m.filed}
}

func (m *supportMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors() {
		c.Describe(ch)
	}
}

func (m *supportMetrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.collectors() {
		c.Collect(ch)
	}
}

// timelines reads a ticket's timeline.
type timelines interface {
	TicketEvents(ctx context.Context, id string) ([]store.TicketEvent, error)
}

// observeChange counts a ticket change. It is a subscriber of the ticket
// changes bus: the timeline read it may need happens off the request path.
func (m *supportMetrics) observeChange(st timelines, log *slog.Logger) func(tickets.Change) {
	return func(c tickets.Change) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := m.observeTicket(ctx, st, c.Ticket, c.Events); err != nil {
			log.Warn("ticket events not counted in the support metrics", "ticket", c.Ticket.Number, "err", err)
		}
	}
}

// observeTicket counts events just stored on a ticket. What a response or
// a resolution means depends on what came before it (the first one counts),
// so for those the ticket's timeline is read and the stored events are
// found in it by id.
func (m *supportMetrics) observeTicket(ctx context.Context, st timelines, t store.Ticket, events []store.TicketEvent) error {
	stored := map[int64]bool{}
	needTimeline := false
	for _, e := range events {
		m.events.WithLabelValues(e.Kind()).Inc()
		switch d := e.Data.(type) {
		case ticketevent.Filed:
			m.filed.WithLabelValues(tickets.FiledAs(d)).Inc()
		case ticketevent.Message:
			needTimeline = needTimeline || d.From == ticketevent.FromTechnician
		case ticketevent.Run, ticketevent.Resolved, ticketevent.Escalated, ticketevent.SLABreach, ticketevent.ResponseBreach, ticketevent.Survey:
			needTimeline = true
		}
		if e.ID != 0 {
			stored[e.ID] = true
		}
	}
	if !needTimeline {
		return nil
	}
	if len(stored) < len(events) {
		return fmt.Errorf("ticket %s: events without ids", t.ID)
	}
	tl, err := st.TicketEvents(ctx, t.ID)
	if err != nil {
		return err
	}
	for _, o := range tickets.Observe(tl) {
		if !stored[o.Event.ID] {
			continue
		}
		tier := strconv.Itoa(o.Tier)
		switch o.Kind {
		case tickets.ObsFirstResponse:
			m.firstResponse.WithLabelValues(tier).Observe(o.Elapsed.Seconds())
		case tickets.ObsResolved:
			m.resolve.WithLabelValues(tier).Observe(o.Elapsed.Seconds())
			m.resolved.WithLabelValues(tier, strconv.FormatBool(o.FirstContact)).Inc()
		case tickets.ObsMoved:
			if o.Up {
				reason := "manual"
				if o.Auto {
					reason = "sla"
				}
				m.escalations.WithLabelValues(tier, reason).Inc()
			}
		case tickets.ObsSLABreach:
			m.breaches.WithLabelValues(tier, "resolution").Inc()
		case tickets.ObsResponseBreach:
			m.breaches.WithLabelValues(tier, "response").Inc()
		case tickets.ObsSurvey:
			m.csat.WithLabelValues(strconv.Itoa(min(max(o.Score, 1), 5))).Inc()
		}
	}
	return nil
}

// observeSession counts a Get help session once per id.
func (m *supportMetrics) observeSession(h wire.HelpSession) {
	m.mu.Lock()
	if m.seen[h.SessionID] {
		m.mu.Unlock()
		return
	}
	delete(m.seen, m.seenRing[m.seenNext])
	m.seenRing[m.seenNext] = h.SessionID
	m.seenNext = (m.seenNext + 1) % len(m.seenRing)
	m.seen[h.SessionID] = true
	m.mu.Unlock()
	m.sessions.WithLabelValues(tickets.SessionOutcome(h)).Inc()
}
