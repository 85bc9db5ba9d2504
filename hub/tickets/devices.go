package tickets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/tierline/tierline/hub/gateway"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/ticketevent"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// DeviceStore is what Devices reads and writes besides the service.
type DeviceStore interface {
	ViewStore
	ListTickets(ctx context.Context, f store.TicketFilter) ([]store.Ticket, error)
	DeviceHasTickets(ctx context.Context, deviceID string) (bool, error)
	RecordHelpSession(ctx context.Context, h store.HelpSessionRecord) error
	SearchArticles(ctx context.Context, q store.ArticleQuery) ([]store.ArticleHit, error)
	DeviceSite(ctx context.Context, id string) (string, error)
}

// Devices is the tickets' side of the devices: the gateway's DeviceDesk.
// Help requests from devices become tickets, users' replies and survey
// answers go onto them, Get help sessions are recorded, devices search
// the published articles, and a device that connects hears again what it
// may have missed (CatchUp). Fix runs that name a ticket go on its
// timeline (RunFinished). Ticket changes reach devices through
// DeviceNotifier.
type Devices struct {
	svc *Service
	st  DeviceStore
	log *slog.Logger
	// onSession hears each Get help session recorded.
	onSession func(wire.HelpSession)
	now       func() time.Time
}

var _ gateway.DeviceDesk = (*Devices)(nil)

// NewDevices makes the devices' side of svc; onSession (may be nil) hears
// each Get help session recorded (the hub counts them in its metrics).
func NewDevices(svc *Service, st DeviceStore, log *slog.Logger, onSession func(wire.HelpSession)) *Devices {
	if log == nil {
		log = slog.Default()
	}
	if onSession == nil {
		onSession = func(wire.HelpSession) {}
	}
	return &Devices{svc: svc, st: st, log: log.With("component", "devices"), onSession: onSession, now: time.Now}
}

func refused(err error) error {
	if errors.Is(err, ErrInvalid) || errors.Is(err, ErrState) || errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %v", gateway.ErrRefused, err)
	}
	return err
}

// JoinWindow is how long after a device's help request one with the same
// words from the same user joins its ticket (while the ticket is open) as
// a message, instead of opening another: a user who clicks Get help again
// and again, or a script that files in a loop, makes one ticket.
const JoinWindow = 10 * time.Minute

// FileHelp files the ticket a device's user asked for.
func (d *Devices) FileHelp(ctx context.Context, deviceID, hostname string, req wire.HelpRequest) (wire.HelpReceipt, error) {
	if t, ok, err := d.join(ctx, deviceID, req); err != nil {
		return wire.HelpReceipt{}, err
	} else if ok {
		d.log.Info("help request repeated: joined its ticket as a message", "ticket", t.Number, "device", deviceID, "request", req.RequestID)
		return wire.HelpReceipt{RequestID: req.RequestID, TicketID: t.ID, Number: t.Number, Tier: t.Tier, Title: t.Title,
			Updated: t.UpdatedAt, Joined: true,
			Next: fmt.Sprintf("You asked the same a moment ago, so your words were added to ticket #%d rather than opening another; "+
				"its technician's replies appear here.", t.Number)}, nil
	}
	t, created, err := d.svc.File(ctx, deviceID, hostname, req)
	if err != nil {
		return wire.HelpReceipt{}, refused(err)
	}
	if created {
		d.log.Info("ticket filed from a device", "ticket", t.Number, "device", deviceID, "tier", t.Tier)
	}
	next := fmt.Sprintf("A Tier %d technician will pick it up", t.Tier)
	if limit := d.svc.Policy().Limit(t.Tier, t.Priority); limit > 0 {
		next += " within " + ShortDuration(limit)
	}
	next += "; their replies appear here."
	return wire.HelpReceipt{RequestID: req.RequestID, TicketID: t.ID, Number: t.Number, Tier: t.Tier, Next: next, Title: t.Title,
		Updated: t.UpdatedAt}, nil
}

// join adds req to the device's open ticket that the same user filed with
// the same words (case and spacing aside) within JoinWindow, as the
// user's message, once (by request id). ok is false when there is none,
// or when req itself made a ticket already (filing is idempotent). A
// service request from a template is never joined: its answers say what
// is asked, and the same words (the template's name) can ask for another
// thing.
func (d *Devices) join(ctx context.Context, deviceID string, req wire.HelpRequest) (store.Ticket, bool, error) {
	words := sameWords(req.Text)
	if words == "" || deviceID == "" || req.Template != "" {
		return store.Ticket{}, false, nil
	}
	ts, err := d.st.ListTickets(ctx, store.TicketFilter{DeviceID: deviceID, States: BacklogStates, NewestFirst: true, Limit: 20})
	if err != nil {
		return store.Ticket{}, false, fmt.Errorf("look for a ticket to join: %w", err)
	}
	now := d.svc.now() // the clock tickets are stamped with
	for _, t := range ts {
		if t.RequestID == req.RequestID {
			return store.Ticket{}, false, nil
		}
		if t.Channel != store.IntakeAgent || t.Requester != req.User || now.Sub(t.CreatedAt) > JoinWindow || sameWords(t.Body) != words {
			continue
		}
		actor := "user"
		if req.User != "" {
			actor = "user:" + req.User
		}
		t, err := d.svc.MessageOnce(ctx, t.ID, actor, FromUser, req.Text, req.RequestID)
		if err != nil {
			return store.Ticket{}, false, refused(err)
		}
		return t, true, nil
	}
	return store.Ticket{}, false, nil
}

// sameWords is text as compared for joining: lower case, one space
// between words.
func sameWords(text string) string {
	return strings.Join(strings.Fields(strings.ToLower(text)), " ")
}

// ownTicket returns the device's ticket, or a refusal when it is another
// device's or unknown.
func (d *Devices) ownTicket(ctx context.Context, deviceID, ticketID string) (store.Ticket, error) {
	t, err := d.st.GetTicket(ctx, ticketID)
	if err != nil {
		return t, refused(err)
	}
	if t.DeviceID != deviceID {
		return t, fmt.Errorf("%w: ticket %s is not this device's", gateway.ErrRefused, ticketID)
	}
	return t, nil
}

// UserReply puts the user's reply on the device's ticket.
func (d *Devices) UserReply(ctx context.Context, deviceID string, r wire.UserReply) error {
	if _, err := d.ownTicket(ctx, deviceID, r.TicketID); err != nil {
		return err
	}
	actor := "user"
	if r.User != "" {
		actor = "user:" + r.User
	}
	// A reply with an id is added once however often the link delivers it.
	_, err := d.svc.MessageOnce(ctx, r.TicketID, actor, FromUser, r.Text, r.ID)
	return refused(err)
}

// SurveyAnswer records the user's satisfaction with a resolved ticket.
func (d *Devices) SurveyAnswer(ctx context.Context, deviceID string, a wire.SurveyAnswer) error {
	if _, err := d.ownTicket(ctx, deviceID, a.TicketID); err != nil {
		return err
	}
	_, err := d.svc.Survey(ctx, a.TicketID, "user", a.Score, a.Comment)
	return refused(err)
}

// HelpSession records a Get help session.
func (d *Devices) HelpSession(ctx context.Context, deviceID string, h wire.HelpSession) error {
	if err := d.st.RecordHelpSession(ctx, store.HelpSessionRecord{DeviceID: deviceID, HelpSession: h}); err != nil {
		return err
	}
	d.onSession(h)
	return nil
}

// kbLimit is how many articles a device's search returns.
const kbLimit = wire.KBLimit

// SearchKB searches published articles for a device's Get help page:
// those linked to the device's failing checks first, then by the text.
func (d *Devices) SearchKB(ctx context.Context, deviceID string, q wire.KBQuery) (wire.KBResults, error) {
	limit := q.Limit
	if limit <= 0 || limit > kbLimit {
		limit = kbLimit
	}
	checks := q.Checks
	if len(checks) > diag.MaxSearchChecks {
		checks = checks[:diag.MaxSearchChecks]
	}
	// A device's users see the shared articles and their site's.
	site, err := d.st.DeviceSite(ctx, deviceID)
	if err != nil {
		return wire.KBResults{}, fmt.Errorf("search articles for device %s: %w", deviceID, err)
	}
	hits, err := d.st.SearchArticles(store.WithSites(ctx, []string{site}), store.ArticleQuery{Text: q.Text, Checks: checks,
		States: []string{store.ArticlePublished}, Limit: limit})
	if err != nil {
		return wire.KBResults{}, fmt.Errorf("search articles for device %s: %w", deviceID, err)
	}
	out := wire.KBResults{QueryID: q.QueryID, Articles: make([]wire.KBArticle, 0, len(hits))}
	for _, h := range hits {
		if h.State != store.ArticlePublished {
			continue // never show a draft to end users, whatever the store returns
		}
		out.Articles = append(out.Articles, wire.KBArticle{ID: h.ID, Title: h.Title, Body: h.Body,
			Checks: h.Checks, Fixes: h.Fixes, Snippet: h.Snippet})
	}
	return out, nil
}

// RequestTemplates lists the service request templates for a device's
// Get help page.
func (d *Devices) RequestTemplates(ctx context.Context, deviceID string) ([]wire.RequestTemplate, error) {
	list, err := d.svc.TemplatesForDevices(ctx)
	if err != nil {
		return nil, fmt.Errorf("request templates for device %s: %w", deviceID, err)
	}
	return list, nil
}

// DeviceUpdate is what the ticket's user hears of event e, if anything.
func DeviceUpdate(t store.Ticket, e store.TicketEvent) (wire.TicketUpdate, bool) {
	u := wire.TicketUpdate{TicketID: t.ID, Number: t.Number, Title: t.Title, State: t.State, Tier: t.Tier, Time: e.Time}
	switch d := e.Data.(type) {
	case ticketevent.Message:
		if d.From == ticketevent.FromUser {
			return u, false
		}
		u.From, u.Message = e.Actor, d.Text
	case ticketevent.Resolved:
		u.Message, u.AskSurvey = d.Resolution, true
	case ticketevent.Escalated, ticketevent.Waiting, ticketevent.Resumed, ticketevent.Reopened, ticketevent.Closed, ticketevent.Assigned:
	default:
		return u, false
	}
	return u, true
}

// Catch-up limits: the newest tickets and, on each, the newest messages; a
// ticket resolved longer ago than catchUpResolved is not told again (a
// resolved ticket stays resolved until someone closes it).
const (
	catchUpTickets  = 50
	catchUpMessages = 20
	catchUpResolved = 14 * 24 * time.Hour
)

// CatchUp is what a device that has just connected hears again: on each of
// its tickets that is not closed (nor resolved long ago), the technicians'
// newest messages and the resolution (with the survey only while it is
// unanswered), then the ticket's state now. An update sent while the
// device was offline, or connected to another hub, is otherwise lost; the
// agent keeps each message once, by its time and text.
func (d *Devices) CatchUp(ctx context.Context, deviceID string) ([]wire.TicketUpdate, error) {
	// Most devices never had a ticket: one indexed lookup, not the listing.
	if has, err := d.st.DeviceHasTickets(ctx, deviceID); err != nil || !has {
		return nil, err
	}
	ts, err := d.st.ListTickets(ctx, store.TicketFilter{DeviceID: deviceID, NewestFirst: true, Limit: catchUpTickets,
		States: []string{store.TicketNew, store.TicketOpen, store.TicketWaitingUser, store.TicketWaitingVendor, store.TicketResolved}})
	if err != nil {
		return nil, err
	}
	now := d.now()
	var out []wire.TicketUpdate
	for i := len(ts) - 1; i >= 0; i-- { // oldest first, as they happened
		t := ts[i]
		if t.State == store.TicketResolved && t.ResolvedAt != nil && now.Sub(*t.ResolvedAt) > catchUpResolved {
			continue
		}
		v, err := viewOf(ctx, d.st, t, d.svc.policy(), now)
		if err != nil {
			return nil, err
		}
		out = append(out, v.DeviceCatchUp()...)
	}
	return out, nil
}

// DeviceCatchUp is what the ticket's device hears again when it
// connects: the technicians' newest messages, the resolution (asking for
// the survey while it is unanswered) and the ticket's state now.
func (v View) DeviceCatchUp() []wire.TicketUpdate {
	t := v.Ticket
	var msgs []wire.TicketUpdate
	var resolved *wire.TicketUpdate
	for _, e := range v.Timeline {
		switch e.Data.(type) {
		case ticketevent.Message:
			if u, ok := DeviceUpdate(t, e); ok {
				msgs = append(msgs, u)
			}
		case ticketevent.Resolved:
			u, _ := DeviceUpdate(t, e)
			resolved = &u
		case ticketevent.Reopened:
			resolved = nil
		}
	}
	out := msgs[max(0, len(msgs)-catchUpMessages):]
	if resolved != nil && t.State == store.TicketResolved {
		resolved.AskSurvey = t.CSAT == nil
		out = append(out, *resolved)
	}
	return append(out, wire.TicketUpdate{TicketID: t.ID, Number: t.Number, Title: t.Title, State: t.State, Tier: t.Tier, Time: t.UpdatedAt})
}

// RunFinished puts a fix run that names a ticket on its timeline. The
// gateway calls it from its ingest loop, so the ticket write happens off
// it, in its own goroutine.
func (d *Devices) RunFinished(r store.Run) {
	if r.Ticket == "" || r.Fix == "" {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := d.svc.RecordRun(ctx, r.Ticket, r.RequestedBy, r.ID, r.Fix, r.Outcome); err != nil && !errors.Is(err, store.ErrNotFound) {
			d.log.Warn("record a fix run on its ticket", "run", r.ID, "ticket", r.Ticket, "err", err)
		}
	}()
}
