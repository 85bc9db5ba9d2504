package tickets_test

import (
	"strings"
	"testing"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/hub/tickets"
)

// TestRepliesByMail: a technician's message on an email ticket queues a
// reply to the requester, in the message's own transaction; the user's
// messages, and messages on tickets that came another way, queue none.
// An intake's title, when given, is the ticket's title.
func TestRepliesByMail(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, st *store.Store) {
		svc, err := tickets.New(tickets.Config{Store: st, ReplyByMail: true})
		if err != nil {
			t.Fatal(err)
		}
		mailed, _, err := svc.Open(ctx, "email", tickets.Intake{Requester: "nora@example.test", Text: "P: is gone", Title: "Drive P: missing",
			Channel: store.IntakeEmail, RequestID: "mail:1"}, nil)
		if err != nil || mailed.Title != "Drive P: missing" {
			t.Fatalf("open: %+v %v", mailed, err)
		}
		phoned, _, err := svc.Open(ctx, "ana", tickets.Intake{Requester: "bo@example.test", Text: "printer", Channel: store.IntakePhone}, nil)
		if err != nil || !strings.HasPrefix(phoned.Title, "bo@example.test: ") {
			t.Fatalf("open: %+v %v", phoned, err)
		}
		for _, m := range []struct{ id, from, text string }{
			{mailed.ID, tickets.FromTechnician, "please sign in again"},
			{mailed.ID, tickets.FromUser, "done"},
			{phoned.ID, tickets.FromTechnician, "on my way"},
		} {
			if _, err := svc.Message(ctx, m.id, "ana", m.from, m.text); err != nil {
				t.Fatal(err)
			}
		}
		if rows, _ := st.TicketMails(ctx, mailed.ID); len(rows) != 1 || rows[0].To != "nora@example.test" {
			t.Fatalf("replies queued on the email ticket: %+v, want one to nora", rows)
		}
		if rows, _ := st.TicketMails(ctx, phoned.ID); len(rows) != 0 {
			t.Fatalf("replies queued on a phone ticket: %+v", rows)
		}
		_, _, err = svc.Open(ctx, "email", tickets.Intake{Requester: "x@example.test", Text: "x", Title: "a\nb", Channel: store.IntakeEmail}, nil)
		if err == nil || !strings.Contains(err.Error(), "title must be") {
			t.Fatalf("a title over two lines: %v", err)
		}
	})
}
