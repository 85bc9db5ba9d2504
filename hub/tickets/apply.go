package tickets

import (
	"fmt"
	"slices"
	"time"

	"github.com/tierline/tierline/hub/store"
)

// Event kinds of a ticket's timeline, and the data each carries.
const (
	EvFiled         = "filed"                 // tier, impact, urgency, category, queue, rule
	EvSelfHelp      = "self_help"             // articles, runs: what the user tried before filing
	EvAssigned      = "assigned"              // to ("" unassigns)
	EvCollaborator  = store.EventCollaborator // user
	EvMessage       = "message"               // from (technician|user), text
	EvWaiting       = "waiting"               // state (waiting_user|waiting_vendor), reason
	EvResumed       = "resumed"               // (none)
	EvEscalated     = "escalated"             // from, to, auto, reason, note
	EvSLAWarning    = "sla_warning"           // tier, pct, limit
	EvSLABreach     = "sla_breach"            // tier, limit
	EvRun           = "run"                   // run, fix, outcome
	EvResolved      = "resolved"              // resolution
	EvReopened      = "reopened"              // reason
	EvClosed        = "closed"                // (none)
	EvSurvey        = "survey"                // score 1-5, comment
	EvPriority      = "priority"              // impact, urgency
	EvProblem       = "problem"               // problem ("" unlinks)
	EvVendorSent    = "vendor_sent"           // vendor, name, channels, target, due (RFC 3339), note
	EvVendorRef     = "vendor_ref"            // ref
	EvVendorOverdue = "vendor_overdue"        // vendor, due, next (RFC 3339): one reminder per period
	EvLink          = store.EventLink         // other, kind
	// EvVendorDelivered and EvVendorFailed record each attempt to reach a
	// vendor (delivery, kind, channel, attempt; failed: error, retry_at).
	// They change no state: the timeline shows who was reached, or what
	// failed and when it is tried again.
	EvVendorDelivered = "vendor_delivered"
	EvVendorFailed    = "vendor_delivery_failed"
	// EvResponseBreach: nobody responded within the tier's response limit
	// (tier, limit). It is recorded and counted; it does not escalate:
	// the tier's resolution limit does that.
	EvResponseBreach = "response_breach"
	// EvKBDraft: a knowledge base draft was written from the ticket
	// (article, title).
	EvKBDraft = "kb_draft"
)

// Message senders.
const (
	FromTechnician = "technician"
	FromUser       = "user"
)

// ActorSLA is the actor of events the SLA clock makes.
const ActorSLA = "sla"

// WaitingReasons are the typed reasons a ticket may wait with, per state.
var WaitingReasons = map[string][]string{
	store.TicketWaitingUser:   {"user_info", "user_confirmation", "user_availability"},
	store.TicketWaitingVendor: {"vendor_response", "vendor_part", "vendor_fix"},
}

// active reports whether a ticket is being worked: its clock runs.
func active(state string) bool {
	return state == store.TicketNew || state == store.TicketOpen
}

// Apply projects one event onto a ticket: its state, tier, assignee, SLA
// clock and NextCheckAt. It is the only place where events become state;
// it accepts any event (an unknown kind only counts) so a timeline always
// replays.
func Apply(t *store.Ticket, e store.TicketEvent, p Policy) {
	at := e.Time
	t.Events++
	if at.After(t.UpdatedAt) {
		t.UpdatedAt = at
	}
	switch e.Kind {
	case EvFiled:
		if t.CreatedAt.IsZero() {
			t.CreatedAt = at
		}
		t.State, t.WaitingReason = store.TicketNew, ""
		t.Tier = e.Int("tier")
		if t.Tier == 0 {
			t.Tier = 1
		}
		t.Impact, t.Urgency = orDefault(e.Int("impact"), DefaultImpact), orDefault(e.Int("urgency"), DefaultUrgency)
		t.Priority = Priority(t.Impact, t.Urgency)
		resetClock(t, at)
	case EvAssigned:
		t.Assignee = e.Str("to")
		if t.Assignee != "" {
			tierResponded(t, at)
		}
		switch {
		case t.State == store.TicketNew && t.Assignee != "":
			t.State = store.TicketOpen
		case t.State == store.TicketOpen && t.Assignee == "":
			t.State = store.TicketNew
		}
	case EvCollaborator:
		if u := e.Str("user"); u != "" && !slices.Contains(t.Collaborators, u) {
			t.Collaborators = append(t.Collaborators, u)
		}
	case EvMessage:
		switch e.Str("from") {
		case FromTechnician:
			firstResponse(t, at)
			tierResponded(t, at)
			vendorAnswered(t, at)
		case FromUser:
			if t.State == store.TicketWaitingUser {
				resume(t, at, p)
			}
		}
	case EvWaiting:
		if active(t.State) {
			pause(t, at, p)
			t.State, t.WaitingReason = e.Str("state"), e.Str("reason")
		}
	case EvResumed:
		if t.State == store.TicketWaitingUser || t.State == store.TicketWaitingVendor {
			resume(t, at, p)
			t.VendorDue = nil
		}
	case EvEscalated:
		t.Tier = e.Int("to")
		t.Escalations++
		t.Assignee = ""
		t.State, t.WaitingReason = store.TicketNew, ""
		resetClock(t, at)
	case EvSLAWarning:
		t.WarnedPct = max(t.WarnedPct, e.Int("pct"))
	case EvSLABreach:
		t.Breaches++
		t.WarnedPct = 100
	case EvRun:
		firstResponse(t, at)
		tierResponded(t, at)
	case EvResolved:
		if t.ClockRunning {
			pause(t, at, p)
		}
		t.State, t.WaitingReason = store.TicketResolved, ""
		t.Resolution = e.Str("resolution")
		t.ResolvedAt = &at
	case EvReopened:
		t.ResolvedAt, t.Resolution, t.ClosedAt = nil, "", nil
		t.State = store.TicketNew
		if t.Assignee != "" {
			t.State = store.TicketOpen
		}
		t.ClockRunning, t.ClockSince = true, &at
	case EvClosed:
		if t.ClockRunning {
			pause(t, at, p)
		}
		t.State, t.WaitingReason = store.TicketClosed, ""
		t.ClosedAt = &at
	case EvSurvey:
		score := clamp(e.Int("score"), 1, 5)
		t.CSAT = &score
	case EvPriority:
		t.Impact, t.Urgency = clamp(e.Int("impact"), 1, 3), clamp(e.Int("urgency"), 1, 3)
		t.Priority = Priority(t.Impact, t.Urgency)
	case EvProblem:
		t.ProblemID = e.Str("problem")
	case EvVendorSent:
		t.VendorID, t.VendorRef = e.Str("vendor"), ""
		t.VendorTarget, _ = time.ParseDuration(e.Str("target"))
		t.VendorDue = parseTime(e.Str("due"))
		if active(t.State) {
			pause(t, at, p)
		}
		t.State, t.WaitingReason = store.TicketWaitingVendor, "vendor_response"
	case EvVendorRef:
		t.VendorRef = e.Str("ref")
		vendorAnswered(t, at)
	case EvVendorOverdue:
		// The reminder is on the timeline; the next period, if the
		// vendor stays silent, ends at next.
		t.VendorDue = parseTime(e.Str("next"))
	case EvResponseBreach:
		t.ResponseBreached = true
		t.ResponseBreaches++
	}
	t.NextCheckAt = nextCheck(t, p)
}

func orDefault(v, d int) int {
	if v == 0 {
		return d
	}
	return clamp(v, 1, 3)
}

func parseTime(s string) *time.Time {
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil
	}
	v = v.UTC()
	return &v
}

// tierResponded stops the current tier's response clock.
func tierResponded(t *store.Ticket, at time.Time) {
	if t.TierRespondedAt == nil {
		t.TierRespondedAt = &at
	}
}

// vendorAnswered starts a new vendor period: the vendor (or a technician
// on its behalf) answered, so the next reminder is a full target away.
func vendorAnswered(t *store.Ticket, at time.Time) {
	if t.State == store.TicketWaitingVendor && t.VendorTarget > 0 {
		due := at.Add(t.VendorTarget)
		t.VendorDue = &due
	}
}

func firstResponse(t *store.Ticket, at time.Time) {
	if t.FirstResponseAt == nil {
		t.FirstResponseAt = &at
	}
}

// resetClock starts a fresh clock for the tier the ticket just entered.
func resetClock(t *store.Ticket, at time.Time) {
	t.TierEnteredAt = at
	t.ClockUsed, t.WarnedPct = 0, 0
	t.ClockRunning, t.ClockSince = true, &at
	t.TierRespondedAt, t.ResponseBreached = nil, false
}

func pause(t *store.Ticket, at time.Time, p Policy) {
	if t.ClockRunning && t.ClockSince != nil {
		t.ClockUsed += p.Elapsed(*t.ClockSince, at)
	}
	t.ClockRunning, t.ClockSince = false, nil
}

func resume(t *store.Ticket, at time.Time, p Policy) {
	t.State, t.WaitingReason = store.TicketNew, ""
	if t.Assignee != "" {
		t.State = store.TicketOpen
	}
	if !t.ClockRunning {
		t.ClockRunning, t.ClockSince = true, &at
	}
}

// ClockUsed is how much of the current tier's limit a ticket has used by
// now.
func ClockUsed(t *store.Ticket, p Policy, now time.Time) time.Duration {
	used := t.ClockUsed
	if t.ClockRunning && t.ClockSince != nil {
		used += p.Elapsed(*t.ClockSince, now)
	}
	return used
}

// thresholds are the shares of a tier's limit at which the clock speaks.
var thresholds = []int{50, 75, 100}

// dueAt returns when the running clock reaches pct of the tier's limit.
func dueAt(t *store.Ticket, p Policy, pct int) time.Time {
	left := p.Limit(t.Tier)*time.Duration(pct)/100 - t.ClockUsed
	return p.Add(*t.ClockSince, left)
}

// thresholdDue is when the running clock reaches the next threshold of
// the tier's limit.
func thresholdDue(t *store.Ticket, p Policy) (time.Time, bool) {
	if !t.ClockRunning || t.ClockSince == nil || p.Limit(t.Tier) <= 0 {
		return time.Time{}, false
	}
	for _, pct := range thresholds {
		if pct > t.WarnedPct {
			return dueAt(t, p, pct), true
		}
	}
	return time.Time{}, false
}

// responseDue is when the running clock reaches the tier's response
// limit, if nobody has responded in the tier and it has not passed yet.
func responseDue(t *store.Ticket, p Policy) (time.Time, bool) {
	limit := p.ResponseLimit(t.Tier)
	if limit <= 0 || t.TierRespondedAt != nil || t.ResponseBreached || !t.ClockRunning || t.ClockSince == nil {
		return time.Time{}, false
	}
	return p.Add(*t.ClockSince, limit-t.ClockUsed), true
}

// nextCheck is when the SLA loop must next look at the ticket: the next
// threshold of its running clock, or its vendor due date.
func nextCheck(t *store.Ticket, p Policy) *time.Time {
	var next *time.Time
	if t.ClockRunning && t.ClockSince != nil && p.Limit(t.Tier) > 0 {
		for _, pct := range thresholds {
			if pct > t.WarnedPct {
				at := dueAt(t, p, pct)
				next = &at
				break
			}
		}
	}
	if at, ok := responseDue(t, p); ok && (next == nil || at.Before(*next)) {
		next = &at
	}
	if t.State == store.TicketWaitingVendor && t.VendorDue != nil && (next == nil || t.VendorDue.Before(*next)) {
		due := *t.VendorDue
		next = &due
	}
	return next
}

// Triggers returns the time-driven events due on a ticket by now: SLA
// warnings at 50% and 75% of its tier's limit, at 100% a breach and an
// automatic escalation to the next tier (at the top tier a breach only),
// and a vendor reminder. Each is stamped with the instant it became due,
// but never before the ticket's last event, so the timeline stays in time
// order. A ticket left alone for long (the hub was down) gets every event
// it missed, through as many tiers as the time covers.
func Triggers(t *store.Ticket, p Policy, now time.Time) []store.TicketEvent {
	cp := *t
	cp.Collaborators = slices.Clone(t.Collaborators)
	var out []store.TicketEvent
	emit := func(at time.Time, kind string, data map[string]any) {
		at = later(at, cp.UpdatedAt)
		e := store.TicketEvent{TicketID: t.ID, Time: at, Actor: ActorSLA, Kind: kind, Data: data}
		Apply(&cp, e, p)
		out = append(out, e)
	}
	for guard := 0; guard < 64; guard++ {
		// The response limit comes first when it is due no later than
		// the next threshold of the tier's limit.
		if rdue, ok := responseDue(&cp, p); ok && !rdue.After(now) {
			if tdue, ok := thresholdDue(&cp, p); !ok || !tdue.Before(rdue) {
				emit(rdue, EvResponseBreach, map[string]any{"tier": cp.Tier, "limit": p.ResponseLimit(cp.Tier).String()})
				continue
			}
		}
		limit := p.Limit(cp.Tier)
		if !cp.ClockRunning || cp.ClockSince == nil || limit <= 0 || cp.WarnedPct >= 100 {
			break
		}
		pct := 0
		for _, th := range thresholds {
			if th > cp.WarnedPct {
				pct = th
				break
			}
		}
		due := dueAt(&cp, p, pct)
		if due.After(now) {
			break
		}
		if pct < 100 {
			emit(due, EvSLAWarning, map[string]any{"tier": cp.Tier, "pct": pct, "limit": limit.String()})
			continue
		}
		emit(due, EvSLABreach, map[string]any{"tier": cp.Tier, "limit": limit.String()})
		if cp.Tier < TopTier {
			emit(due, EvEscalated, map[string]any{"from": cp.Tier, "to": cp.Tier + 1, "auto": true,
				"reason": fmt.Sprintf("tier %d time limit of %s passed", cp.Tier, limit)})
		}
	}
	if cp.State == store.TicketWaitingVendor && cp.VendorDue != nil && !cp.VendorDue.After(now) {
		// One reminder for the period that passed; periods missed while
		// the hub was down are not each reminded, the next one is whole.
		due := *cp.VendorDue
		data := map[string]any{"vendor": cp.VendorID, "due": due.Format(time.RFC3339Nano)}
		if cp.VendorTarget > 0 {
			next := due.Add(cp.VendorTarget)
			for !next.After(now) {
				next = next.Add(cp.VendorTarget)
			}
			data["next"] = next.Format(time.RFC3339Nano)
		}
		emit(due, EvVendorOverdue, data)
	}
	return out
}

// Replay computes a ticket's state from its timeline alone.
func Replay(events []store.TicketEvent, p Policy) store.TicketState {
	var t store.Ticket
	for _, e := range events {
		Apply(&t, e, p)
	}
	return t.TicketState
}

// SLA is where a ticket stands against its tier's limit.
type SLA struct {
	Tier    int           `json:"tier"`
	Limit   time.Duration `json:"limit_ns"`
	Used    time.Duration `json:"used_ns"`
	Pct     int           `json:"pct"`
	Running bool          `json:"running"`
	// Due is when the limit passes if the clock keeps running.
	Due *time.Time `json:"due,omitempty"`
}

// Status reports a ticket's SLA clock at now.
func Status(t *store.Ticket, p Policy, now time.Time) SLA {
	s := SLA{Tier: t.Tier, Limit: p.Limit(t.Tier), Used: ClockUsed(t, p, now), Running: t.ClockRunning}
	if s.Limit > 0 {
		s.Pct = int(s.Used * 100 / s.Limit)
		if t.ClockRunning && t.ClockSince != nil {
			due := dueAt(t, p, 100)
			s.Due = &due
		}
	}
	return s
}
