package tickets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tierline/tierline/hub/gateway"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/ticketevent"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// Intake is a ticket a technician files for someone who called, walked in
// or wrote: with or without a device. The help request of a device's own
// user goes through File instead.
type Intake struct {
	// DeviceID is the requester's computer, if it is enrolled; "" for a
	// person without one (or whose computer does not start).
	DeviceID  string
	Requester string // who asked: a name, an email address
	Text      string // the problem or the request, in the requester's words
	// Title, if set, is the ticket's title (an email's subject); without
	// it the title is the requester and the first line of Text.
	Title    string
	Category string // one of wire.HelpCategories, or ""
	Type     string // store.TypeIncident (default) or store.TypeRequest
	Channel  string // one of store.IntakeChannels except agent; default phone
	// Impact and Urgency, 1 (high) to 3 (low); 0 takes the defaults of a
	// user's request.
	Impact, Urgency int
	// RequestID makes filing idempotent: the same id files one ticket, so
	// a client may retry a request whose answer it did not get.
	RequestID string
	// Template files a service request from that request template with
	// Answers to its fields (by key): the ticket is a request, starts in
	// the template's tier with its priority and category (Impact, Urgency
	// and Category given here win), and Text may be left out.
	Template string
	Answers  map[string]string
	// Site is the ticket's site when it has no device (a device's ticket
	// is in the device's site); "" is store.DefaultSite.
	Site string
}

// Diagnoser runs a connected device's health checks now and returns their
// results (the hub's gateway). It returns gateway.ErrOffline when the device is not
// connected.
type Diagnoser interface {
	Diagnose(ctx context.Context, deviceID string) ([]diag.CheckResult, error)
}

// DiagnoseTimeout bounds how long filing waits for a device's checks.
const DiagnoseTimeout = 20 * time.Second

// Validate reports what is wrong with the intake, in words for the API.
func (in *Intake) Validate() error {
	if err := checkText("text", in.Text, true); err != nil {
		return err
	}
	if in.Title != "" {
		if err := checkName("title", in.Title); err != nil {
			return err
		}
	}
	if in.Requester == "" && in.DeviceID == "" {
		return invalid("name the requester (who asked), the device, or both")
	}
	if in.Requester != "" {
		if err := checkName("requester", in.Requester); err != nil {
			return err
		}
	}
	if in.Channel == "" {
		in.Channel = store.IntakePhone
	}
	if in.Channel == store.IntakeAgent || !slices.Contains(store.IntakeChannels, in.Channel) {
		return invalid("channel %q: use one of phone, walk-in, chat, email, web", wire.Clip(in.Channel, 32))
	}
	if in.Type == "" {
		in.Type = store.TypeIncident
	}
	if !slices.Contains(store.TicketTypes, in.Type) {
		return invalid("type %q: use %s", wire.Clip(in.Type, 32), strings.Join(store.TicketTypes, " or "))
	}
	if in.Category != "" && !slices.Contains(wire.HelpCategories, in.Category) {
		return invalid("category %q: use one of %s", wire.Clip(in.Category, 32), strings.Join(wire.HelpCategories, ", "))
	}
	if in.Impact == 0 {
		in.Impact = DefaultImpact
	}
	if in.Urgency == 0 {
		in.Urgency = DefaultUrgency
	}
	if in.Impact < 1 || in.Impact > 3 || in.Urgency < 1 || in.Urgency > 3 {
		return invalid("impact and urgency must be 1 (high) to 3 (low)")
	}
	if len(in.RequestID) > 64 {
		return invalid("request_id must be at most 64 bytes")
	}
	return nil
}

// Open files a ticket a technician (actor) takes by phone, at the desk, in
// a chat or from an email. For a device that is online its checks run on
// the spot and the ticket carries them with the device's latest sample and
// inventory, as a help request from the device would; for one that is
// offline or does not answer in DiagnoseTimeout the ticket says why it has
// none. It returns the ticket and whether this call created it (false: the
// request id was seen before).
func (s *Service) Open(ctx context.Context, actor string, in Intake, diagnose Diagnoser) (store.Ticket, bool, error) {
	var req *request
	if in.Template != "" {
		if err := wire.ValidateAnswers(in.Answers); err != nil {
			return store.Ticket{}, false, invalid("answers: %v", err)
		}
		r, err := s.fromTemplate(ctx, in.Template, in.Answers, true)
		if err != nil {
			return store.Ticket{}, false, err
		}
		req = &r
		if in.Type != "" && in.Type != store.TypeRequest {
			return store.Ticket{}, false, invalid("a ticket filed from a request template is a request, not %q", wire.Clip(in.Type, 32))
		}
		in.Type = store.TypeRequest
		if strings.TrimSpace(in.Text) == "" {
			in.Text = r.tpl.Name
		}
		if in.Category == "" {
			in.Category = r.tpl.Category
		}
		if in.Impact == 0 && in.Urgency == 0 {
			in.Impact, in.Urgency = ImpactUrgency(r.tpl.Priority)
		}
	} else if len(in.Answers) > 0 {
		return store.Ticket{}, false, invalid("answers need a template")
	}
	if err := in.Validate(); err != nil {
		return store.Ticket{}, false, err
	}
	now := s.now()
	var dev store.Device
	var snap *wire.Snapshot
	noSnapshot := ""
	if in.DeviceID != "" {
		d, err := s.cfg.Store.GetDevice(ctx, in.DeviceID)
		if errors.Is(err, store.ErrNotFound) {
			return store.Ticket{}, false, invalid("no device %q is enrolled: leave device out for a person without one", wire.Clip(in.DeviceID, 64))
		}
		if err != nil {
			return store.Ticket{}, false, fmt.Errorf("file ticket: %w", err)
		}
		dev = d
		snap, noSnapshot = s.snapshot(ctx, d, diagnose, now)
	}
	sig := ""
	if snap != nil {
		sig = Signature(snap.Checks)
	}
	tier, queue, rule := s.route(ctx, in.Category, sig, dev.Group)
	who := in.Requester
	if who == "" {
		who = dev.Hostname
	}
	ttl := title(who, in.Text)
	if req != nil {
		tier, queue, rule = req.tier()
		ttl = title(who, req.tpl.Name)
	}
	if in.Title != "" {
		ttl = in.Title
	}
	t := store.Ticket{ID: s.cfg.NewID(), DeviceID: in.DeviceID, RequestID: in.RequestID, Requester: in.Requester,
		Title: ttl, Body: in.Text, Category: in.Category, Queue: queue, Channel: in.Channel, Type: in.Type,
		Signature: sig, Snapshot: snap, CreatedAt: now, Site: in.Site}
	filed := ticketevent.Filed{Tier: tier, Impact: in.Impact, Urgency: in.Urgency, Category: in.Category, Queue: queue,
		Rule: rule, Hostname: dev.Hostname, User: in.Requester, Channel: in.Channel, Type: in.Type, NoSnapshot: noSnapshot}
	events := []store.TicketEvent{{Time: now, Actor: actor, Data: filed}}
	if req != nil {
		events = append(events, store.TicketEvent{Time: now, Actor: actor, Data: req.form})
	}
	return s.create(ctx, t, events, nil)
}

// snapshot takes a device's diagnostics for a ticket filed on its behalf:
// its checks run now, its latest sample and inventory. Without them it
// says why, in words for the technician.
func (s *Service) snapshot(ctx context.Context, d store.Device, diagnose Diagnoser, now time.Time) (*wire.Snapshot, string) {
	if !d.Online {
		return nil, "the device was offline when the ticket was filed"
	}
	if diagnose == nil {
		return nil, "this hub cannot reach devices"
	}
	ctx, cancel := context.WithTimeout(ctx, DiagnoseTimeout)
	defer cancel()
	checks, err := diagnose.Diagnose(ctx, d.ID)
	switch {
	case errors.Is(err, gateway.ErrOffline):
		return nil, "the device was offline when the ticket was filed"
	case errors.Is(err, context.DeadlineExceeded):
		return nil, fmt.Sprintf("the device did not answer within %s", ShortDuration(DiagnoseTimeout))
	case err != nil:
		s.log.Warn("diagnose a device for a ticket", "device", d.ID, "err", err)
		return nil, "the device could not be asked for its diagnostics"
	}
	// The sample and inventory the device last sent, read after its checks
	// arrived so they are as fresh as the hub has.
	if fresh, err := s.cfg.Store.GetDevice(ctx, d.ID); err == nil {
		d = fresh
	}
	return &wire.Snapshot{Taken: now, Sample: d.Latest, Checks: checks, Inventory: d.Inventory}, ""
}
