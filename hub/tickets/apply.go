package tickets

import (
	"fmt"
	"slices"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/ticketevent"
)

// Event kinds of a ticket's timeline. Each kind's data is a type of
// package ticketevent (EvFiled: ticketevent.Filed, ...), which documents
// its fields.
const (
	EvFiled         = ticketevent.KindFiled
	EvSelfHelp      = ticketevent.KindSelfHelp
	EvAssigned      = ticketevent.KindAssigned
	EvCollaborator  = ticketevent.KindCollaborator
	EvMessage       = ticketevent.KindMessage
	EvWaiting       = ticketevent.KindWaiting
	EvResumed       = ticketevent.KindResumed
	EvEscalated     = ticketevent.KindEscalated
	EvSLAWarning    = ticketevent.KindSLAWarning
	EvSLABreach     = ticketevent.KindSLABreach
	EvRun           = ticketevent.KindRun
	EvResolved      = ticketevent.KindResolved
	EvReopened      = ticketevent.KindReopened
	EvClosed        = ticketevent.KindClosed
	EvSurvey        = ticketevent.KindSurvey
	EvPriority      = ticketevent.KindPriority
	EvProblem       = ticketevent.KindProblem
	EvVendorSent    = ticketevent.KindVendorSent
	EvVendorRef     = ticketevent.KindVendorRef
	EvVendorOverdue = ticketevent.KindVendorOverdue
	EvLink          = ticketevent.KindLink
	// EvVendorDelivered and EvVendorFailed record each attempt to reach a
	// vendor. They change no state: the timeline shows who was reached,
	// or what failed and when it is tried again.
	EvVendorDelivered = ticketevent.KindVendorDelivered
	EvVendorFailed    = ticketevent.KindVendorFailed
	// EvResponseBreach: nobody responded within the tier's response limit.
	// It is recorded and counted; it does not escalate: the tier's
	// resolution limit does that.
	EvResponseBreach = ticketevent.KindResponseBreach
	// EvKBDraft: a knowledge base draft was written from the ticket.
	EvKBDraft = ticketevent.KindKBDraft
)

// Message senders.
const (
	FromTechnician = ticketevent.FromTechnician
	FromUser       = ticketevent.FromUser
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
// it accepts any event (ticketevent.Unknown only counts) so a timeline always
// replays.
func Apply(t *store.Ticket, e store.TicketEvent, p Policy) {
	at := e.Time
	t.Events++
	if at.After(t.UpdatedAt) {
		t.UpdatedAt = at
	}
	switch d := e.Data.(type) {
	case ticketevent.Filed:
		if t.CreatedAt.IsZero() {
			t.CreatedAt = at
		}
		t.State, t.WaitingReason = store.TicketNew, ""
		t.Tier = d.Tier
		if t.Tier == 0 {
			t.Tier = 1
		}
		t.Impact, t.Urgency = orDefault(d.Impact, DefaultImpact), orDefault(d.Urgency, DefaultUrgency)
		t.Priority = Priority(t.Impact, t.Urgency)
		resetClock(t, at)
	case ticketevent.Assigned:
		t.Assignee = d.To
		if t.Assignee != "" {
			tierResponded(t, at)
		}
		switch {
		case t.State == store.TicketNew && t.Assignee != "":
			t.State = store.TicketOpen
		case t.State == store.TicketOpen && t.Assignee == "":
			t.State = store.TicketNew
		}
	case ticketevent.Collaborator:
		if u := d.User; u != "" && !slices.Contains(t.Collaborators, u) {
			t.Collaborators = append(t.Collaborators, u)
		}
	case ticketevent.Message:
		switch d.From {
		case FromTechnician:
			firstResponse(t, at)
			tierResponded(t, at)
			vendorAnswered(t, at)
		case FromUser:
			if t.State == store.TicketWaitingUser {
				resume(t, at, p)
			}
		}
	case ticketevent.Waiting:
		if active(t.State) {
			pause(t, at, p)
			t.State, t.WaitingReason = d.State, d.Reason
		}
	case ticketevent.Resumed:
		if t.State == store.TicketWaitingUser || t.State == store.TicketWaitingVendor {
			resume(t, at, p)
			t.VendorDue = nil
		}
	case ticketevent.Escalated:
		t.Tier = d.To
		t.Escalations++
		t.Assignee = ""
		t.State, t.WaitingReason = store.TicketNew, ""
		resetClock(t, at)
	case ticketevent.SLAWarning:
		t.WarnedPct = max(t.WarnedPct, d.Pct)
	case ticketevent.SLABreach:
		t.Breaches++
		t.WarnedPct = 100
	case ticketevent.Run:
		firstResponse(t, at)
		tierResponded(t, at)
	case ticketevent.Resolved:
		if t.ClockRunning {
			pause(t, at, p)
		}
		t.State, t.WaitingReason = store.TicketResolved, ""
		t.Resolution = d.Resolution
		t.ResolvedAt = &at
	case ticketevent.Reopened:
		t.ResolvedAt, t.Resolution, t.ClosedAt = nil, "", nil
		t.State = store.TicketNew
		if t.Assignee != "" {
			t.State = store.TicketOpen
		}
		t.ClockRunning, t.ClockSince = true, &at
	case ticketevent.Closed:
		if t.ClockRunning {
			pause(t, at, p)
		}
		t.State, t.WaitingReason = store.TicketClosed, ""
		t.ClosedAt = &at
	case ticketevent.Survey:
		score := clamp(d.Score, 1, 5)
		t.CSAT = &score
	case ticketevent.Priority:
		t.Impact, t.Urgency = clamp(d.Impact, 1, 3), clamp(d.Urgency, 1, 3)
		t.Priority = Priority(t.Impact, t.Urgency)
	case ticketevent.Problem:
		t.ProblemID = d.Problem
	case ticketevent.VendorSent:
		t.VendorID, t.VendorRef = d.Vendor, ""
		t.VendorTarget, _ = time.ParseDuration(d.Target)
		t.VendorDue = parseTime(d.Due)
		if active(t.State) {
			pause(t, at, p)
		}
		t.State, t.WaitingReason = store.TicketWaitingVendor, "vendor_response"
	case ticketevent.VendorRef:
		t.VendorRef = d.Ref
		vendorAnswered(t, at)
	case ticketevent.VendorOverdue:
		// The reminder is on the timeline; the next period, if the
		// vendor stays silent, ends at next.
		t.VendorDue = parseTime(d.Next)
	case ticketevent.ResponseBreach:
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
	left := p.Limit(t.Tier, t.Priority)*time.Duration(pct)/100 - t.ClockUsed
	return p.Add(*t.ClockSince, left)
}

// thresholdDue is when the running clock reaches the next threshold of
// the tier's limit.
func thresholdDue(t *store.Ticket, p Policy) (time.Time, bool) {
	if !t.ClockRunning || t.ClockSince == nil || p.Limit(t.Tier, t.Priority) <= 0 {
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
	limit := p.ResponseLimit(t.Tier, t.Priority)
	if limit <= 0 || t.TierRespondedAt != nil || t.ResponseBreached || !t.ClockRunning || t.ClockSince == nil {
		return time.Time{}, false
	}
	return p.Add(*t.ClockSince, limit-t.ClockUsed), true
}

// nextCheck is when the SLA loop must next look at the ticket: the next
// threshold of its running clock, or its vendor due date.
func nextCheck(t *store.Ticket, p Policy) *time.Time {
	var next *time.Time
	if t.ClockRunning && t.ClockSince != nil && p.Limit(t.Tier, t.Priority) > 0 {
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
	emit := func(at time.Time, data ticketevent.Data) {
		at = later(at, cp.UpdatedAt)
		e := store.TicketEvent{TicketID: t.ID, Time: at, Actor: ActorSLA, Data: data}
		Apply(&cp, e, p)
		out = append(out, e)
	}
	for guard := 0; guard < 64; guard++ {
		// The response limit comes first when it is due no later than
		// the next threshold of the tier's limit.
		if rdue, ok := responseDue(&cp, p); ok && !rdue.After(now) {
			if tdue, ok := thresholdDue(&cp, p); !ok || !tdue.Before(rdue) {
				emit(rdue, ticketevent.ResponseBreach{Tier: cp.Tier, Limit: p.ResponseLimit(cp.Tier, cp.Priority).String()})
				continue
			}
		}
		limit := p.Limit(cp.Tier, cp.Priority)
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
			emit(due, ticketevent.SLAWarning{Tier: cp.Tier, Pct: pct, Limit: limit.String()})
			continue
		}
		emit(due, ticketevent.SLABreach{Tier: cp.Tier, Limit: limit.String()})
		if cp.Tier < TopTier {
			emit(due, ticketevent.Escalated{From: cp.Tier, To: cp.Tier + 1, Auto: true,
				Reason: fmt.Sprintf("tier %d time limit of %s passed", cp.Tier, limit)})
		}
	}
	if cp.State == store.TicketWaitingVendor && cp.VendorDue != nil && !cp.VendorDue.After(now) {
		// One reminder for the period that passed; periods missed while
		// the hub was down are not each reminded, the next one is whole.
		due := *cp.VendorDue
		data := ticketevent.VendorOverdue{Vendor: cp.VendorID, Due: due.Format(time.RFC3339Nano)}
		if cp.VendorTarget > 0 {
			next := due.Add(cp.VendorTarget)
			for !next.After(now) {
				next = next.Add(cp.VendorTarget)
			}
			data.Next = next.Format(time.RFC3339Nano)
		}
		emit(due, data)
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
	s := SLA{Tier: t.Tier, Limit: p.Limit(t.Tier, t.Priority), Used: ClockUsed(t, p, now), Running: t.ClockRunning}
	if s.Limit > 0 {
		s.Pct = int(s.Used * 100 / s.Limit)
		if t.ClockRunning && t.ClockSince != nil {
			due := dueAt(t, p, 100)
			s.Due = &due
		}
	}
	return s
}
