package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/tierline/tierline/agent/health"
	"github.com/tierline/tierline/agent/history"
	"github.com/tierline/tierline/agent/link"
	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// helpDesk is the running agent's side of Get help: it answers the local
// socket's "help" requests by taking a diagnostics snapshot, spooling a
// help_request for the hub and, when the hub answers in time, telling the
// caller the ticket number.
type helpDesk struct {
	link   *link.Link
	checks *health.Runner
	hist   *history.History
	log    *slog.Logger

	mu        sync.Mutex
	inventory *diag.Inventory
	waiting   map[string]chan wire.HelpReceipt
	// tickets are this device's tickets as the hub last described them,
	// kept in STATE/tickets.json for "My tickets".
	tickets   map[string]*MyTicket
	cachePath string
}

// MyTicket is one of the device's tickets as the user sees it.
type MyTicket struct {
	ID        string       `json:"id"`
	Number    int64        `json:"number"`
	Title     string       `json:"title,omitempty"`
	State     string       `json:"state"`
	Tier      int          `json:"tier"`
	Updated   time.Time    `json:"updated"`
	AskSurvey bool         `json:"ask_survey,omitempty"`
	Messages  []TicketNote `json:"messages,omitempty"`
}

// TicketNote is a message on a ticket, from a technician or the user.
type TicketNote struct {
	From string    `json:"from"`
	Text string    `json:"text"`
	Time time.Time `json:"time"`
}

const maxCachedTickets, maxCachedNotes = 50, 20

// HelpCall is the body of a local "help" request.
type HelpCall struct {
	RequestID string        `json:"request_id"`
	Text      string        `json:"text"`
	Category  string        `json:"category,omitempty"`
	User      string        `json:"user,omitempty"`
	Tried     wire.SelfHelp `json:"tried"`
	// Wait is how long to wait for the hub's ticket number.
	Wait time.Duration `json:"wait,omitempty"`
}

// HelpAnswer is what the caller is told.
type HelpAnswer struct {
	RequestID string `json:"request_id"`
	// Queued: the request is in the agent's spool and will reach the hub.
	Queued    bool   `json:"queued"`
	Connected bool   `json:"connected"`
	TicketID  string `json:"ticket_id,omitempty"`
	Number    int64  `json:"number,omitempty"`
	Tier      int    `json:"tier,omitempty"`
	Next      string `json:"next,omitempty"`
}

func newHelpDesk(l *link.Link, checks *health.Runner, hist *history.History, log *slog.Logger, cachePath string) *helpDesk {
	d := &helpDesk{link: l, checks: checks, hist: hist, log: log, waiting: map[string]chan wire.HelpReceipt{},
		tickets: map[string]*MyTicket{}, cachePath: cachePath}
	if b, err := os.ReadFile(cachePath); err == nil {
		if err := json.Unmarshal(b, &d.tickets); err != nil || d.tickets == nil {
			log.Warn("ignoring an unreadable ticket list; it is rebuilt from the hub's updates", "file", cachePath, "err", err)
			d.tickets = map[string]*MyTicket{}
		}
	}
	return d
}

// saveLocked writes the ticket list; d.mu is held.
func (d *helpDesk) saveLocked() {
	if len(d.tickets) > maxCachedTickets {
		var oldest string
		for id, t := range d.tickets {
			if oldest == "" || t.Updated.Before(d.tickets[oldest].Updated) {
				oldest = id
			}
		}
		delete(d.tickets, oldest)
	}
	b, _ := json.MarshalIndent(d.tickets, "", "  ")
	tmp := d.cachePath + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err == nil {
		err = os.Rename(tmp, d.cachePath)
		if err != nil {
			d.log.Warn("save the ticket list", "err", err)
		}
	}
}

func (d *helpDesk) ticketLocked(id string) *MyTicket {
	t := d.tickets[id]
	if t == nil {
		t = &MyTicket{ID: id}
		d.tickets[id] = t
	}
	return t
}

func (d *helpDesk) setInventory(inv diag.Inventory) {
	d.mu.Lock()
	d.inventory = &inv
	d.mu.Unlock()
}

// receipt is the link's OnHelpReceipt hook.
func (d *helpDesk) receipt(r wire.HelpReceipt) {
	d.mu.Lock()
	ch := d.waiting[r.RequestID]
	t := d.ticketLocked(r.TicketID)
	t.Number, t.Tier, t.Updated = r.Number, r.Tier, time.Now().UTC()
	if t.State == "" {
		t.State = "new"
	}
	d.saveLocked()
	d.mu.Unlock()
	if ch != nil {
		select {
		case ch <- r:
		default:
		}
	}
	d.log.Info("help request filed on the hub", "request", r.RequestID, "ticket", r.Number)
}

// update is the link's OnTicketUpdate hook.
func (d *helpDesk) update(u wire.TicketUpdate) {
	d.mu.Lock()
	t := d.ticketLocked(u.TicketID)
	t.Number, t.Title, t.State, t.Tier, t.Updated = u.Number, u.Title, u.State, u.Tier, u.Time
	if u.AskSurvey {
		t.AskSurvey = true
	}
	if u.Message != "" {
		t.Messages = append(t.Messages, TicketNote{From: u.From, Text: u.Message, Time: u.Time})
		if len(t.Messages) > maxCachedNotes {
			t.Messages = t.Messages[len(t.Messages)-maxCachedNotes:]
		}
	}
	d.saveLocked()
	d.mu.Unlock()
	d.log.Info("ticket update", "ticket", u.Number, "state", u.State, "tier", u.Tier, "message", u.Message != "")
}

func (d *helpDesk) register(s *localipc.Server) {
	s.Handle("help", func(ctx context.Context, body json.RawMessage) (any, error) {
		var call HelpCall
		if err := json.Unmarshal(body, &call); err != nil {
			return nil, fmt.Errorf("help request: %w", err)
		}
		return d.file(ctx, call)
	})
	s.Handle("tickets", func(ctx context.Context, body json.RawMessage) (any, error) {
		d.mu.Lock()
		defer d.mu.Unlock()
		out := make([]MyTicket, 0, len(d.tickets))
		for _, t := range d.tickets {
			out = append(out, *t)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Number > out[j].Number })
		return out, nil
	})
	s.Handle("reply", func(ctx context.Context, body json.RawMessage) (any, error) {
		var r wire.UserReply
		if err := json.Unmarshal(body, &r); err != nil {
			return nil, fmt.Errorf("reply: %w", err)
		}
		if err := r.Validate(); err != nil {
			return nil, err
		}
		if !d.known(r.TicketID) {
			return nil, fmt.Errorf("ticket %s is not one of this computer's tickets (see tierline-agent tickets)", r.TicketID)
		}
		if _, err := d.link.Send(ctx, r); err != nil {
			return nil, fmt.Errorf("could not save the reply: %w", err)
		}
		d.mu.Lock()
		t := d.ticketLocked(r.TicketID)
		t.Messages = append(t.Messages, TicketNote{From: "you", Text: r.Text, Time: time.Now().UTC()})
		d.saveLocked()
		d.mu.Unlock()
		return map[string]bool{"queued": true}, nil
	})
	s.Handle("survey", func(ctx context.Context, body json.RawMessage) (any, error) {
		var a wire.SurveyAnswer
		if err := json.Unmarshal(body, &a); err != nil {
			return nil, fmt.Errorf("survey: %w", err)
		}
		if err := a.Validate(); err != nil {
			return nil, err
		}
		if !d.known(a.TicketID) {
			return nil, fmt.Errorf("ticket %s is not one of this computer's tickets (see tierline-agent tickets)", a.TicketID)
		}
		if _, err := d.link.Send(ctx, a); err != nil {
			return nil, fmt.Errorf("could not save the answer: %w", err)
		}
		d.mu.Lock()
		d.ticketLocked(a.TicketID).AskSurvey = false
		d.saveLocked()
		d.mu.Unlock()
		return map[string]bool{"queued": true}, nil
	})
}

func (d *helpDesk) known(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.tickets[id] != nil
}

func (d *helpDesk) file(ctx context.Context, call HelpCall) (HelpAnswer, error) {
	req := wire.HelpRequest{RequestID: call.RequestID, Text: call.Text, Category: call.Category, User: call.User,
		Tried: call.Tried, Filed: time.Now().UTC()}
	if req.RequestID == "" {
		req.RequestID = wire.NewID()
	}
	// Validate before the snapshot, so a bad request is refused at once.
	if err := req.Validate(); err != nil {
		return HelpAnswer{}, err
	}
	req.Snapshot = d.snapshot(ctx)
	if err := req.Validate(); err != nil {
		return HelpAnswer{}, err
	}
	ch := make(chan wire.HelpReceipt, 1)
	d.mu.Lock()
	d.waiting[req.RequestID] = ch
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.waiting, req.RequestID)
		d.mu.Unlock()
	}()
	if _, err := d.link.Send(ctx, req); err != nil {
		if errors.Is(err, ctx.Err()) {
			return HelpAnswer{}, err
		}
		return HelpAnswer{}, fmt.Errorf("could not save the request: %w", err)
	}
	ans := HelpAnswer{RequestID: req.RequestID, Queued: true, Connected: d.link.State().Connected}
	wait := min(max(call.Wait, 0), 30*time.Second)
	if wait == 0 {
		wait = 5 * time.Second
	}
	select {
	case r := <-ch:
		ans.TicketID, ans.Number, ans.Tier, ans.Next = r.TicketID, r.Number, r.Tier, r.Next
	case <-time.After(wait):
	case <-ctx.Done():
	}
	return ans, nil
}

// snapshot is the machine's state now: health checks run now, the latest
// sample, the inventory and the recent history.
func (d *helpDesk) snapshot(ctx context.Context) wire.Snapshot {
	snap := wire.Snapshot{Taken: time.Now().UTC()}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	snap.Checks = d.checks.Run(cctx)
	cancel()
	if s, ok := d.hist.Latest(); ok {
		snap.Sample = &s
	}
	d.mu.Lock()
	if d.inventory != nil {
		// The device's full inventory is on the hub; the snapshot keeps
		// the frame small.
		inv := *d.inventory
		if len(inv.Software) > 300 {
			inv.Software = inv.Software[:300]
		}
		if len(inv.Services) > 300 {
			inv.Services = inv.Services[:300]
		}
		snap.Inventory = &inv
	}
	d.mu.Unlock()
	snap.History = d.hist.Snapshot(time.Now().Add(-24 * time.Hour))
	return snap
}
