package tickets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/ticketevent"
	"github.com/tierline/tierline/hub/vendors"
)

// VendorSender delivers one message to a vendor over one channel
// (hub/vendors.Sender).
type VendorSender interface {
	Send(ctx context.Context, v store.Vendor, channel string, p vendors.Payload) error
	EmailEnabled() bool
}

// vendorChannels returns the channels a vendor can be reached on by this
// hub, and why a channel it has is left out.
func (s *Service) vendorChannels(v store.Vendor) (channels []string, skipped string) {
	if v.WebhookURL != "" {
		channels = append(channels, store.ChannelWebhook)
	}
	if v.Email != "" {
		if s.cfg.Vendors != nil && s.cfg.Vendors.EmailEnabled() {
			channels = append(channels, store.ChannelEmail)
		} else {
			skipped = "email not sent: this hub has no SMTP server (--smtp-addr)"
		}
	}
	return channels, skipped
}

func (s *Service) deliveries(v store.Vendor, kind, note string, channels []string) []store.VendorDelivery {
	out := make([]store.VendorDelivery, 0, len(channels))
	for _, c := range channels {
		out = append(out, store.VendorDelivery{ID: s.cfg.NewID(), VendorID: v.ID, Kind: kind, Channel: c, Note: note})
	}
	return out
}

// SendToVendor escalates a ticket to Tier 4: it forwards the ticket's
// summary and evidence to the vendor (by webhook and/or email, delivered
// and retried by the SLA loop), records vendor_sent, and puts the ticket
// in waiting_vendor with the vendor's clock running. vendorRef is the
// vendor's id or name.
func (s *Service) SendToVendor(ctx context.Context, id, actor, vendorRef, note string) (store.Ticket, error) {
	if s.cfg.Vendors == nil {
		return store.Ticket{}, badState("this hub cannot reach vendors")
	}
	if err := checkName("vendor", vendorRef); err != nil {
		return store.Ticket{}, err
	}
	if err := checkText("note", note, false); err != nil {
		return store.Ticket{}, err
	}
	v, err := s.cfg.Store.GetVendor(ctx, vendorRef)
	if errors.Is(err, store.ErrNotFound) || (err == nil && v.DisabledAt != nil) {
		return store.Ticket{}, fmt.Errorf("%w: %q is not an enabled vendor; list them with GET /api/v1/vendors", ErrUnknownVendor, vendorRef)
	}
	if err != nil {
		return store.Ticket{}, fmt.Errorf("send to vendor: %w", err)
	}
	channels, skipped := s.vendorChannels(v)
	if len(channels) == 0 {
		if skipped != "" {
			return store.Ticket{}, invalid("vendor %s has only an email address and this hub sends no email: start the hub with --smtp-addr host:port --smtp-from ADDRESS, or give the vendor a webhook URL", v.Name)
		}
		return store.Ticket{}, invalid("vendor %s has neither a webhook URL nor an email address; add one with PUT /api/v1/vendors/%s", v.Name, v.ID)
	}
	return s.update(ctx, id, func(t *store.Ticket, now time.Time) ([]store.TicketEvent, error) {
		if err := notDone(t, "send it to a vendor"); err != nil {
			return nil, err
		}
		if t.State == store.TicketWaitingVendor && t.VendorID == v.ID {
			return nil, badState("ticket #%d already waits on %s; record its reference or resume the ticket", t.Number, v.Name)
		}
		var events []store.TicketEvent
		if t.Tier != 4 {
			events = append(events, store.TicketEvent{Time: now, Actor: actor,
				Data: ticketevent.Escalated{From: t.Tier, To: 4, Note: "forwarded to vendor " + v.Name, Vendor: v.ID}})
			if t.Assignee != "" {
				// The technician who forwarded it keeps it.
				events = append(events, store.TicketEvent{Time: now, Actor: actor, Data: ticketevent.Assigned{To: t.Assignee}})
			}
		}
		data := ticketevent.VendorSent{Vendor: v.ID, Name: v.Name, Channels: append([]string{}, channels...), Note: note, Skipped: skipped}
		if v.ResponseTarget > 0 {
			data.Target = v.ResponseTarget.String()
			data.Due = now.Add(v.ResponseTarget).Format(time.RFC3339Nano)
		}
		sent := store.TicketEvent{Time: now, Actor: actor, Data: data,
			Deliveries: s.deliveries(v, vendors.KindEscalation, note, channels)}
		return append(events, sent), nil
	})
}

// RecordVendorRef records the vendor's own reference for the ticket: the
// vendor has answered, so its clock starts a new period.
func (s *Service) RecordVendorRef(ctx context.Context, id, actor, ref string) (store.Ticket, error) {
	if err := checkName("reference", ref); err != nil {
		return store.Ticket{}, err
	}
	return s.update(ctx, id, func(t *store.Ticket, now time.Time) ([]store.TicketEvent, error) {
		if t.VendorID == "" {
			return nil, badState("ticket #%d was not sent to a vendor; send it with POST /api/v1/tickets/%s/vendor first", t.Number, t.ID)
		}
		if t.State == store.TicketClosed {
			return nil, badState("ticket #%d is closed", t.Number)
		}
		return ev(now, actor, ticketevent.VendorRef{Ref: ref, Vendor: t.VendorID}), nil
	})
}

// reminderDeliveries attaches the reminder messages to vendor_overdue
// events made by the SLA loop.
func (s *Service) reminderDeliveries(ctx context.Context, events []store.TicketEvent) {
	for i := range events {
		e := &events[i]
		od, ok := e.Data.(ticketevent.VendorOverdue)
		if !ok || s.cfg.Vendors == nil {
			continue
		}
		v, err := s.cfg.Store.GetVendor(ctx, od.Vendor)
		if err != nil || v.DisabledAt != nil {
			od.Reminder = "not sent: the vendor is disabled or gone"
			e.Data = od
			continue
		}
		channels, _ := s.vendorChannels(v)
		e.Deliveries = s.deliveries(v, vendors.KindReminder, "", channels)
	}
}

// backoff is the wait after the n-th failed attempt (n from 1).
func (s *Service) backoff(n int) time.Duration {
	d := s.cfg.RetryBase
	for i := 1; i < n && d < s.cfg.RetryMax; i++ {
		d *= 2
	}
	return min(d, s.cfg.RetryMax)
}

// Deliver makes one attempt at every vendor delivery due by now and
// records each outcome on its ticket's timeline: vendor_delivered, or
// vendor_delivery_failed with the error and when it is tried again. It
// returns how many were attempted. Failed deliveries stay queued until
// they succeed; only a vendor disabled meanwhile abandons them.
func (s *Service) Deliver(ctx context.Context) (int, error) {
	if s.cfg.Vendors == nil {
		return 0, nil
	}
	now := s.now()
	due, err := s.cfg.Store.DueDeliveries(ctx, now, 50)
	if err != nil {
		return 0, err
	}
	for _, d := range due {
		s.deliverOne(ctx, d)
	}
	return len(due), nil
}

func (s *Service) deliverOne(ctx context.Context, d store.VendorDelivery) {
	attempt := d.Attempts + 1
	name := ""
	record := func(data ticketevent.Data) {
		if _, err := s.update(ctx, d.TicketID, func(t *store.Ticket, now time.Time) ([]store.TicketEvent, error) {
			return ev(now, ActorSLA, data), nil
		}); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.log.Error("record vendor delivery", "delivery", d.ID, "ticket", d.TicketID, "err", err)
		}
	}
	v, err := s.cfg.Store.GetVendor(ctx, d.VendorID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && v.DisabledAt != nil) {
		if err := s.cfg.Store.FinishDelivery(ctx, d.ID, store.DeliveryAbandoned, "vendor disabled or deleted", nil, s.now()); err == nil {
			record(ticketevent.VendorFailed{Delivery: d.ID, DeliveryKind: d.Kind, Channel: d.Channel, Attempt: attempt, Vendor: d.VendorID,
				Error: "vendor " + d.VendorID + " is disabled or gone; the message is abandoned", Final: true})
		}
		return
	}
	if err != nil {
		s.log.Error("vendor delivery", "delivery", d.ID, "err", err)
		return
	}
	name = v.Name
	p, err := s.payload(ctx, d, v)
	if err == nil {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = s.cfg.Vendors.Send(sctx, v, d.Channel, p)
		cancel()
	}
	now := s.now()
	if err == nil {
		if ferr := s.cfg.Store.FinishDelivery(ctx, d.ID, store.DeliveryDelivered, "", nil, now); ferr != nil {
			s.log.Error("vendor delivery", "delivery", d.ID, "err", ferr)
			return
		}
		record(ticketevent.VendorDelivered{Delivery: d.ID, DeliveryKind: d.Kind, Channel: d.Channel, Attempt: attempt, Vendor: d.VendorID, Name: name})
		return
	}
	if ctx.Err() != nil {
		return // shutting down: the attempt did not count
	}
	msg := err.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	next := now.Add(s.backoff(attempt))
	if ferr := s.cfg.Store.FinishDelivery(ctx, d.ID, store.DeliveryPending, msg, &next, now); ferr != nil {
		s.log.Error("vendor delivery", "delivery", d.ID, "err", ferr)
		return
	}
	s.log.Warn("vendor delivery failed; will retry", "delivery", d.ID, "vendor", v.Name, "channel", d.Channel, "attempt", attempt, "retry_at", next, "err", err)
	record(ticketevent.VendorFailed{Delivery: d.ID, DeliveryKind: d.Kind, Channel: d.Channel, Attempt: attempt, Vendor: d.VendorID, Name: name,
		Error: msg, RetryAt: next.Format(time.RFC3339Nano)})
}

// payload builds what the vendor receives, from the ticket as it is now.
func (s *Service) payload(ctx context.Context, d store.VendorDelivery, v store.Vendor) (vendors.Payload, error) {
	var p vendors.Payload
	t, err := s.cfg.Store.GetTicket(ctx, d.TicketID)
	if err != nil {
		return p, fmt.Errorf("ticket %s: %w", d.TicketID, err)
	}
	p.Kind, p.DeliveryID, p.Sent, p.Hub, p.Note = d.Kind, d.ID, s.now(), s.cfg.HubURL, d.Note
	p.Vendor.ID, p.Vendor.Name, p.Vendor.ContractRef = v.ID, v.Name, v.ContractRef
	pt := &p.Ticket
	pt.ID, pt.Number, pt.Title, pt.Body, pt.Category = t.ID, t.Number, t.Title, t.Body, t.Category
	pt.Priority, pt.State, pt.Tier, pt.Signature, pt.VendorRef, pt.CreatedAt = t.Priority, t.State, t.Tier, t.Signature, t.VendorRef, t.CreatedAt
	if t.VendorDue != nil {
		pt.Due = *t.VendorDue
	}
	if t.Snapshot != nil {
		if b, err := json.Marshal(t.Snapshot); err == nil {
			p.Evidence.Snapshot = b
		}
	}
	if t.DeviceID != "" {
		if dev, err := s.cfg.Store.GetDevice(ctx, t.DeviceID); err == nil {
			p.Evidence.Device = &vendors.DeviceFacts{ID: dev.ID, Hostname: dev.Hostname, OS: dev.OS, Group: dev.Group,
				LastSeen: dev.LastSeen, Checks: dev.Health}
		}
	}
	events, err := s.cfg.Store.TicketEvents(ctx, t.ID)
	if err != nil {
		return p, err
	}
	p.Evidence.Timeline = []vendors.TimelineLine{}
	for _, e := range events {
		switch e.Data.(type) {
		case ticketevent.VendorDelivered, ticketevent.VendorFailed, ticketevent.SLAWarning:
			continue
		}
		p.Evidence.Timeline = append(p.Evidence.Timeline, vendors.TimelineLine{Time: e.Time, Actor: e.Actor, Kind: e.Kind(), Text: summarize(e)})
	}
	return p, nil
}

// summarize is one event in a line of text.
func summarize(e store.TicketEvent) string {
	var s string
	switch d := e.Data.(type) {
	case ticketevent.Filed:
		s = fmt.Sprintf("filed in tier %d", d.Tier)
	case ticketevent.Message:
		s = d.From + ": " + d.Text
	case ticketevent.Escalated:
		s = fmt.Sprintf("tier %d to %d: %s%s", d.From, d.To, d.Reason, d.Note)
	case ticketevent.Run:
		s = d.Fix + " " + d.Outcome
	case ticketevent.Resolved:
		s = d.Resolution
	case ticketevent.Waiting:
		s = d.State + " (" + d.Reason + ")"
	case ticketevent.VendorSent:
		s = "to " + d.Name + ": " + d.Note
	case ticketevent.VendorRef:
		s = "vendor reference " + d.Ref
	case ticketevent.Assigned:
		s = "to " + d.To
	}
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > 300 {
		s = string(r[:299]) + "…"
	}
	return s
}
