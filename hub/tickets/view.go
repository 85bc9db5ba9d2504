package tickets

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/ticketevent"
)

// View is one ticket as it is shown: to technicians in the API and the
// console, and to its device in the catch-up. It is built in one place,
// BuildView.
type View struct {
	// Ticket is the stored ticket; from BuildView with its snapshot and
	// what the user tried.
	Ticket store.Ticket
	// SLA is where the ticket stands against its tier's limit at the
	// view's time.
	SLA SLA
	// Timeline is every event, oldest first.
	Timeline []store.TicketEvent
	// Links are the tickets linked to this one.
	Links []store.TicketLink
}

// ViewStore is what building a view reads.
type ViewStore interface {
	GetTicket(ctx context.Context, id string) (store.Ticket, error)
	TicketEvents(ctx context.Context, id string) ([]store.TicketEvent, error)
	TicketLinks(ctx context.Context, id string) ([]store.TicketLink, error)
}

// BuildView reads ticket id with its timeline and links, its SLA clock
// at now under policy p.
func BuildView(ctx context.Context, st ViewStore, id string, p Policy, now time.Time) (View, error) {
	t, err := st.GetTicket(ctx, id)
	if err != nil {
		return View{}, err
	}
	return viewOf(ctx, st, t, p, now)
}

// viewOf completes the view of a ticket already read (a listed one has no
// snapshot).
func viewOf(ctx context.Context, st ViewStore, t store.Ticket, p Policy, now time.Time) (View, error) {
	v := View{Ticket: t, SLA: Status(&t, p, now)}
	var err error
	if v.Timeline, err = st.TicketEvents(ctx, t.ID); err != nil {
		return v, fmt.Errorf("ticket %s: %w", t.ID, err)
	}
	if v.Links, err = st.TicketLinks(ctx, t.ID); err != nil {
		return v, fmt.Errorf("ticket %s: %w", t.ID, err)
	}
	if store.SitesOf(ctx) != nil {
		v.Timeline = hideOtherSitesLinks(v.Timeline, v.Links)
	}
	return v, nil
}

// hideOtherSitesLinks leaves out of a timeline the links to tickets a
// caller limited to some sites does not see: links lists those they see
// (store.TicketLinks keeps to the caller's sites), so a link event naming
// any other ticket names one of another site.
func hideOtherSitesLinks(timeline []store.TicketEvent, links []store.TicketLink) []store.TicketEvent {
	out := timeline[:0:0]
	for _, e := range timeline {
		if l, ok := e.Data.(ticketevent.Link); ok && !slices.ContainsFunc(links, func(k store.TicketLink) bool { return k.Other == l.Other }) {
			continue
		}
		out = append(out, e)
	}
	return out
}

// View is BuildView with the service's store and policy.
func (s *Service) View(ctx context.Context, id string, now time.Time) (View, error) {
	return BuildView(ctx, s.cfg.Store, id, s.policy(), now)
}

// ViewMessage is one message of the conversation with the user.
type ViewMessage struct {
	Time  time.Time
	From  string // FromTechnician or FromUser
	Actor string
	Text  string
}

// Messages is the conversation with the ticket's user, oldest first.
func (v View) Messages() []ViewMessage {
	var out []ViewMessage
	for _, e := range v.Timeline {
		if m, ok := e.Data.(ticketevent.Message); ok {
			out = append(out, ViewMessage{Time: e.Time, From: m.From, Actor: e.Actor, Text: m.Text})
		}
	}
	return out
}
