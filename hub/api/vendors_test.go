package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/api"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/hub/vendors"
)

const apiHookSecret = "api-test-secret-0123456789"

// setupVendors is the ticket fixture with a real vendor sender and a
// vendor webhook receiver that checks signatures.
func setupVendors(t *testing.T) (ticketFixture, *httptest.Server, func() []string) {
	t.Helper()
	f := setupTickets(t)
	sender, err := vendors.New(vendors.Config{Now: f.now})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := tickets.New(tickets.Config{Store: f.store, Now: f.now, Vendors: sender})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	if f.api, err = api.New(api.Config{Store: f.store, Now: f.now, Tickets: svc}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var bodies []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if err := vendors.Verify(apiHookSecret, r.Header.Get(vendors.HeaderTimestamp), r.Header.Get(vendors.HeaderSignature), b, f.now(), time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)
	return f, hook, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), bodies...) }
}

func TestVendorRoutes(t *testing.T) {
	f, hook, bodies := setupVendors(t)
	admin, tier1, tier3 := f.tokens[store.RoleAdmin], f.tokens[store.RoleTier1], f.tokens[store.RoleTier3]

	body := `{"name":"Acme","email":"support@acme.example","webhook_url":"` + hook.URL + `/hook","webhook_secret":"` + apiHookSecret +
		`","contract_ref":"C-2291","response_target":"4h"}`
	if rec := f.call(t, "POST", "/api/v1/vendors", f.tokens[store.RoleTier3], body); rec.Code != http.StatusForbidden {
		t.Fatalf("tier3 creates a vendor: %d", rec.Code)
	}
	rec := f.call(t, "POST", "/api/v1/vendors", admin, body)
	if rec.Code != http.StatusCreated || strings.Contains(rec.Body.String(), apiHookSecret) {
		t.Fatalf("create: %d %s", rec.Code, rec.Body.String())
	}
	v := decode[store.Vendor](t, rec.Body.Bytes())
	if !v.HasSecret || v.ResponseTarget != 4*time.Hour || v.ContractRef != "C-2291" {
		t.Fatalf("created %+v", v)
	}
	if rec := f.call(t, "POST", "/api/v1/vendors", admin, body); rec.Code != http.StatusConflict {
		t.Fatalf("same name again: %d", rec.Code)
	}
	for _, bad := range []string{
		`{"name":""}`,
		`{"name":"X"}`,
		`{"name":"X","email":"not an address"}`,
		`{"name":"X","webhook_url":"ftp://x.example"}`,
		`{"name":"X","webhook_url":"https://user:pw@x.example"}`,
		`{"name":"X","email":"a@x.example","webhook_secret":"short"}`,
		`{"name":"X","email":"a@x.example","response_target":"soon"}`,
		`{"name":"X","email":"a@x.example","secret":"typo"}`,
		`{"name":"X","webhook_url":"http://169.254.169.254/latest/meta-data/"}`,
		`{"name":"X","webhook_url":"http://[fe80::1]/hook"}`,
		`{"name":"X","email":"a@x.example","webhook_secret":"0123456789abcdef01","clear_secret":true}`,
		`{"name":"X","email":"a@x.example","response_target":"9000h"}`,
	} {
		if rec := f.call(t, "POST", "/api/v1/vendors", admin, bad); rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d %s", bad, rec.Code, rec.Body.String())
		}
	}
	// Technicians read vendors, never the secret, and of the webhook URL
	// only its host (its path may hold the vendor's token); admins see it.
	hookHost := strings.TrimPrefix(hook.URL, "http://")
	for _, path := range []string{"/api/v1/vendors", "/api/v1/vendors/" + v.ID, "/api/v1/vendors/Acme"} {
		rec := f.call(t, "GET", path, tier1, "")
		if b := rec.Body.String(); rec.Code != http.StatusOK || strings.Contains(b, apiHookSecret) || !strings.Contains(b, "Acme") ||
			strings.Contains(b, hookHost+"/hook") || !strings.Contains(b, hookHost+"/…") {
			t.Fatalf("GET %s as tier1: %d %s", path, rec.Code, b)
		}
		if rec := f.call(t, "GET", path, admin, ""); !strings.Contains(rec.Body.String(), hookHost+"/hook") {
			t.Fatalf("GET %s as admin: %d %s", path, rec.Code, rec.Body.String())
		}
	}
	// An update without the secret keeps it.
	rec = f.call(t, "PUT", "/api/v1/vendors/"+v.ID, admin, `{"name":"Acme","webhook_url":"`+hook.URL+`/hook","response_target":"1h"}`)
	if got := decode[store.Vendor](t, rec.Body.Bytes()); rec.Code != http.StatusOK || !got.HasSecret || got.ResponseTarget != time.Hour || got.Email != "" {
		t.Fatalf("update: %d %s", rec.Code, rec.Body.String())
	}

	// Forward a ticket: tier3 and up.
	tk := f.file(t, "req-1", "VPN drops every hour")
	base := "/api/v1/tickets/" + tk.ID
	if rec := f.call(t, "POST", base+"/vendor", f.tokens[store.RoleTier2], `{"vendor":"Acme"}`); rec.Code != http.StatusForbidden {
		t.Fatalf("tier2 forwards: %d", rec.Code)
	}
	if rec := f.call(t, "POST", base+"/vendor", tier3, `{"vendor":"Nobody"}`); rec.Code != http.StatusNotFound {
		t.Fatalf("unknown vendor: %d %s", rec.Code, rec.Body.String())
	}
	rec = f.call(t, "POST", base+"/vendor", tier3, `{"vendor":"Acme","note":"Firmware 4.2 suspected"}`)
	got := decode[ticketAnswer](t, rec.Body.Bytes())
	if rec.Code != http.StatusOK || got.Ticket.State != store.TicketWaitingVendor || got.Ticket.Tier != 4 || got.Ticket.VendorID != v.ID || got.Ticket.VendorDue == nil {
		t.Fatalf("forward: %d %s", rec.Code, rec.Body.String())
	}
	if n, err := f.svc.Deliver(t.Context()); err != nil || n != 1 {
		t.Fatalf("deliver: %d %v", n, err)
	}
	if b := bodies(); len(b) != 1 || !strings.Contains(b[0], "Firmware 4.2 suspected") || !strings.Contains(b[0], `"dns-resolution"`) {
		t.Fatalf("webhook bodies %v", b)
	}
	rec = f.call(t, "GET", base+"/vendor", tier1, "")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"state": "delivered"`) {
		t.Fatalf("deliveries: %d %s", rec.Code, rec.Body.String())
	}
	rec = f.call(t, "POST", base+"/vendor/reference", tier3, `{"reference":"ACME-77"}`)
	if got := decode[ticketAnswer](t, rec.Body.Bytes()); rec.Code != http.StatusOK || got.Ticket.VendorRef != "ACME-77" {
		t.Fatalf("reference: %d %s", rec.Code, rec.Body.String())
	}
	if rec := f.call(t, "POST", base+"/vendor/reference", tier3, `{"reference":""}`); rec.Code != http.StatusBadRequest {
		t.Fatalf("empty reference: %d", rec.Code)
	}
	rec = f.call(t, "GET", base, tier1, "")
	for _, kind := range []string{`"vendor_sent"`, `"vendor_delivered"`, `"vendor_ref"`} {
		if !strings.Contains(rec.Body.String(), kind) {
			t.Errorf("timeline lacks %s", kind)
		}
	}

	// Disabled vendors cannot be chosen.
	if rec := f.call(t, "POST", "/api/v1/vendors/"+v.ID+"/disable", admin, ""); rec.Code != http.StatusOK {
		t.Fatalf("disable: %d", rec.Code)
	}
	other := f.file(t, "req-2", "printer")
	if rec := f.call(t, "POST", "/api/v1/tickets/"+other.ID+"/vendor", tier3, `{"vendor":"Acme"}`); rec.Code != http.StatusNotFound {
		t.Fatalf("disabled vendor: %d", rec.Code)
	}
	rec = f.call(t, "GET", "/api/v1/audit?action=vendor.create", admin, "")
	if !strings.Contains(rec.Body.String(), "vendor.create") || strings.Contains(rec.Body.String(), apiHookSecret) {
		t.Fatalf("audit: %s", rec.Body.String())
	}
}

func TestEmailVendorWithoutSMTP(t *testing.T) {
	f, _, _ := setupVendors(t)
	rec := f.call(t, "POST", "/api/v1/vendors", f.tokens[store.RoleAdmin], `{"name":"MailOnly","email":"help@mail.example"}`)
	if rec.Code != http.StatusCreated {
		t.Fatal(rec.Body.String())
	}
	tk := f.file(t, "req-1", "printer")
	rec = f.call(t, "POST", "/api/v1/tickets/"+tk.ID+"/vendor", f.tokens[store.RoleTier3], `{"vendor":"MailOnly"}`)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "--smtp-addr") {
		t.Fatalf("email vendor without SMTP: %d %s", rec.Code, rec.Body.String())
	}
}

func TestAssignUnknownUser(t *testing.T) {
	f := setupTickets(t)
	tk := f.file(t, "req-1", "printer")
	base := "/api/v1/tickets/" + tk.ID
	for _, c := range []struct{ path, body string }{
		{"/assign", `{"to":"nobody"}`},
		{"/collaborators", `{"user":"nobody"}`},
	} {
		rec := f.call(t, "POST", base+c.path, f.tokens[store.RoleTier1], c.body)
		if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "nobody") || !strings.Contains(rec.Body.String(), "console user") {
			t.Errorf("%s %s: %d %s", c.path, c.body, rec.Code, rec.Body.String())
		}
	}
	if rec := f.call(t, "POST", base+"/assign", f.tokens[store.RoleTier1], `{"to":"u-tier2"}`); rec.Code != http.StatusOK {
		t.Fatalf("assign to a user: %d %s", rec.Code, rec.Body.String())
	}
}

func TestSLASettingsRoutes(t *testing.T) {
	f := setupTickets(t)
	admin := f.tokens[store.RoleAdmin]
	if rec := f.call(t, "GET", "/api/v1/settings/sla", f.tokens[store.RoleTier3], ""); rec.Code != http.StatusForbidden {
		t.Fatalf("tier3 reads SLA settings: %d", rec.Code)
	}
	rec := f.call(t, "GET", "/api/v1/settings/sla", admin, "")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"tier_limits": "1=15 min,2=4 h,3=2 d"`) {
		t.Fatalf("get: %d %s", rec.Code, rec.Body.String())
	}
	rec = f.call(t, "PUT", "/api/v1/settings/sla", admin, `{"tier_limits":"1=5m,2=1h","response_limits":"1=1m"}`)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"response_limits": "1=1 min"`) {
		t.Fatalf("put: %d %s", rec.Code, rec.Body.String())
	}
	// Live: a new ticket's clock uses the new limit.
	tk := f.file(t, "req-1", "printer")
	rec = f.call(t, "GET", "/api/v1/tickets/"+tk.ID, f.tokens[store.RoleTier1], "")
	if got := decode[ticketAnswer](t, rec.Body.Bytes()); got.Ticket.SLA.Limit != 5*time.Minute {
		t.Fatalf("ticket SLA limit %s, want 5m", got.Ticket.SLA.Limit)
	}
	for _, bad := range []string{`{"tier_limits":"1=0s"}`, `{"response_limits":"7=1m"}`, `{"tier_limits":5}`, `{"limits":"1=1m"}`} {
		if rec := f.call(t, "PUT", "/api/v1/settings/sla", admin, bad); rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d %s", bad, rec.Code, rec.Body.String())
		}
	}
	if rec := f.call(t, "PUT", "/api/v1/settings/sla", f.tokens[store.RoleTier3], `{"tier_limits":"1=1m"}`); rec.Code != http.StatusForbidden {
		t.Fatalf("tier3 sets SLA: %d", rec.Code)
	}
	rec = f.call(t, "GET", "/api/v1/audit?action=tickets.sla", admin, "")
	if !strings.Contains(rec.Body.String(), `"outcome": "ok"`) || !strings.Contains(rec.Body.String(), `"outcome": "refused"`) {
		t.Fatalf("audit: %s", rec.Body.String())
	}
}

func TestResolveWithKBDraft(t *testing.T) {
	f := setupTickets(t)
	tk := f.file(t, "req-1", "No internet since the update")
	// Tier 1 resolves, but drafts are Tier 2's: refused before anything changes.
	rec := f.call(t, "POST", "/api/v1/tickets/"+tk.ID+"/resolve", f.tokens[store.RoleTier1], `{"resolution":"Renewed the DHCP lease","kb":true}`)
	if rec.Code != http.StatusForbidden {
		t.Fatalf("tier1 with kb: %d %s", rec.Code, rec.Body.String())
	}
	if cur, _ := f.store.GetTicket(t.Context(), tk.ID); cur.State != store.TicketNew {
		t.Fatalf("refused request changed the ticket: %s", cur.State)
	}
	rec = f.call(t, "POST", "/api/v1/tickets/"+tk.ID+"/resolve", f.tokens[store.RoleTier2], `{"resolution":"Renewed the DHCP lease","kb":true}`)
	got := decode[struct {
		Ticket  store.Ticket  `json:"ticket"`
		Article store.Article `json:"article"`
	}](t, rec.Body.Bytes())
	if rec.Code != http.StatusOK || got.Ticket.State != store.TicketResolved || got.Article.State != store.ArticleDraft ||
		got.Article.SourceTicket != tk.ID || strings.Join(got.Article.Checks, ",") != "dns-resolution" || !strings.Contains(got.Article.Body, "Renewed the DHCP lease") {
		t.Fatalf("resolve with kb: %d %s", rec.Code, rec.Body.String())
	}
	rec = f.call(t, "GET", "/api/v1/articles/"+got.Article.ID, f.tokens[store.RoleTier3], "")
	if rec.Code != http.StatusOK {
		t.Fatalf("draft not readable: %d", rec.Code)
	}
	rec = f.call(t, "GET", "/api/v1/tickets/"+tk.ID, f.tokens[store.RoleTier1], "")
	if !strings.Contains(rec.Body.String(), `"kb_draft"`) || !strings.Contains(rec.Body.String(), got.Article.ID) {
		t.Fatalf("timeline lacks the draft: %s", rec.Body.String())
	}
}
