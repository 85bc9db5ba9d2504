package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/api"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

type ticketFixture struct {
	fixture
	svc *tickets.Service
	now func() time.Time
	set func(time.Time)
}

// setupTickets is the API fixture with a ticket service on a settable
// clock.
func setupTickets(t *testing.T) ticketFixture {
	t.Helper()
	f := setup(t)
	var mu sync.Mutex
	now := time.Now().UTC()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	svc, err := tickets.New(tickets.Config{Store: f.store, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	f.api, err = api.New(api.Config{Store: f.store, Now: clock, Tickets: svc})
	if err != nil {
		t.Fatal(err)
	}
	return ticketFixture{fixture: f, svc: svc, now: clock, set: func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }}
}

func (f ticketFixture) file(t *testing.T, req, text string) store.Ticket {
	t.Helper()
	tk, _, err := f.svc.File(t.Context(), f.device, "<b>pc</b>", wire.HelpRequest{RequestID: req, Text: text, Category: "cannot-connect",
		Snapshot: wire.Snapshot{Checks: []diag.CheckResult{{Name: "dns-resolution", Status: diag.StatusFailing, Summary: "<script>x</script>"}}}})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

type ticketAnswer struct {
	Ticket struct {
		store.Ticket
		SLA tickets.SLA `json:"sla"`
	} `json:"ticket"`
	Timeline []store.TicketEvent `json:"timeline"`
	Links    []store.TicketLink  `json:"links"`
}

func decode[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return v
}

// TestTicketRoutes walks a ticket through every route as a tier 1
// technician, checking each answer.
func TestTicketRoutes(t *testing.T) {
	f := setupTickets(t)
	tier1 := f.tokens[store.RoleTier1]
	tk := f.file(t, "req-1", "<img src=x onerror=alert(1)> VPN is down")
	other := f.file(t, "req-2", "printer")
	base := "/api/v1/tickets/" + tk.ID

	// The queue and the ticket with snapshot, timeline, SLA clock; agent
	// text stays data (HTML-escaped in JSON).
	rec := f.call(t, "GET", "/api/v1/tickets?tier=1&state=new", tier1, "")
	if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "<img") || strings.Contains(rec.Body.String(), "<b>") {
		t.Fatalf("list: %d %s", rec.Code, rec.Body.String())
	}
	list := decode[struct {
		Tickets []json.RawMessage `json:"tickets"`
	}](t, rec.Body.Bytes())
	if len(list.Tickets) != 2 {
		t.Fatalf("list: %d tickets", len(list.Tickets))
	}
	rec = f.call(t, "GET", base, tier1, "")
	got := decode[ticketAnswer](t, rec.Body.Bytes())
	if rec.Code != http.StatusOK || got.Ticket.Snapshot == nil || len(got.Timeline) != 1 || got.Ticket.SLA.Limit != 15*time.Minute ||
		got.Ticket.SLA.Due == nil || strings.Contains(rec.Body.String(), "<script>") {
		t.Fatalf("get: %d %s", rec.Code, rec.Body.String())
	}

	for _, step := range []struct {
		path, body string
		check      func(a ticketAnswer) bool
	}{
		{"/assign", ``, func(a ticketAnswer) bool { return a.Ticket.Assignee == "u-tier1" && a.Ticket.State == store.TicketOpen }},
		{"/assign", `{"to":"u-tier2"}`, func(a ticketAnswer) bool { return a.Ticket.Assignee == "u-tier2" }},
		{"/collaborators", `{}`, func(a ticketAnswer) bool {
			return len(a.Ticket.Collaborators) == 1 && a.Ticket.Collaborators[0] == "u-tier1"
		}},
		{"/messages", `{"text":"Please restart the VPN client."}`, func(a ticketAnswer) bool { return a.Ticket.FirstResponseAt != nil }},
		{"/waiting", `{"state":"waiting_user","reason":"user_info"}`, func(a ticketAnswer) bool {
			return a.Ticket.State == store.TicketWaitingUser && !a.Ticket.SLA.Running
		}},
		{"/resume", ``, func(a ticketAnswer) bool { return a.Ticket.State == store.TicketOpen }},
		{"/escalate", `{"tier":2,"note":"needs the VPN concentrator logs"}`, func(a ticketAnswer) bool {
			return a.Ticket.Tier == 2 && a.Ticket.Assignee == "" && a.Ticket.SLA.Limit == 4*time.Hour
		}},
		{"/escalate", `{"tier":1,"note":"config pushed; user to confirm"}`, func(a ticketAnswer) bool { return a.Ticket.Tier == 1 }},
		{"/link", `{"other":"` + other.ID + `","kind":"related"}`, func(a ticketAnswer) bool { return true }},
		{"/resolve", `{"resolution":"VPN profile replaced"}`, func(a ticketAnswer) bool {
			return a.Ticket.State == store.TicketResolved && a.Ticket.Resolution == "VPN profile replaced"
		}},
		{"/reopen", `{"reason":"drops again"}`, func(a ticketAnswer) bool { return a.Ticket.State == store.TicketNew }},
		{"/resolve", `{"resolution":"MTU lowered"}`, func(a ticketAnswer) bool { return a.Ticket.State == store.TicketResolved }},
		{"/close", ``, func(a ticketAnswer) bool { return a.Ticket.State == store.TicketClosed }},
	} {
		rec := f.call(t, "POST", base+step.path, tier1, step.body)
		if rec.Code != http.StatusOK || !step.check(decode[ticketAnswer](t, rec.Body.Bytes())) {
			t.Fatalf("POST %s %s: %d %s", step.path, step.body, rec.Code, rec.Body.String())
		}
	}
	rec = f.call(t, "GET", base, tier1, "")
	got = decode[ticketAnswer](t, rec.Body.Bytes())
	var kinds []string
	for _, e := range got.Timeline {
		kinds = append(kinds, e.Kind())
	}
	want := "filed assigned assigned collaborator message waiting resumed escalated escalated link resolved reopened resolved closed"
	if strings.Join(kinds, " ") != want {
		t.Errorf("timeline:\n got %s\nwant %s", strings.Join(kinds, " "), want)
	}
	if len(got.Links) != 1 || got.Links[0].Other != other.ID {
		t.Errorf("links %+v", got.Links)
	}
	// Every change was audited.
	rec = f.call(t, "GET", "/api/v1/audit?action=ticket.escalate", f.tokens[store.RoleAdmin], "")
	if !strings.Contains(rec.Body.String(), "ticket.escalate") {
		t.Errorf("no ticket.escalate in the audit log: %s", rec.Body.String())
	}
	// Filters.
	for q, n := range map[string]int{"state=closed": 1, "state=new,closed": 2, "q=printer": 1, "device=" + f.device: 2, "device=nope": 0, "assignee=nobody": 0, "tier=2": 0, "limit=1": 1} {
		rec := f.call(t, "GET", "/api/v1/tickets?"+q, tier1, "")
		l := decode[struct {
			Tickets []json.RawMessage `json:"tickets"`
		}](t, rec.Body.Bytes())
		if rec.Code != http.StatusOK || len(l.Tickets) != n {
			t.Errorf("?%s: %d, %d tickets, want %d", q, rec.Code, len(l.Tickets), n)
		}
	}
}

func TestTicketRoutesBadInput(t *testing.T) {
	f := setupTickets(t)
	tier1 := f.tokens[store.RoleTier1]
	tk := f.file(t, "req-1", "help")
	base := "/api/v1/tickets/" + tk.ID
	for _, tt := range []struct {
		method, path, body string
		code               int
	}{
		{"GET", "/api/v1/tickets?tier=9", "", 400},
		{"GET", "/api/v1/tickets?tier=one", "", 400},
		{"GET", "/api/v1/tickets?state=sleeping", "", 400},
		{"GET", "/api/v1/tickets?limit=-1", "", 400},
		{"GET", "/api/v1/tickets?q=" + strings.Repeat("a", 300), "", 400},
		{"GET", "/api/v1/tickets/nope", "", 404},
		{"GET", "/api/v1/tickets?channel=fax", "", 400},
		{"GET", "/api/v1/tickets?type=problem", "", 400},
		{"POST", "/api/v1/tickets", `{"requester":"maria"}`, 400},
		{"POST", "/api/v1/tickets", `{"text":"printer jams"}`, 400},
		{"POST", "/api/v1/tickets", `{"requester":"maria","text":"x","channel":"agent"}`, 400},
		{"POST", "/api/v1/tickets", `{"requester":"maria","text":"x","type":"problem"}`, 400},
		{"POST", "/api/v1/tickets", `{"requester":"maria","text":"x","impact":"high"}`, 400},
		{"POST", "/api/v1/tickets", `{"requester":"maria","text":"x","device":"nope"}`, 400},
		{"POST", "/api/v1/tickets", `{"requester":"maria","text":"x","colour":"red"}`, 400},
		{"POST", "/api/v1/tickets", `[1,2]`, 400},
		{"POST", "/api/v1/tickets/nope/assign", `{}`, 404},
		{"POST", base + "/assign", `{"to":"a\nb"}`, 400},
		{"POST", base + "/assign", `not json`, 400},
		{"POST", base + "/assign", `{"who":"x"}`, 400},
		{"POST", base + "/escalate", `{"tier":7,"note":"x"}`, 400},
		{"POST", base + "/escalate", `{"tier":2}`, 400},
		{"POST", base + "/escalate", `{"tier":"2","note":"x"}`, 400},
		{"POST", base + "/escalate", `{"tier":1,"note":"x"}`, 409},
		{"POST", base + "/messages", `{"text":""}`, 400},
		{"POST", base + "/messages", `{"text":"` + strings.Repeat("a", 17<<10) + `"}`, 400},
		{"POST", base + "/waiting", `{"state":"waiting_user","reason":"coffee"}`, 400},
		{"POST", base + "/waiting", `{"state":"resolved","reason":"user_info"}`, 400},
		{"POST", base + "/resume", ``, 409},
		{"POST", base + "/resolve", `{}`, 400},
		{"POST", base + "/reopen", ``, 409},
		{"POST", base + "/close", ``, 409},
		{"POST", base + "/link", `{"other":"nope","kind":"related"}`, 404},
		{"POST", base + "/link", `{"other":"` + tk.ID + `","kind":"related"}`, 400},
		{"POST", base + "/link", `{"other":"x","kind":"sibling"}`, 400},
		{"GET", "/api/v1/metrics/support?from=yesterday", "", 400},
		{"GET", "/api/v1/metrics/support?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", "", 400},
	} {
		rec := f.call(t, tt.method, tt.path, tier1, tt.body)
		if rec.Code != tt.code {
			t.Errorf("%s %s %.60s: %d %s, want %d", tt.method, tt.path, tt.body, rec.Code, rec.Body.String(), tt.code)
		}
		var e wire.APIError
		if json.Unmarshal(rec.Body.Bytes(), &e); e.Error == "" {
			t.Errorf("%s %s: no error message: %s", tt.method, tt.path, rec.Body.String())
		}
	}
	if evs, _ := f.store.TicketEvents(t.Context(), tk.ID); len(evs) != 1 {
		t.Errorf("refused requests left %d events", len(evs))
	}
	// Without a token: 401; without a ticket service: 503.
	if rec := f.call(t, "GET", "/api/v1/tickets", "", ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("no token: %d", rec.Code)
	}
	plain := setup(t)
	if rec := plain.call(t, "GET", "/api/v1/tickets", plain.tokens[store.RoleTier1], ""); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("no ticket service: %d", rec.Code)
	}
}

func TestSupportMetricsRoute(t *testing.T) {
	f := setupTickets(t)
	start := f.now()
	tk := f.file(t, "req-1", "help")
	f.set(start.Add(3 * time.Minute))
	if _, err := f.svc.Resolve(t.Context(), tk.ID, "ana", "fixed"); err != nil {
		t.Fatal(err)
	}
	from := start.Add(-time.Hour).Format(time.RFC3339)
	to := start.Add(time.Hour).Format(time.RFC3339)
	rec := f.call(t, "GET", "/api/v1/metrics/support?from="+from+"&to="+to, f.tokens[store.RoleTier1], "")
	m := decode[tickets.Metrics](t, rec.Body.Bytes())
	if rec.Code != http.StatusOK || m.Tickets != 1 || m.Overall.Resolved != 1 || m.FirstContactResolution != 1 || m.Tiers[0].TimeToResolve.Mean != 180 {
		t.Errorf("metrics: %d %s", rec.Code, rec.Body.String())
	}
	// Default period: the last 30 days.
	rec = f.call(t, "GET", "/api/v1/metrics/support", f.tokens[store.RoleTier1], "")
	if m := decode[tickets.Metrics](t, rec.Body.Bytes()); rec.Code != http.StatusOK || m.Tickets != 1 {
		t.Errorf("default period: %d %s", rec.Code, rec.Body.String())
	}
}

func TestRoutingRoutes(t *testing.T) {
	f := setupTickets(t)
	admin, tier1 := f.tokens[store.RoleAdmin], f.tokens[store.RoleTier1]
	if rec := f.call(t, "GET", "/api/v1/settings/ticket-routing", tier1, ""); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"rules": []`) {
		t.Fatalf("empty rules: %d %s", rec.Code, rec.Body.String())
	}
	good := `{"rules":[{"name":"vpn","check":"vpn-reachable","tier":2,"queue":"network"}]}`
	if rec := f.call(t, "PUT", "/api/v1/settings/ticket-routing", tier1, good); rec.Code != http.StatusForbidden {
		t.Errorf("tier1 sets rules: %d", rec.Code)
	}
	for _, bad := range []string{``, `nope`, `{"rules":{}}`, `{"rules":[{"name":"all","tier":2}]}`, `{"rules":[{"name":"x","group":"g","tier":9}]}`} {
		if rec := f.call(t, "PUT", "/api/v1/settings/ticket-routing", admin, bad); rec.Code != http.StatusBadRequest {
			t.Errorf("rules %q: %d %s", bad, rec.Code, rec.Body.String())
		}
	}
	if rec := f.call(t, "PUT", "/api/v1/settings/ticket-routing", admin, good); rec.Code != http.StatusOK {
		t.Fatalf("set rules: %d %s", rec.Code, rec.Body.String())
	}
	tk, _, err := f.svc.File(t.Context(), f.device, "pc", wire.HelpRequest{RequestID: "r1", Text: "vpn",
		Snapshot: wire.Snapshot{Checks: []diag.CheckResult{{Name: "vpn-reachable", Status: diag.StatusFailing}}}})
	if err != nil || tk.Tier != 2 || tk.Queue != "network" {
		t.Errorf("routed to tier %d queue %q (%v)", tk.Tier, tk.Queue, err)
	}
}

// routeRole is the role the route table gives pattern.
func routeRole(t *testing.T, a *api.API, pattern string) store.Role {
	t.Helper()
	for _, rt := range a.Routes() {
		if rt.Pattern == pattern {
			return rt.Role
		}
	}
	t.Fatalf("no route %s", pattern)
	return ""
}

// tinyPNG is a real 2x2 PNG.
func tinyPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	img.Set(0, 0, color.RGBA{R: 255, A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestTicketScreenshotRoute(t *testing.T) {
	f := setupTickets(t)
	tier1 := f.tokens[store.RoleTier1]
	shot := tinyPNG(t)
	with, _, err := f.svc.File(t.Context(), f.device, "pc", wire.HelpRequest{RequestID: "req-shot", Text: "the error on screen", Screenshot: shot})
	if err != nil {
		t.Fatal(err)
	}
	without := f.file(t, "req-plain", "no picture")

	rec := f.call(t, "GET", "/api/v1/tickets/"+with.ID+"/screenshot", tier1, "")
	h := rec.Header()
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), shot) {
		t.Fatalf("screenshot: %d, %d bytes, want 200 and the %d bytes filed", rec.Code, rec.Body.Len(), len(shot))
	}
	if h.Get("Content-Type") != "image/png" || h.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(h.Get("Content-Disposition"), "inline") ||
		!strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("screenshot headers: %v", h)
	}
	// The ticket says it has one; the other ticket has none: 404 with a
	// message saying so.
	rec = f.call(t, "GET", "/api/v1/tickets/"+with.ID, tier1, "")
	if got := decode[ticketAnswer](t, rec.Body.Bytes()); !got.Ticket.HasScreenshot {
		t.Errorf("ticket with a screenshot: has_screenshot false: %s", rec.Body.String())
	}
	for path, want := range map[string]string{
		"/api/v1/tickets/" + without.ID + "/screenshot": "has no screenshot",
		"/api/v1/tickets/nope/screenshot":               "GET /api/v1/tickets",
	} {
		rec := f.call(t, "GET", path, tier1, "")
		var e wire.APIError
		if json.Unmarshal(rec.Body.Bytes(), &e); rec.Code != http.StatusNotFound || !strings.Contains(e.Error, want) {
			t.Errorf("%s: %d %s, want 404 saying %q", path, rec.Code, rec.Body.String(), want)
		}
	}
	// Every technician may see it (tier1, the least role); nobody without
	// a token. TestRoleMatrix walks the same table.
	if r := routeRole(t, f.api, "GET /api/v1/tickets/{id}/screenshot"); r != store.RoleTier1 {
		t.Errorf("screenshot route role %s, want tier1", r)
	}
	for _, role := range store.Roles {
		if rec := f.call(t, "GET", "/api/v1/tickets/"+with.ID+"/screenshot", f.tokens[role], ""); rec.Code != http.StatusOK {
			t.Errorf("screenshot as %s: %d", role, rec.Code)
		}
	}
	if rec := f.call(t, "GET", "/api/v1/tickets/"+with.ID+"/screenshot", "", ""); rec.Code != http.StatusUnauthorized || bytes.Equal(rec.Body.Bytes(), shot) {
		t.Errorf("screenshot without a token: %d", rec.Code)
	}
}

func TestTicketPriorityRoute(t *testing.T) {
	f := setupTickets(t)
	tier1 := f.tokens[store.RoleTier1]
	tk := f.file(t, "req-1", "the whole floor is offline")
	base := "/api/v1/tickets/" + tk.ID
	if tk.Impact != tickets.DefaultImpact || tk.Urgency != tickets.DefaultUrgency {
		t.Fatalf("filed with impact %d urgency %d", tk.Impact, tk.Urgency)
	}
	rec := f.call(t, "POST", base+"/priority", tier1, `{"impact":1,"urgency":2}`)
	got := decode[ticketAnswer](t, rec.Body.Bytes())
	if rec.Code != http.StatusOK || got.Ticket.Impact != 1 || got.Ticket.Urgency != 2 || got.Ticket.Priority != tickets.Priority(1, 2) {
		t.Fatalf("set priority: %d %s", rec.Code, rec.Body.String())
	}
	for _, tt := range []struct {
		body, want string
		code       int
	}{
		{`{"impact":0,"urgency":2}`, "1 (high) to 3 (low)", 400},
		{`{"impact":1,"urgency":4}`, "1 (high) to 3 (low)", 400},
		{`{"impact":1}`, `"urgency"`, 400},
		{`{}`, `"impact"`, 400},
		{``, `"impact"`, 400},
		{`{"impact":"high","urgency":1}`, "request body", 400},
		{`{"impact":1,"urgency":1,"priority":1}`, "request body", 400},
	} {
		rec := f.call(t, "POST", base+"/priority", tier1, tt.body)
		var e wire.APIError
		if json.Unmarshal(rec.Body.Bytes(), &e); rec.Code != tt.code || !strings.Contains(e.Error, tt.want) {
			t.Errorf("priority %s: %d %s, want %d saying %q", tt.body, rec.Code, rec.Body.String(), tt.code, tt.want)
		}
	}
	if rec := f.call(t, "POST", "/api/v1/tickets/nope/priority", tier1, `{"impact":1,"urgency":1}`); rec.Code != http.StatusNotFound {
		t.Errorf("priority of an unknown ticket: %d", rec.Code)
	}
	if rec := f.call(t, "POST", base+"/priority", "", `{"impact":1,"urgency":1}`); rec.Code != http.StatusUnauthorized {
		t.Errorf("priority without a token: %d", rec.Code)
	}
	if r := routeRole(t, f.api, "POST /api/v1/tickets/{id}/priority"); r != store.RoleTier1 {
		t.Errorf("priority route role %s, want tier1", r)
	}
	// The change is on the timeline and in the audit log; refused ones
	// left nothing on the ticket.
	rec = f.call(t, "GET", base, tier1, "")
	got = decode[ticketAnswer](t, rec.Body.Bytes())
	var kinds []string
	for _, e := range got.Timeline {
		kinds = append(kinds, e.Kind())
	}
	if strings.Join(kinds, " ") != "filed priority" || got.Ticket.Priority != 2 {
		t.Errorf("after priority: P%d, timeline %v", got.Ticket.Priority, kinds)
	}
	rec = f.call(t, "GET", "/api/v1/audit?action=ticket.priority", f.tokens[store.RoleAdmin], "")
	if !strings.Contains(rec.Body.String(), `"ok"`) || !strings.Contains(rec.Body.String(), `"refused"`) {
		t.Errorf("audit of ticket.priority: %s", rec.Body.String())
	}
}

func TestTicketLinkByNumber(t *testing.T) {
	f := setupTickets(t)
	tier1 := f.tokens[store.RoleTier1]
	a := f.file(t, "req-1", "mail is down")
	b := f.file(t, "req-2", "mail is down for me too")
	// A third ticket whose text names #1 must not be taken for it.
	f.file(t, "req-3", fmt.Sprintf("same as #%d", a.Number))
	rec := f.call(t, "POST", "/api/v1/tickets/"+b.ID+"/link", tier1, fmt.Sprintf(`{"number":%d,"kind":"duplicate"}`, a.Number))
	if rec.Code != http.StatusOK {
		t.Fatalf("link by number: %d %s", rec.Code, rec.Body.String())
	}
	rec = f.call(t, "GET", "/api/v1/tickets/"+b.ID, tier1, "")
	if got := decode[ticketAnswer](t, rec.Body.Bytes()); len(got.Links) != 1 || got.Links[0].Other != a.ID || got.Links[0].Kind != "duplicate" {
		t.Errorf("links %+v", got.Links)
	}
	for body, code := range map[string]int{
		`{"number":999,"kind":"related"}`:                                        404,
		`{"number":-1,"kind":"related"}`:                                         400,
		fmt.Sprintf(`{"number":%d,"kind":"related"}`, b.Number):                  400, // itself
		fmt.Sprintf(`{"number":%d,"other":%q,"kind":"related"}`, a.Number, a.ID): 400,
	} {
		rec := f.call(t, "POST", "/api/v1/tickets/"+b.ID+"/link", tier1, body)
		if rec.Code != code {
			t.Errorf("link %s: %d %s, want %d", body, rec.Code, rec.Body.String(), code)
		}
	}
}

// A technician files a ticket for a caller without a device: 201 with the
// ticket, 200 with the same ticket when the client retries with its
// request id; the list finds it by channel.
func TestOpenTicketRoute(t *testing.T) {
	f := setupTickets(t)
	tier1 := f.tokens[store.RoleTier1]
	body := `{"requester":"Maria Lopez","text":"Laptop will not boot","channel":"walk-in","type":"incident","urgency":1,"request_id":"desk-1"}`
	var got struct {
		Ticket  store.Ticket `json:"ticket"`
		Created bool         `json:"created"`
	}
	rec := f.call(t, "POST", "/api/v1/tickets", tier1, body)
	if err := json.Unmarshal(rec.Body.Bytes(), &got); rec.Code != http.StatusCreated || err != nil || !got.Created {
		t.Fatalf("open: %d %s", rec.Code, rec.Body.String())
	}
	if got.Ticket.Channel != "walk-in" || got.Ticket.Requester != "Maria Lopez" || got.Ticket.Urgency != 1 || got.Ticket.Number == 0 {
		t.Errorf("opened ticket: %+v", got.Ticket)
	}
	first := got.Ticket.ID
	rec = f.call(t, "POST", "/api/v1/tickets", tier1, body)
	if err := json.Unmarshal(rec.Body.Bytes(), &got); rec.Code != http.StatusOK || err != nil || got.Created || got.Ticket.ID != first {
		t.Errorf("retried open: %d %s; want 200 and ticket %s", rec.Code, rec.Body.String(), first)
	}
	var l struct {
		Tickets []store.Ticket `json:"tickets"`
	}
	rec = f.call(t, "GET", "/api/v1/tickets?channel=walk-in", tier1, "")
	if err := json.Unmarshal(rec.Body.Bytes(), &l); err != nil || len(l.Tickets) != 1 || l.Tickets[0].ID != first {
		t.Errorf("tickets by channel: %d %s", rec.Code, rec.Body.String())
	}
}

// Assignment modes are set by admins and read back; bad modes get a 400;
// a technician says they are available and GET /api/v1/me says so.
func TestAssignmentRoutes(t *testing.T) {
	f := setupTickets(t)
	admin, tier1 := f.tokens[store.RoleAdmin], f.tokens[store.RoleTier1]
	rec := f.call(t, "PUT", "/api/v1/settings/assignment", admin, `{"tiers":{"1":"round_robin","2":""}}`)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"1": "round_robin"`) || strings.Contains(rec.Body.String(), `"2"`) {
		t.Fatalf("put: %d %s", rec.Code, rec.Body.String())
	}
	if rec := f.call(t, "GET", "/api/v1/settings/assignment", tier1, ""); !strings.Contains(rec.Body.String(), `"round_robin"`) {
		t.Errorf("get: %d %s", rec.Code, rec.Body.String())
	}
	for _, bad := range []string{`{"tiers":{"1":"random"}}`, `{"tiers":{"4":"round_robin"}}`, `{"tiers":{"one":"round_robin"}}`, `{"tiers":[1]}`, `{"modes":{}}`} {
		if rec := f.call(t, "PUT", "/api/v1/settings/assignment", admin, bad); rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d %s", bad, rec.Code, rec.Body.String())
		}
	}
	for _, bad := range []string{`{}`, `{"available":"yes"}`, `{"available":true,"x":1}`} {
		if rec := f.call(t, "PUT", "/api/v1/me/availability", tier1, bad); rec.Code != http.StatusBadRequest {
			t.Errorf("availability %s: %d %s", bad, rec.Code, rec.Body.String())
		}
	}
	if rec := f.call(t, "PUT", "/api/v1/me/availability", tier1, `{"available":true}`); rec.Code != http.StatusOK {
		t.Fatalf("availability: %d %s", rec.Code, rec.Body.String())
	}
	if rec := f.call(t, "GET", "/api/v1/me", tier1, ""); !strings.Contains(rec.Body.String(), `"available": true`) {
		t.Errorf("me: %s", rec.Body.String())
	}
}
