package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tierline/tierline/hub/api"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/hub/tickets"
)

const monitorJSON = `{"name":"A new monitor","description":"A second screen for your desk","category":"other","tier":2,"priority":3,
	"fields":[{"key":"size","label":"Size","kind":"choice","required":true,"choices":["24 inch","27 inch"]},
	{"key":"why","label":"What for","kind":"text","min_len":5,"max_len":200},
	{"key":"standing-desk","label":"Standing desk?","kind":"yesno"}]}`

// Admins write request templates, every technician reads them and files
// requests from them; bad templates and bad answers are refused with the
// reason; every write is audited; on SQLite and PostgreSQL.
func TestRequestTemplatesAPI(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, st *store.Store) {
		f := setupOn(t, st)
		svc, err := tickets.New(tickets.Config{Store: st})
		if err != nil {
			t.Fatal(err)
		}
		if f.api, err = api.New(api.Config{Store: st, Tickets: svc}); err != nil {
			t.Fatal(err)
		}
		admin, tier1, tier3 := f.tokens[store.RoleAdmin], f.tokens[store.RoleTier1], f.tokens[store.RoleTier3]

		if rec := f.call(t, "POST", "/api/v1/request-templates", tier3, monitorJSON); rec.Code != http.StatusForbidden {
			t.Errorf("tier3 creates a template: %d", rec.Code)
		}
		for bad, want := range map[string]string{
			`{"name":""}`:           "name is required",
			`{"name":"x","tier":5}`: "tier 5",
			`{"name":"x","fields":[{"key":"a","label":"A","kind":"date"}]}`:                         "kind",
			`{"name":"x","fields":[{"key":"a","label":"A","kind":"choice"}]}`:                       "choices",
			`{"name":"x","fields":[{"key":"a","label":"A","kind":"text","min_len":9,"max_len":3}]}`: "min_len",
			`{"name":"x","id":"mine"}`: "unknown field",
			`not json`:                 "request body",
		} {
			rec := f.call(t, "POST", "/api/v1/request-templates", admin, bad)
			if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), want) {
				t.Errorf("create %s: %d %s, want 400 saying %q", bad, rec.Code, rec.Body.String(), want)
			}
		}
		rec := f.call(t, "POST", "/api/v1/request-templates", admin, monitorJSON)
		if rec.Code != http.StatusCreated {
			t.Fatalf("create: %d %s", rec.Code, rec.Body.String())
		}
		tpl := decode[store.RequestTemplate](t, rec.Body.Bytes())
		if tpl.ID == "" || tpl.Tier != 2 || tpl.Priority != 3 || len(tpl.Fields) != 3 || tpl.CreatedBy != "u-admin" {
			t.Fatalf("created %+v", tpl)
		}
		if rec := f.call(t, "POST", "/api/v1/request-templates", admin, monitorJSON); rec.Code != http.StatusConflict {
			t.Errorf("same name again: %d", rec.Code)
		}
		list := decode[struct{ Templates []store.RequestTemplate }](t, f.call(t, "GET", "/api/v1/request-templates", tier1, "").Body.Bytes())
		if len(list.Templates) != 1 || list.Templates[0].Fields[0].Choices[1] != "27 inch" {
			t.Fatalf("tier1 lists %+v", list)
		}

		// A technician files a request from it for someone who called.
		rec = f.call(t, "POST", "/api/v1/tickets", tier1, `{"requester":"Maria","template":"`+tpl.ID+`","answers":{"size":"28 inch"}}`)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "Size: choose one of 24 inch, 27 inch") {
			t.Errorf("a wrong answer: %d %s", rec.Code, rec.Body.String())
		}
		rec = f.call(t, "POST", "/api/v1/tickets", tier1, `{"requester":"Maria","template":"`+tpl.ID+`","answers":{"size":"27 inch","why":"<b>design</b> work"}}`)
		if rec.Code != http.StatusCreated {
			t.Fatalf("file from template: %d %s", rec.Code, rec.Body.String())
		}
		tk := decode[ticketAnswer](t, rec.Body.Bytes()).Ticket
		got := decode[ticketAnswer](t, f.call(t, "GET", "/api/v1/tickets/"+tk.ID, tier1, "").Body.Bytes())
		if got.Ticket.Type != "request" || got.Ticket.Tier != 2 || got.Ticket.Priority != 3 || got.Ticket.Request == nil ||
			len(got.Ticket.Request.Answers) != 2 || got.Ticket.Request.Answers[1].Value != "<b>design</b> work" {
			t.Fatalf("ticket %+v form %+v", got.Ticket.Ticket, got.Ticket.Request)
		}

		// Changed: a required field added; the old ticket keeps its form.
		changed := strings.Replace(monitorJSON, `"A new monitor"`, `"A monitor"`, 1)
		rec = f.call(t, "PUT", "/api/v1/request-templates/"+tpl.ID, admin, changed)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"A monitor"`) {
			t.Fatalf("update: %d %s", rec.Code, rec.Body.String())
		}
		if rec := f.call(t, "PUT", "/api/v1/request-templates/"+tpl.ID, admin, `{"name":"x","priority":9}`); rec.Code != http.StatusBadRequest {
			t.Errorf("bad update: %d", rec.Code)
		}
		if rec := f.call(t, "DELETE", "/api/v1/request-templates/"+tpl.ID, tier3, ""); rec.Code != http.StatusForbidden {
			t.Errorf("tier3 deletes: %d", rec.Code)
		}
		if rec := f.call(t, "DELETE", "/api/v1/request-templates/"+tpl.ID, admin, ""); rec.Code != http.StatusOK {
			t.Errorf("delete: %d %s", rec.Code, rec.Body.String())
		}
		if rec := f.call(t, "DELETE", "/api/v1/request-templates/"+tpl.ID, admin, ""); rec.Code != http.StatusNotFound {
			t.Errorf("delete again: %d", rec.Code)
		}
		got = decode[ticketAnswer](t, f.call(t, "GET", "/api/v1/tickets/"+tk.ID, tier1, "").Body.Bytes())
		if got.Ticket.Request == nil || got.Ticket.Request.Name != "A new monitor" {
			t.Errorf("the ticket's form after the template changed and went: %+v", got.Ticket.Request)
		}

		audit := f.call(t, "GET", "/api/v1/audit?action=template.", admin, "").Body.String()
		for _, a := range []string{"template.create", "template.update", "template.delete"} {
			if !strings.Contains(audit, `"`+a+`"`) {
				t.Errorf("audit has no %s: %s", a, audit)
			}
		}
	})
}
