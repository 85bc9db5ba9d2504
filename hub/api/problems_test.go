package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/tierline/tierline/hub/store"
)

func TestProblems(t *testing.T) {
	f := setupTickets(t)
	t1 := f.file(t, "q1", "no websites load")
	t2 := f.file(t, "q2", "still no websites")
	tier2, tier3 := f.tokens[store.RoleTier2], f.tokens[store.RoleTier3]

	// Only Tier 3 and admins create problems.
	if rec := f.call(t, "POST", "/api/v1/problems", tier2, `{"title":"DNS"}`); rec.Code != http.StatusForbidden {
		t.Errorf("tier2 creates a problem: %d", rec.Code)
	}
	for _, bad := range []string{`{}`, `{"title":"a\nb"}`, `{"title":"x","state":"weird"}`, `{"title":"` + strings.Repeat("t", 201) + `"}`, `{"title":"x","from_ticket":"nope"}`} {
		if rec := f.call(t, "POST", "/api/v1/problems", tier3, bad); rec.Code != http.StatusBadRequest && rec.Code != http.StatusNotFound {
			t.Errorf("create %s: %d %s", bad, rec.Code, rec.Body.String())
		}
	}
	// Created from a ticket: takes its signature and links it.
	rec := f.call(t, "POST", "/api/v1/problems", tier3, `{"title":"Branch resolver drops queries","from_ticket":"`+t1.ID+`"}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body.String())
	}
	var p store.Problem
	json.Unmarshal(rec.Body.Bytes(), &p)
	if p.Signature != "dns-resolution" || p.Tickets != 1 || p.State != store.ProblemOpen {
		t.Errorf("problem %+v", p)
	}
	// The other ticket is linked by hand; both are on the problem, and the
	// link is on the ticket's timeline.
	if rec := f.call(t, "POST", "/api/v1/problems/"+p.ID+"/tickets", tier3, `{"ticket":"`+t2.ID+`"}`); rec.Code != http.StatusOK {
		t.Fatalf("link: %d %s", rec.Code, rec.Body.String())
	}
	if rec := f.call(t, "POST", "/api/v1/problems/"+p.ID+"/tickets", tier3, `{"ticket":"nope"}`); rec.Code != http.StatusNotFound {
		t.Errorf("link an unknown ticket: %d", rec.Code)
	}
	var got struct {
		Problem store.Problem
		Tickets []store.Ticket
	}
	json.Unmarshal(f.call(t, "GET", "/api/v1/problems/"+p.ID, f.tokens[store.RoleTier1], "").Body.Bytes(), &got)
	if got.Problem.Tickets != 2 || len(got.Tickets) != 2 {
		t.Errorf("problem detail: %+v", got)
	}
	var detail ticketAnswer
	json.Unmarshal(f.call(t, "GET", "/api/v1/tickets/"+t2.ID, tier3, "").Body.Bytes(), &detail)
	if detail.Ticket.ProblemID != p.ID || detail.Timeline[len(detail.Timeline)-1].Kind() != "problem" {
		t.Errorf("ticket after linking: problem %q, timeline %+v", detail.Ticket.ProblemID, detail.Timeline)
	}
	// Root cause and workaround: a known error.
	rec = f.call(t, "PUT", "/api/v1/problems/"+p.ID, tier3, `{"title":"Branch resolver drops queries","state":"known_error","root_cause":"MTU","workaround":"Use the secondary resolver"}`)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "known_error") {
		t.Errorf("update: %d %s", rec.Code, rec.Body.String())
	}
	if rec := f.call(t, "GET", "/api/v1/problems?state=known_error", f.tokens[store.RoleTier1], ""); !strings.Contains(rec.Body.String(), "secondary resolver") {
		t.Errorf("known errors: %s", rec.Body.String())
	}
	if rec := f.call(t, "GET", "/api/v1/problems/proposals", f.tokens[store.RoleTier1], ""); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"proposals"`) {
		t.Errorf("proposals: %d %s", rec.Code, rec.Body.String())
	}
}
