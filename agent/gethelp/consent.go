package gethelp

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/tierline/tierline/agent/fixes"
	"github.com/tierline/tierline/agent/localipc"
)

// ConsentBroker holds fixes waiting for the user's consent until the tray
// or the Get help page answers (consent_answer) or the wait ends. A fix on
// a ticket is the business of the user who filed it: only that user (or
// the agent's own user) sees the question and may answer it, and it is
// asked only while that user's tray or page is polling. A fix on no
// ticket, or on a ticket whose filer is unknown, is for any local user.
type ConsentBroker struct {
	// wait bounds how long a fix waits for the user.
	wait time.Duration
	// present is how recently a tray or page must have asked the agent
	// for its status for the user to count as reachable.
	present time.Duration
	now     func() time.Time
	// owner names the local user who filed a ticket, "" if unknown.
	owner func(ticketID string) string

	mu       sync.Mutex
	lastSeen time.Time
	seenBy   map[string]time.Time // by local user name
	waiting  map[string]*consentWait
}

type consentWait struct {
	item   localipc.ConsentItem
	owner  string // "" for any local user
	answer chan bool
}

// NewConsentBroker makes a broker whose questions wait up to wait for the
// user's answer.
func NewConsentBroker(wait time.Duration) *ConsentBroker {
	return &ConsentBroker{wait: wait, present: 30 * time.Second, now: time.Now, owner: func(string) string { return "" },
		seenBy: map[string]time.Time{}, waiting: map[string]*consentWait{}}
}

// SetOwner tells the broker who filed each ticket (Desk.Owner). Call it
// before the fixes runner starts, so no run asks without it.
func (b *ConsentBroker) SetOwner(owner func(ticketID string) string) { b.owner = owner }

// Seen records that who's tray or page is polling.
func (b *ConsentBroker) Seen(who localipc.Caller) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	b.lastSeen = now
	if who.User != "" {
		if len(b.seenBy) > 1000 {
			clear(b.seenBy)
		}
		b.seenBy[who.User] = now
	}
}

// Ask is the fixes runner's ConsentFunc.
func (b *ConsentBroker) Ask(ctx context.Context, req fixes.ConsentRequest) (bool, error) {
	owner := ""
	if req.Ticket != "" {
		owner = b.owner(req.Ticket)
	}
	b.mu.Lock()
	last := b.lastSeen
	if owner != "" {
		last = b.seenBy[owner]
	}
	if last.IsZero() || b.now().Sub(last) > b.present {
		b.mu.Unlock()
		if owner != "" {
			return false, fmt.Errorf("%s, who filed the ticket, could not be asked (their Tierline tray is not running)", owner)
		}
		return false, errors.New("nobody at the device could be asked (the Tierline tray is not running in any session)")
	}
	who := req.RequestedBy
	if who == "" {
		who = "a technician"
	}
	w := &consentWait{answer: make(chan bool, 1), owner: owner, item: localipc.ConsentItem{RunID: req.RunID, Fix: req.Fix, Title: req.Title,
		Technician: who, Reason: req.UserText, Target: req.Target, Ticket: req.Ticket, Disruptive: req.Disruptive, Expires: b.now().Add(b.wait).UTC()}}
	b.waiting[req.RunID] = w
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.waiting, req.RunID)
		b.mu.Unlock()
	}()
	t := time.NewTimer(b.wait)
	defer t.Stop()
	select {
	case ok := <-w.answer:
		return ok, nil
	case <-t.C:
		return false, fmt.Errorf("the user did not answer within %s, so it was treated as declined", b.wait)
	case <-ctx.Done():
		return false, errors.New("the agent stopped while waiting for the user's answer")
	}
}

func (w *consentWait) isFor(who localipc.Caller) bool {
	return w.owner == "" || who.Privileged || w.owner == who.User
}

// Pending lists the questions waiting for who, soonest to expire first.
func (b *ConsentBroker) Pending(who localipc.Caller) []localipc.ConsentItem {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]localipc.ConsentItem, 0, len(b.waiting))
	for _, w := range b.waiting {
		if w.isFor(who) {
			out = append(out, w.item)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Expires.Before(out[j].Expires) })
	return out
}

// Answer gives who's answer to the fix waiting with runID.
func (b *ConsentBroker) Answer(runID string, allow bool, who localipc.Caller) error {
	b.mu.Lock()
	w := b.waiting[runID]
	b.mu.Unlock()
	if w == nil {
		return &localipc.Error{Code: localipc.CodeFailed,
			Message: fmt.Sprintf("no fix is waiting for consent with run id %q; it may have been answered already or timed out", localipc.Clip(runID, 64))}
	}
	if !w.isFor(who) {
		return localipc.Forbidden("the fix waiting with run id %q is on a ticket another user of this computer filed; only they can answer it", localipc.Clip(runID, 64))
	}
	select {
	case w.answer <- allow:
	default:
	}
	return nil
}
