package api_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/api"
	"github.com/tierline/tierline/hub/auth"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/wire"
)

// siteFixture is the API with two sites: A and B each have a device, B a
// ticket and a fix run; callers of every role are limited to A (users of
// site A, and an all-sites admin's token narrowed to A).
type siteFixture struct {
	fixture
	svc *tickets.Service
	// limited callers by name: "tier1@A", ..., "admin-token@A".
	limited     map[string]string
	limitedRole map[string]store.Role
	aDev, bDev  string
	bTicket     string
	bRun        string
	bArticle    string
	bProblem    string
	bVendor     string
	bPolicy     int64
	// secrets are texts only site B's records hold.
	secrets []string
}

func enrollAt(t *testing.T, st *store.Store, site, host string) string {
	t.Helper()
	ctx := context.Background()
	tok, secret, err := api.NewToken(time.Now(), "1h", 1, "", "test")
	if err != nil {
		t.Fatal(err)
	}
	tok.Site = site
	if err := st.CreateToken(ctx, tok, auth.HashSecret(secret)); err != nil {
		t.Fatal(err)
	}
	d, err := st.EnrollDevice(ctx, auth.HashSecret(secret), store.Device{ID: wire.NewID(), PublicKey: make([]byte, 32), Hostname: host, OS: "linux"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if d.Site != site {
		t.Fatalf("device enrolled with a token of site %s is in site %q", site, d.Site)
	}
	return d.ID
}

func setupSites(t *testing.T, st *store.Store) siteFixture {
	t.Helper()
	ctx := context.Background()
	base := setupOn(t, st)
	svc, err := tickets.New(tickets.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	base.api, err = api.New(api.Config{Store: st, Tickets: svc, EnrollToken: func(s string) (string, error) { return "tl1.test" + s, nil }})
	if err != nil {
		t.Fatal(err)
	}
	f := siteFixture{fixture: base, svc: svc, limited: map[string]string{}, limitedRole: map[string]store.Role{}}
	now := time.Now()
	token := func(userID string, sites []string) string {
		secret := auth.APITokenPrefix + auth.Secret(32)
		if err := st.CreateAPIToken(ctx, store.APIToken{ID: wire.NewID()[:12], UserID: userID, CreatedAt: now, ExpiresAt: now.Add(time.Hour), Sites: sites}, auth.HashSecret(secret)); err != nil {
			t.Fatal(err)
		}
		return secret
	}
	for _, r := range store.Roles {
		u := store.User{ID: wire.NewID(), Name: "a-" + string(r), Role: r, PasswordHash: "x", CreatedAt: now, Sites: []string{"A"}}
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		name := string(r) + "@A"
		f.limited[name], f.limitedRole[name] = token(u.ID, nil), r
	}
	admin, err := st.GetUserByName(ctx, "u-admin")
	if err != nil {
		t.Fatal(err)
	}
	f.limited["admin-token@A"], f.limitedRole["admin-token@A"] = token(admin.ID, []string{"A"}), store.RoleAdmin

	f.aDev = enrollAt(t, st, "A", "ahost")
	f.bDev = enrollAt(t, st, "B", "bhost-secret")
	tk, _, err := svc.File(ctx, f.bDev, "bhost-secret", wire.HelpRequest{RequestID: "b1", Text: "bticket-secret printer on fire", Category: "other"})
	if err != nil {
		t.Fatal(err)
	}
	if tk.Site != "B" {
		t.Fatalf("ticket of a site B device is in site %q", tk.Site)
	}
	f.bTicket = tk.ID
	admin0 := f.tokens[store.RoleAdmin]
	rec := f.call(t, "POST", "/api/v1/devices/"+f.bDev+"/runs", admin0, runBody(catalog.FlushDNS))
	run := decode[struct{ Run store.Run }](t, rec.Body.Bytes()).Run
	if rec.Code != http.StatusAccepted || run.ID == "" {
		t.Fatalf("run on B: %d %s", rec.Code, rec.Body.String())
	}
	f.bRun = run.ID
	f.secrets = []string{"bhost-secret", "bticket-secret", "barticle-secret", "bproblem-secret", "bvendor-secret", "bpolicy-secret"}
	rec = f.call(t, "PUT", "/api/v1/policies/bgroup?site=B", admin0, `{"dns_names":["bpolicy-secret.example"]}`)
	f.bPolicy = decode[store.Policy](t, rec.Body.Bytes()).Version
	if rec.Code != http.StatusOK || f.bPolicy == 0 {
		t.Fatalf("policy of B: %d %s", rec.Code, rec.Body.String())
	}
	rec = f.call(t, "POST", "/api/v1/articles", admin0, `{"title":"barticle-secret","body":"only site B","site":"B"}`)
	f.bArticle = decode[store.Article](t, rec.Body.Bytes()).ID
	if rec.Code != http.StatusCreated || f.bArticle == "" {
		t.Fatalf("article of B: %d %s", rec.Code, rec.Body.String())
	}
	rec = f.call(t, "POST", "/api/v1/problems", admin0, `{"title":"bproblem-secret","site":"B"}`)
	f.bProblem = decode[store.Problem](t, rec.Body.Bytes()).ID
	if rec.Code != http.StatusCreated || f.bProblem == "" {
		t.Fatalf("problem of B: %d %s", rec.Code, rec.Body.String())
	}
	rec = f.call(t, "POST", "/api/v1/vendors", admin0, `{"name":"bvendor-secret","email":"v@example.com","site":"B"}`)
	f.bVendor = decode[store.Vendor](t, rec.Body.Bytes()).ID
	if rec.Code != http.StatusCreated || f.bVendor == "" {
		t.Fatalf("vendor of B: %d %s", rec.Code, rec.Body.String())
	}
	return f
}

// siteProbe is a route's path and body aimed at site B's records.
func (f siteFixture) siteProbe(pattern string) (method, path, body string) {
	method, path, _ = strings.Cut(pattern, " ")
	id := f.bDev
	switch api.SiteRule(pattern) {
	case "ticket":
		id = f.bTicket
	case "run":
		id = f.bRun
	}
	switch {
	case strings.HasPrefix(path, "/api/v1/articles/"):
		id = f.bArticle
	case strings.HasPrefix(path, "/api/v1/problems/"):
		id = f.bProblem
	case strings.HasPrefix(path, "/api/v1/vendors/"):
		id = f.bVendor
	}
	path = strings.NewReplacer("{id}", id, "{att}", "x", "{group}", "bgroup", "{version}", "1.0.0", "{os}", "linux", "{arch}", "amd64").Replace(path)
	path = strings.TrimSuffix(strings.ReplaceAll(path, "//", "/"), "/")
	if strings.HasPrefix(path, "/api/v1/policies/") {
		path += "?site=B"
	}
	if method != "GET" {
		body = "{}"
	}
	switch pattern {
	case "POST /api/v1/tickets":
		body = `{"device":"` + f.bDev + `","text":"from A","request_id":"probe"}`
	case "POST /api/v1/batches":
		body = `{"fix":"` + catalog.FlushDNS + `","params":{},"devices":["` + f.bDev + `"]}`
	case "POST /api/v1/devices/{id}/runs":
		body = runBody(catalog.FlushDNS)
	case "POST /api/v1/problems/{id}/tickets":
		body = `{"ticket":"` + f.bTicket + `"}`
	case "POST /api/v1/devices/{id}/site":
		body = `{"site":"A"}`
	case "POST /api/v1/tickets/{id}/messages":
		body = `{"text":"hello from A"}`
	case "POST /api/v1/tickets/{id}/resolve":
		body = `{"resolution":"done from A"}`
	case "PUT /api/v1/articles/{id}":
		body = `{"title":"taken by A","body":"x"}`
	case "PUT /api/v1/problems/{id}":
		body = `{"title":"taken by A"}`
	case "PUT /api/v1/vendors/{id}":
		body = `{"name":"taken-by-a","email":"a@example.com"}`
	}
	return method, path, body
}

// TestSiteMatrix is the role x site matrix: every route of the router, as
// a caller of every role limited to site A, aimed at site B's device,
// ticket, run, article, problem and vendor. Nothing of site B comes back,
// nothing of site B changes, routes over every site refuse the caller,
// and a route without a site rule fails here.
func TestSiteMatrix(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, st *store.Store) {
		f := setupSites(t, st)
		ctx := context.Background()
		// A ticket of A linked to B's by a technician of every site shows
		// the link to callers of every site only.
		aTk, _, err := f.svc.File(ctx, f.aDev, "ahost", wire.HelpRequest{RequestID: "a1", Text: "alpha ticket", Category: "other"})
		if err != nil {
			t.Fatal(err)
		}
		if rec := f.call(t, "POST", "/api/v1/tickets/"+aTk.ID+"/link", f.tokens[store.RoleAdmin], `{"other":"`+f.bTicket+`","kind":"related"}`); rec.Code != http.StatusOK {
			t.Fatalf("link A's ticket to B's: %d %s", rec.Code, rec.Body.String())
		}
		if rec := f.call(t, "GET", "/api/v1/tickets/"+aTk.ID, f.tokens[store.RoleTier1], ""); !strings.Contains(rec.Body.String(), f.bTicket) {
			t.Errorf("an all-sites tier1 does not see the link to B's ticket: %s", rec.Body.String())
		}
		// Neither the list of links nor the timeline's link event names
		// B's ticket.
		rec := f.call(t, "GET", "/api/v1/tickets/"+aTk.ID, f.limited["tier1@A"], "")
		links := decode[struct{ Links []store.TicketLink }](t, rec.Body.Bytes()).Links
		if rec.Code != http.StatusOK || len(links) != 0 || strings.Contains(rec.Body.String(), "bticket-secret") || strings.Contains(rec.Body.String(), f.bTicket) {
			t.Errorf("A's ticket linked to B's, as tier1 of A: %d %s", rec.Code, rec.Body.String())
		}
		eventsBefore, err := st.TicketEvents(ctx, f.bTicket)
		if err != nil {
			t.Fatal(err)
		}
		// Controls: an all-sites caller sees B; a caller of A sees A.
		if rec := f.call(t, "GET", "/api/v1/devices/"+f.bDev, f.tokens[store.RoleTier1], ""); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "bhost-secret") {
			t.Fatalf("an all-sites tier1 does not see B's device: %d %s", rec.Code, rec.Body.String())
		}
		if rec := f.call(t, "GET", "/api/v1/devices", f.limited["tier1@A"], ""); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "ahost") {
			t.Fatalf("tier1 of A does not see A's device: %d %s", rec.Code, rec.Body.String())
		}
		for _, rt := range f.api.Routes() {
			rule := api.SiteRule(rt.Pattern)
			if rule == "" {
				t.Errorf("%s has no site rule: add it to routeSites in hub/api/sites.go", rt.Pattern)
				continue
			}
			method, path, body := f.siteProbe(rt.Pattern)
			for name, tok := range f.limited {
				if f.limitedRole[name].Rank() < rt.Role.Rank() {
					continue
				}
				rec := f.call(t, method, path, tok, body)
				got := rec.Body.String()
				if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
					t.Errorf("%s as %s: %d %s", rt.Pattern, name, rec.Code, got)
				}
				if rule == "every" && rec.Code != http.StatusForbidden {
					t.Errorf("%s as %s (every site): %d, want 403", rt.Pattern, name, rec.Code)
				}
				if (rule == "device" || rule == "ticket" || rule == "run") && rec.Code != http.StatusNotFound {
					t.Errorf("%s as %s on B's %s: %d %s, want 404", rt.Pattern, name, rule, rec.Code, got)
				}
				for _, s := range append([]string{f.bDev, f.bTicket, f.bRun}, f.secrets...) {
					// An id the caller sent may come back in an error;
					// anything else of B may not.
					if strings.Contains(got, s) && !strings.Contains(path+body, s) {
						t.Errorf("%s %s as %s shows site B's %q: %s", method, path, name, s, got)
					}
				}
			}
		}
		// Nothing of B changed.
		eventsAfter, err := st.TicketEvents(ctx, f.bTicket)
		if err != nil {
			t.Fatal(err)
		}
		if len(eventsAfter) != len(eventsBefore) {
			t.Errorf("B's ticket got %d events from callers of A", len(eventsAfter)-len(eventsBefore))
		}
		runs, err := st.ListRuns(ctx, store.RunFilter{DeviceID: f.bDev})
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) != 1 || runs[0].State == "cancelled" {
			t.Errorf("B's runs after callers of A: %+v", runs)
		}
		d, err := st.GetDevice(ctx, f.bDev)
		if err != nil || d.Site != "B" || d.RevokedAt != nil || d.Group != "" {
			t.Errorf("B's device after callers of A: %+v %v", d, err)
		}
		for _, c := range []struct{ path, secret string }{{"/api/v1/articles/" + f.bArticle, "barticle-secret"}, {"/api/v1/problems/" + f.bProblem, "bproblem-secret"},
			{"/api/v1/vendors/" + f.bVendor, "bvendor-secret"}, {"/api/v1/policies/bgroup?site=B", `"version": ` + strconv.FormatInt(f.bPolicy, 10)}} {
			if rec := f.call(t, "GET", c.path, f.tokens[store.RoleAdmin], ""); !strings.Contains(rec.Body.String(), c.secret) {
				t.Errorf("%s after callers of A: %d %s", c.path, rec.Code, rec.Body.String())
			}
		}
	})
}

// TestSiteCredentials: enrollment tokens, users and API tokens made by
// API carry their sites, and an API token never exceeds its user's.
func TestSiteCredentials(t *testing.T) {
	f := setupSites(t, storetest.Open(t))
	admin := f.tokens[store.RoleAdmin]
	rec := f.call(t, "POST", "/api/v1/tokens", admin, `{"site":"paris"}`)
	if rec.Code != http.StatusCreated || !strings.Contains(rec.Body.String(), `"site": "paris"`) {
		t.Errorf("enrollment token for paris: %d %s", rec.Code, rec.Body.String())
	}
	if rec := f.call(t, "POST", "/api/v1/tokens", admin, `{"site":"no spaces"}`); rec.Code != http.StatusBadRequest {
		t.Errorf("enrollment token for a bad site: %d", rec.Code)
	}
	rec = f.call(t, "POST", "/api/v1/users", admin, `{"name":"pia","role":"tier1","password":"a long password 1","sites":["paris","A"]}`)
	if rec.Code != http.StatusCreated || !strings.Contains(rec.Body.String(), `"A",`) {
		t.Fatalf("user of paris and A: %d %s", rec.Code, rec.Body.String())
	}
	for body, want := range map[string]int{
		`{"user":"pia","sites":["B"]}`:        http.StatusBadRequest,
		`{"user":"pia","sites":["A","B"]}`:    http.StatusBadRequest,
		`{"user":"pia","sites":["bad site"]}`: http.StatusBadRequest,
		`{"user":"pia","sites":["A"]}`:        http.StatusCreated,
		`{"user":"pia"}`:                      http.StatusCreated,
	} {
		if rec := f.call(t, "POST", "/api/v1/apitokens", admin, body); rec.Code != want {
			t.Errorf("API token %s: %d %s, want %d", body, rec.Code, rec.Body.String(), want)
		}
	}
	// A token narrowed to A sees A's device and not the others of pia's
	// sites; after pia loses A it sees nothing.
	rec = f.call(t, "POST", "/api/v1/apitokens", admin, `{"user":"pia","sites":["A"]}`)
	secret := decode[struct{ Secret string }](t, rec.Body.Bytes()).Secret
	if rec := f.call(t, "GET", "/api/v1/devices", secret, ""); !strings.Contains(rec.Body.String(), "ahost") || strings.Contains(rec.Body.String(), "bhost") {
		t.Errorf("pia's A token: %s", rec.Body.String())
	}
	pia, err := f.store.GetUserByName(t.Context(), "pia")
	if err != nil {
		t.Fatal(err)
	}
	if rec := f.call(t, "POST", "/api/v1/users/"+pia.ID+"/sites", admin, `{"sites":["paris"]}`); rec.Code != http.StatusOK {
		t.Fatalf("set pia's sites: %d %s", rec.Code, rec.Body.String())
	}
	if rec := f.call(t, "GET", "/api/v1/devices", secret, ""); strings.Contains(rec.Body.String(), "ahost") {
		t.Errorf("pia's A token after pia left A still sees A: %s", rec.Body.String())
	}
	if rec := f.call(t, "GET", "/api/v1/audit?action=user.sites", admin, ""); !strings.Contains(rec.Body.String(), `"to": "paris"`) {
		t.Errorf("user.sites audit: %s", rec.Body.String())
	}
}
