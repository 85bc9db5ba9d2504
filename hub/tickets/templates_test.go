package tickets_test

import (
	"errors"
	"os"
	"testing"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/shared/wire"
)

func shareTemplate() store.RequestTemplate {
	return store.RequestTemplate{RequestTemplate: wire.RequestTemplate{ID: "tpl-share", Name: "Access to a share", Category: "other",
		Tier: 2, Priority: 2, Fields: []wire.TemplateField{
			{Key: "share", Label: "Which share", Kind: wire.FieldText, Required: true, MinLen: 3, MaxLen: 100},
			{Key: "access", Label: "Access", Kind: wire.FieldChoice, Required: true, Choices: []string{"read", "read and write"}},
			{Key: "manager-ok", Label: "Has your manager agreed?", Kind: wire.FieldYesNo},
		}}, CreatedBy: "admin", CreatedAt: t0}
}

// Requests filed from a template, by a technician and from a device: a
// request in the template's tier with its priority, and its answers with
// their labels; a technician's wrong answers are refused, a device's are
// kept with the problem named, on SQLite and PostgreSQL.
func TestRequestFromTemplate(t *testing.T) {
	stores := map[string]*store.Store{"sqlite": storetest.Open(t)}
	if pg := os.Getenv(storetest.PostgresEnv); pg != "" {
		stores["postgres"] = storetest.OpenPostgres(t, pg)
	}
	for name, st := range stores {
		t.Run(name, func(t *testing.T) {
			if err := st.CreateRequestTemplate(ctx, shareTemplate()); err != nil {
				t.Fatal(err)
			}
			svc, desk := newDevices(t, st)

			tk, created, err := svc.Open(ctx, "ana", tickets.Intake{Requester: "Maria Lopez", Template: "tpl-share",
				Answers: map[string]string{"share": `\\files\finance`, "access": "read"}}, nil)
			if err != nil || !created {
				t.Fatalf("open from template: %v", err)
			}
			if tk.Type != store.TypeRequest || tk.Tier != 2 || tk.Priority != 2 || tk.Category != "other" || tk.Title != "Maria Lopez: Access to a share" {
				t.Errorf("ticket: type %s tier %d P%d category %q title %q", tk.Type, tk.Tier, tk.Priority, tk.Category, tk.Title)
			}
			got, err := st.GetTicket(ctx, tk.ID)
			if err != nil || got.Request == nil || got.Request.Name != "Access to a share" || len(got.Request.Answers) != 2 ||
				got.Request.Answers[0] != (wire.FormAnswer{Key: "share", Label: "Which share", Value: `\\files\finance`}) || got.Request.Problem != "" {
				t.Fatalf("stored form %+v %v", got.Request, err)
			}

			for name, in := range map[string]tickets.Intake{
				"required missing": {Requester: "x", Template: "tpl-share", Answers: map[string]string{"access": "read"}},
				"not a choice":     {Requester: "x", Template: "tpl-share", Answers: map[string]string{"share": "abcd", "access": "admin"}},
				"unknown template": {Requester: "x", Template: "tpl-gone", Answers: map[string]string{"share": "abcd"}},
				"incident":         {Requester: "x", Template: "tpl-share", Type: store.TypeIncident, Answers: map[string]string{"share": "abcd", "access": "read"}},
				"no template":      {Requester: "x", Text: "x", Answers: map[string]string{"share": "abcd"}},
			} {
				if _, _, err := svc.Open(ctx, "ana", in, nil); !errors.Is(err, tickets.ErrInvalid) {
					t.Errorf("%s: %v, want refused as invalid", name, err)
				}
			}

			// From a device: the same rules give the same request.
			rec, err := desk.FileHelp(ctx, "dev1", "pc-17", wire.HelpRequest{RequestID: "req-1", Text: "for the audit", User: "maria",
				Template: "tpl-share", Answers: map[string]string{"share": "finance", "access": "read and write", "manager-ok": "yes"}})
			if err != nil || rec.Tier != 2 || rec.Title != "pc-17: Access to a share" {
				t.Fatalf("device request: %+v %v", rec, err)
			}
			dt, _ := st.GetTicket(ctx, rec.TicketID)
			if dt.Type != store.TypeRequest || dt.Body != "for the audit" || dt.Request == nil || len(dt.Request.Answers) != 3 || dt.Request.Problem != "" {
				t.Fatalf("device ticket: type %s body %q form %+v", dt.Type, dt.Body, dt.Request)
			}
			// Answers the hub's template no longer takes, and a template
			// deleted since: filed all the same, the problem named.
			rec, err = desk.FileHelp(ctx, "dev1", "pc-17", wire.HelpRequest{RequestID: "req-2", Text: "Access to a share", User: "maria",
				Template: "tpl-share", Answers: map[string]string{"share": "finance", "access": "owner"}})
			if err != nil {
				t.Fatal(err)
			}
			dt, _ = st.GetTicket(ctx, rec.TicketID)
			if dt.Request == nil || dt.Request.Problem == "" || len(dt.Request.Answers) != 2 || dt.Request.Answers[1].Value != "owner" || dt.Tier != 2 {
				t.Fatalf("mismatched answers: %+v tier %d", dt.Request, dt.Tier)
			}
			if err := st.DeleteRequestTemplate(ctx, "tpl-share"); err != nil {
				t.Fatal(err)
			}
			rec, err = desk.FileHelp(ctx, "dev1", "pc-17", wire.HelpRequest{RequestID: "req-3", Text: "Access to a share", User: "maria",
				Template: "tpl-share", Answers: map[string]string{"share": "finance"}})
			if err != nil {
				t.Fatal(err)
			}
			dt, _ = st.GetTicket(ctx, rec.TicketID)
			if dt.Type != store.TypeRequest || dt.Tier != 1 || dt.Request == nil || dt.Request.Problem == "" || dt.Request.Answers[0].Value != "finance" {
				t.Fatalf("deleted template: type %s tier %d form %+v", dt.Type, dt.Tier, dt.Request)
			}
			if list, err := desk.RequestTemplates(ctx, "dev1"); err != nil || len(list) != 0 {
				t.Fatalf("templates for devices after delete: %+v %v", list, err)
			}
		})
	}
}

func TestImpactUrgencyInvertsPriority(t *testing.T) {
	for p := 1; p <= 5; p++ {
		if i, u := tickets.ImpactUrgency(p); tickets.Priority(i, u) != p {
			t.Errorf("priority %d: impact %d urgency %d make P%d", p, i, u, tickets.Priority(i, u))
		}
	}
}
