package tickets_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/gateway"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/hub/ticketevent"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// A device's reply delivered twice (the hub stored it, then lost the
// connection before its acknowledgement reached the agent, which resends
// it) is one message on the ticket; replies from agents that send no id
// are added per delivery, as before; another device's ticket is refused.
func TestUserReplyAddedOncePerID(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	_, d := newDevices(t, st)
	rec, err := d.FileHelp(ctx, "dev1", "pc-17", wire.HelpRequest{RequestID: "req-1", Text: "VPN drops", User: "maria",
		Snapshot: wire.Snapshot{Taken: time.Now(), Checks: []diag.CheckResult{{Name: "dns-resolution", Status: diag.StatusFailing}}}})
	if err != nil {
		t.Fatal(err)
	}

	reply := wire.UserReply{TicketID: rec.TicketID, Text: "still dropping", User: "maria", ID: wire.NewID()}
	for range 3 {
		if err := d.UserReply(ctx, "dev1", reply); err != nil {
			t.Fatalf("reply: %v", err)
		}
	}
	old := wire.UserReply{TicketID: rec.TicketID, Text: "from an old agent", User: "maria"}
	for range 2 {
		if err := d.UserReply(ctx, "dev1", old); err != nil {
			t.Fatalf("reply without id: %v", err)
		}
	}
	if err := d.UserReply(ctx, "dev2", wire.UserReply{TicketID: rec.TicketID, Text: "not mine", ID: wire.NewID()}); !errors.Is(err, gateway.ErrRefused) {
		t.Fatalf("another device's reply: %v, want refused", err)
	}

	evs, err := st.TicketEvents(ctx, rec.TicketID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, e := range evs {
		if m, ok := e.Data.(ticketevent.Message); ok {
			text := m.Text
			got[text]++
			if e.Actor != "user:maria" {
				t.Errorf("message %q by %q, want user:maria", text, e.Actor)
			}
		}
	}
	if len(got) != 2 || got["still dropping"] != 1 || got["from an old agent"] != 2 {
		t.Fatalf("messages on the ticket: %v; want the reply with an id once and the two without one both", got)
	}
}

// A user who writes on a resolved ticket says it is not over: the ticket
// reopens in its tier with the reply on its timeline, once however often
// the reply is delivered. A technician's note after resolving does not
// reopen it.
func TestUserReplyReopensResolvedTicket(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	svc, d := newDevices(t, st)
	rec, err := d.FileHelp(ctx, "dev1", "pc-17", wire.HelpRequest{RequestID: "req-1", Text: "VPN drops", User: "maria",
		Snapshot: wire.Snapshot{Taken: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Resolve(ctx, rec.TicketID, "ana", "VPN profile renewed"); err != nil {
		t.Fatal(err)
	}
	if tk, err := svc.Message(ctx, rec.TicketID, "ana", tickets.FromTechnician, "Tell us if it comes back."); err != nil || tk.State != store.TicketResolved {
		t.Fatalf("technician's note after resolving: %v, state %s; want it still resolved", err, tk.State)
	}
	reply := wire.UserReply{TicketID: rec.TicketID, Text: "It dropped again this morning", User: "maria", ID: wire.NewID()}
	for range 2 {
		if err := d.UserReply(ctx, "dev1", reply); err != nil {
			t.Fatal(err)
		}
	}
	tk, err := st.GetTicket(ctx, rec.TicketID)
	if err != nil {
		t.Fatal(err)
	}
	if tk.State != store.TicketNew || tk.ResolvedAt != nil || tk.Resolution != "" {
		t.Errorf("after the user's reply the ticket is %s (resolved at %v), want new again (nobody assigned)", tk.State, tk.ResolvedAt)
	}
	evs, err := st.TicketEvents(ctx, rec.TicketID)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, e.Kind())
	}
	if want := "filed,resolved,message,reopened,message"; strings.Join(kinds, ",") != want {
		t.Errorf("timeline %s, want %s", strings.Join(kinds, ","), want)
	}
}

// A device that was offline while a technician wrote and resolved hears it
// all when it connects: the messages, the resolution with the survey while
// it is unanswered, and the state now; the user's own words and closed or
// other devices' tickets are not sent.
func TestCatchUpOnConnect(t *testing.T) {
	storetest.Backends(t, testCatchUp)
}

func testCatchUp(t *testing.T, st *store.Store) {
	ctx := context.Background()
	svc, d := newDevices(t, st)
	file := func(device, req, text string) string {
		rec, err := d.FileHelp(ctx, device, "pc-17", wire.HelpRequest{RequestID: req, Text: text, User: "maria",
			Snapshot: wire.Snapshot{Taken: time.Now(), Checks: []diag.CheckResult{{Name: "dns-resolution", Status: diag.StatusOK}}}})
		if err != nil {
			t.Fatal(err)
		}
		return rec.TicketID
	}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// A ticket resolved 15 days ago is not told again.
	oldSvc, err := tickets.New(tickets.Config{Store: st, Logger: slog.New(slog.DiscardHandler),
		Now: func() time.Time { return time.Now().Add(-15 * 24 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	oldDesk := tickets.NewDevices(oldSvc, st, slog.New(slog.DiscardHandler), nil)
	oldRec, err := oldDesk.FileHelp(ctx, "dev1", "pc-17", wire.HelpRequest{RequestID: "req-0", Text: "Old one", User: "maria",
		Snapshot: wire.Snapshot{Taken: time.Now(), Checks: []diag.CheckResult{{Name: "dns-resolution", Status: diag.StatusOK}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oldSvc.Resolve(ctx, oldRec.TicketID, "tess", "Long done."); err != nil {
		t.Fatal(err)
	}
	vpn := file("dev1", "req-1", "VPN drops")
	printer := file("dev1", "req-2", "Printer jams")
	other := file("dev2", "req-3", "Not this device's")
	must(svc.Message(ctx, vpn, "tess", tickets.FromTechnician, "Which network are you on?"))
	must(nil, d.UserReply(ctx, "dev1", wire.UserReply{TicketID: vpn, Text: "home wifi", User: "maria", ID: wire.NewID()}))
	must(svc.Message(ctx, vpn, "tess", tickets.FromTechnician, "Try again now, please."))
	must(svc.Resolve(ctx, vpn, "tess", "VPN profile renewed."))
	must(svc.Message(ctx, other, "tess", tickets.FromTechnician, "for dev2 only"))
	must(svc.Resolve(ctx, printer, "tess", "Jam cleared."))
	must(svc.Close(ctx, printer, "tess"))

	ups, err := d.CatchUp(ctx, "dev1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range ups {
		if u.TicketID != vpn {
			t.Errorf("catch-up for dev1 carries ticket %s (%q); want only the VPN ticket (the printer's is closed, the old one resolved long ago)", u.TicketID, u.Message)
		}
		got = append(got, fmt.Sprintf("%s|%s|%s|%v", u.State, u.From, u.Message, u.AskSurvey))
	}
	want := []string{
		"resolved|tess|Which network are you on?|false",
		"resolved|tess|Try again now, please.|false",
		"resolved||VPN profile renewed.|true",
		"resolved|||false",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("catch-up:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Answered: the resolution is still told, without the survey.
	must(nil, d.SurveyAnswer(ctx, "dev1", wire.SurveyAnswer{TicketID: vpn, Score: 4}))
	ups, _ = d.CatchUp(ctx, "dev1")
	for _, u := range ups {
		if u.AskSurvey {
			t.Errorf("survey asked again after it was answered: %+v", u)
		}
	}
	// Reopened: no resolution, the state is open again.
	must(svc.Reopen(ctx, vpn, "maria", "drops again"))
	ups, _ = d.CatchUp(ctx, "dev1")
	if last := ups[len(ups)-1]; last.State == "resolved" || slices.ContainsFunc(ups, func(u wire.TicketUpdate) bool { return u.Message == "VPN profile renewed." }) {
		t.Errorf("after reopening, catch-up %+v; want no resolution and the ticket's state now", ups)
	}
}

// A help receipt carries the ticket's time by the hub's clock, the clock
// of the ticket's updates, so the agent's copy does not start from its
// own clock (which may run ahead and hide the updates).
func TestHelpReceiptCarriesHubTime(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	_, d := newDevices(t, st)
	rec, err := d.FileHelp(ctx, "dev1", "pc-17", wire.HelpRequest{RequestID: "req-1", Text: "VPN drops", User: "maria",
		Snapshot: wire.Snapshot{Taken: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := st.GetTicket(ctx, rec.TicketID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Updated.IsZero() || !rec.Updated.Equal(tk.UpdatedAt) {
		t.Fatalf("receipt time %v, want the ticket's %v", rec.Updated, tk.UpdatedAt)
	}
	// And its title, so My tickets names it before anyone acts on it.
	if rec.Title != "pc-17: VPN drops" {
		t.Errorf("receipt title %q", rec.Title)
	}
}

// newDevices makes a tickets service on st and its device side.
func newDevices(t *testing.T, st *store.Store) (*tickets.Service, *tickets.Devices) {
	t.Helper()
	svc, err := tickets.New(tickets.Config{Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return svc, tickets.NewDevices(svc, st, slog.New(slog.DiscardHandler), nil)
}
