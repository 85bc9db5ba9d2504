package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/hub/ticketevent"
	"github.com/tierline/tierline/shared/wire"
)

func monitor(id, name string) store.RequestTemplate {
	return store.RequestTemplate{RequestTemplate: wire.RequestTemplate{ID: id, Name: name, Category: "other", Tier: 2, Priority: 4,
		Fields: []wire.TemplateField{{Key: "size", Label: "Size", Kind: wire.FieldChoice, Required: true, Choices: []string{"24 inch", "27 inch"}}}},
		CreatedBy: "admin", CreatedAt: t0}
}

func TestRequestTemplates(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		if err := s.CreateRequestTemplate(ctx, monitor("tpl-b", "New monitor")); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateRequestTemplate(ctx, monitor("tpl-a", "Access to a share")); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "same name", s.CreateRequestTemplate(ctx, monitor("tpl-c", "New monitor")), store.ErrExists)
		list, err := s.ListRequestTemplates(ctx)
		if err != nil || len(list) != 2 || list[0].Name != "Access to a share" || list[1].Name != "New monitor" {
			t.Fatalf("list %+v %v: want both, by name", list, err)
		}
		if diff := cmp.Diff(monitor("tpl-b", "New monitor").RequestTemplate, list[1].RequestTemplate); diff != "" {
			t.Fatalf("stored template differs (-want +got):\n%s", diff)
		}

		changed := monitor("tpl-b", "A new monitor").RequestTemplate
		changed.Fields = append(changed.Fields, wire.TemplateField{Key: "why", Label: "What for", Kind: wire.FieldText, MaxLen: 200})
		if err := s.UpdateRequestTemplate(ctx, changed, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetRequestTemplate(ctx, "tpl-b")
		if err != nil || got.Name != "A new monitor" || len(got.Fields) != 2 || !got.UpdatedAt.Equal(t0.Add(time.Hour)) || !got.CreatedAt.Equal(t0) {
			t.Fatalf("after update %+v %v", got, err)
		}
		wantErr(t, "rename onto another", s.UpdateRequestTemplate(ctx, monitor("tpl-b", "Access to a share").RequestTemplate, t0), store.ErrExists)
		wantErr(t, "update unknown", s.UpdateRequestTemplate(ctx, monitor("nope", "x").RequestTemplate, t0), store.ErrNotFound)
		wantErr(t, "get unknown", func() error { _, err := s.GetRequestTemplate(ctx, "nope"); return err }(), store.ErrNotFound)

		if err := s.DeleteRequestTemplate(ctx, "tpl-a"); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "delete again", s.DeleteRequestTemplate(ctx, "tpl-a"), store.ErrNotFound)
		if list, _ := s.ListRequestTemplates(ctx); len(list) != 1 {
			t.Fatalf("after delete: %d templates", len(list))
		}

		// The hub keeps at most wire.MaxTemplates.
		for i := 1; i < wire.MaxTemplates; i++ {
			if err := s.CreateRequestTemplate(ctx, monitor(fmt.Sprintf("tpl-%d", i), fmt.Sprintf("T%03d", i))); err != nil {
				t.Fatal(err)
			}
		}
		wantErr(t, "one too many", s.CreateRequestTemplate(ctx, monitor("tpl-x", "one too many")), store.ErrTooMany)
	})
}

// A ticket filed from a template reads back with its form; others have
// none.
func TestTicketRequestForm(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		form := ticketevent.RequestForm{Template: "tpl-b", Name: "New monitor", Answers: []wire.FormAnswer{{Key: "size", Label: "Size", Value: "27 inch"}}}
		tk, evs := newTicket("t1", "d1", "r1", t0)
		tk.Type = store.TypeRequest
		evs = append(evs, store.TicketEvent{Time: t0, Actor: "device:d1", Data: form})
		if _, _, err := s.CreateTicket(ctx, tk, evs, nil); err != nil {
			t.Fatal(err)
		}
		mustCreateTicket(t, s, "t2", "d1", "r2", t0)
		got, err := s.GetTicket(ctx, "t1")
		if err != nil || got.Request == nil || got.Type != store.TypeRequest {
			t.Fatalf("ticket %+v %v: want the request form", got, err)
		}
		if diff := cmp.Diff(form, *got.Request); diff != "" {
			t.Fatalf("form (-want +got):\n%s", diff)
		}
		if other, _ := s.GetTicket(ctx, "t2"); other.Request != nil {
			t.Fatalf("an incident has a form: %+v", other.Request)
		}
	})
}
