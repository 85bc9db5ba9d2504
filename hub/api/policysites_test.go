package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/shared/wire"
)

// TestPolicySites: an admin limited to site A keeps policies to A only,
// reads the shared ones and A's, not B's, and A's device is told its
// site's policy; an admin of every site saves shared ones.
func TestPolicySites(t *testing.T) {
	f := setupSites(t, storetest.Open(t))
	admin, adminA, tier1A := f.tokens[store.RoleAdmin], f.limited["admin@A"], f.limited["tier1@A"]
	for _, c := range []struct {
		tok, path string
		want      int
	}{
		{adminA, "/api/v1/policies/lab", http.StatusForbidden},
		{adminA, "/api/v1/policies/lab?site=B", http.StatusForbidden},
		{adminA, "/api/v1/policies/lab?site=bad%20site", http.StatusBadRequest},
		{tier1A, "/api/v1/policies/lab?site=A", http.StatusForbidden},
		{admin, "/api/v1/policies/lab", http.StatusOK},
		{adminA, "/api/v1/policies/lab?site=A", http.StatusOK},
	} {
		rec := f.call(t, "PUT", c.path, c.tok, `{"dns_names":["`+strings.NewReplacer("?site=", ".", "/api/v1/policies/", "", "%20", "-").Replace(c.path)+`.example"]}`)
		if rec.Code != c.want {
			t.Errorf("PUT %s: %d %s, want %d", c.path, rec.Code, rec.Body.String(), c.want)
		}
	}
	if rec := f.call(t, "PUT", "/api/v1/policies/lab", adminA, `{}`); !strings.Contains(rec.Body.String(), "?site=NAME") {
		t.Errorf("the refusal does not say what to do: %s", rec.Body.String())
	}
	rec := f.call(t, "GET", "/api/v1/policies", tier1A, "")
	ps := decode[struct{ Policies []store.Policy }](t, rec.Body.Bytes()).Policies
	if len(ps) != 2 || ps[0].Site != "" || ps[1].Site != "A" || ps[1].Doc.DNSNames[0] != "lab.A.example" {
		t.Errorf("policies as tier1 of A: %s", rec.Body.String())
	}
	if rec := f.call(t, "GET", "/api/v1/policies/lab?site=A", tier1A, ""); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"site": "A"`) {
		t.Errorf("A's policy as tier1 of A: %d %s", rec.Code, rec.Body.String())
	}
	if rec := f.call(t, "GET", "/api/v1/policies/lab/versions?site=A", tier1A, ""); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"version": 2`) {
		t.Errorf("A's versions: %d %s", rec.Code, rec.Body.String())
	}
	// A's device in group lab gets A's; B's device in lab the shared one.
	for dev, want := range map[string]string{f.aDev: `"site": "A"`, f.bDev: `"site": ""`} {
		if rec := f.call(t, "POST", "/api/v1/devices/"+dev+"/group", admin, `{"group":"lab"}`); rec.Code != http.StatusOK {
			t.Fatalf("move to lab: %d %s", rec.Code, rec.Body.String())
		}
		if rec := f.call(t, "GET", "/api/v1/devices/"+dev+"/policy", admin, ""); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("policy state of %s: %d %s, want %s", dev, rec.Code, rec.Body.String(), want)
		}
	}
}

// TestProblemTicketsPerSite: a shared problem counts only the caller's
// sites' tickets.
func TestProblemTicketsPerSite(t *testing.T) {
	f := setupSites(t, storetest.Open(t))
	admin := f.tokens[store.RoleAdmin]
	aTk, _, err := f.svc.File(context.Background(), f.aDev, "ahost", wire.HelpRequest{RequestID: "a1", Text: "alpha", Category: "other"})
	if err != nil {
		t.Fatal(err)
	}
	rec := f.call(t, "POST", "/api/v1/problems", admin, `{"title":"shared outage"}`)
	id := decode[store.Problem](t, rec.Body.Bytes()).ID
	for _, tk := range []string{aTk.ID, f.bTicket} {
		if rec := f.call(t, "POST", "/api/v1/problems/"+id+"/tickets", admin, `{"ticket":"`+tk+`"}`); rec.Code != http.StatusOK {
			t.Fatalf("link %s: %d %s", tk, rec.Code, rec.Body.String())
		}
	}
	for tok, want := range map[string]int{admin: 2, f.limited["tier1@A"]: 1} {
		if p := decode[struct{ Problem store.Problem }](t, f.call(t, "GET", "/api/v1/problems/"+id, tok, "").Body.Bytes()).Problem; p.Tickets != want {
			t.Errorf("problem's tickets: %d, want %d", p.Tickets, want)
		}
		ps := decode[struct{ Problems []store.Problem }](t, f.call(t, "GET", "/api/v1/problems", tok, "").Body.Bytes()).Problems
		for _, p := range ps {
			if p.ID == id && p.Tickets != want {
				t.Errorf("listed problem's tickets: %d, want %d", p.Tickets, want)
			}
		}
	}
}
