package store_test

import (
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/hub/ticketevent"
)

// TestMailIntakeStore: attachments are stored once per id and a dropped
// one has no data; Message-IDs find their ticket; a reply queued with its
// message event waits in the outbox until it is sent, and a failed attempt
// moves its next try.
func TestMailIntakeStore(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		tk := mustCreateTicket(t, s, "tm1", "", "mail:1", t0, func(tk *store.Ticket) { tk.Channel = store.IntakeEmail; tk.Requester = "a@b.test" })
		atts := []store.Attachment{
			{ID: "a1", MailID: "mail:1", Position: 0, Name: "log.txt", ContentType: "text/plain", Size: 3, Data: []byte("abc"), CreatedAt: t0},
			{ID: "a2", MailID: "mail:1", Position: 1, Name: "big.iso", ContentType: "application/octet-stream", Size: 1 << 30, Dropped: "larger than 10 MiB", CreatedAt: t0},
		}
		for range 2 { // a mail read twice stores its files once
			if err := s.AddAttachments(ctx, tk.ID, atts); err != nil {
				t.Fatal(err)
			}
		}
		list, err := s.TicketAttachments(ctx, tk.ID)
		if err != nil || len(list) != 2 || list[0].Name != "log.txt" || list[1].Dropped == "" || list[1].Size != 1<<30 {
			t.Fatalf("attachments: %+v %v", list, err)
		}
		a, err := s.TicketAttachment(ctx, tk.ID, "a1")
		if err != nil || string(a.Data) != "abc" {
			t.Fatalf("attachment a1: %+v %v", a, err)
		}
		_, err = s.TicketAttachment(ctx, tk.ID, "a2")
		wantErr(t, "dropped attachment", err, store.ErrNotFound)
		_, err = s.TicketAttachment(ctx, "other", "a1")
		wantErr(t, "attachment of another ticket", err, store.ErrNotFound)
		wantErr(t, "attachment on an unknown ticket", s.AddAttachments(ctx, "nope", []store.Attachment{{ID: "a3", Name: "x", CreatedAt: t0}}), store.ErrNotFound)

		if err := s.AddMailIDs(ctx, tk.ID, []string{"m1@x"}, false, t0); err != nil {
			t.Fatal(err)
		}
		if id, err := s.TicketOfMail(ctx, []string{"unknown@x", "m1@x", "later@x"}); err != nil || id != tk.ID {
			t.Fatalf("ticket of mail: %q %v", id, err)
		}
		_, err = s.TicketOfMail(ctx, []string{"unknown@x"})
		wantErr(t, "unknown mail", err, store.ErrNotFound)
		if got, _ := s.TicketByNumber(ctx, tk.Number); got.ID != tk.ID {
			t.Fatalf("ticket by number %d: %q", tk.Number, got.ID)
		}

		// A technician's message with a reply queued in its transaction.
		at := t0.Add(time.Minute)
		_, evs, err := s.UpdateTicket(ctx, tk.ID, func(*store.Ticket) ([]store.TicketEvent, error) {
			return []store.TicketEvent{{Time: at, Actor: "tech", Data: ticketevent.Message{From: "technician", Text: "try again"},
				Mails: []store.MailOut{{ID: "o1", To: "a@b.test"}}}}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		due, err := s.DueMails(ctx, at, 10)
		if err != nil || len(due) != 1 || due[0].EventID != evs[0].ID || due[0].To != "a@b.test" || due[0].State != store.MailPending {
			t.Fatalf("due mails: %+v %v", due, err)
		}
		next := at.Add(time.Minute)
		if err := s.FinishMail(ctx, "o1", store.MailPending, "connection refused", &next, at); err != nil {
			t.Fatal(err)
		}
		if due, _ := s.DueMails(ctx, at.Add(30*time.Second), 10); len(due) != 0 {
			t.Fatalf("a reply due before its retry time: %+v", due)
		}
		if p, f, _, _ := s.MailOutboxCounts(ctx); p != 1 || f != 1 {
			t.Fatalf("outbox counts: pending %d failing %d", p, f)
		}
		if err := s.FinishMail(ctx, "o1", store.MailSent, "", nil, next); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "finish a sent reply again", s.FinishMail(ctx, "o1", store.MailSent, "", nil, next), store.ErrNotFound)
		rows, _ := s.TicketMails(ctx, tk.ID)
		if len(rows) != 1 || rows[0].State != store.MailSent || rows[0].Attempts != 2 || rows[0].DoneAt == nil {
			t.Fatalf("outbox row: %+v", rows)
		}
	})
}
