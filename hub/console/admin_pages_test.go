package console

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/auth"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// enrollTestDevice enrolls a device with a hostile hostname, a failing and
// an ok health check and some telemetry.
func enrollTestDevice(t *testing.T, tc *testConsole) string {
	t.Helper()
	ctx := context.Background()
	now := tc.clock.Now()
	secret := auth.Secret(32)
	if err := tc.st.CreateToken(ctx, store.Token{ID: "tok1", CreatedAt: now, ExpiresAt: now.Add(time.Hour), MaxUses: 1}, auth.HashSecret(secret)); err != nil {
		t.Fatal(err)
	}
	d, err := tc.st.EnrollDevice(ctx, auth.HashSecret(secret), store.Device{ID: wire.NewID(), PublicKey: make([]byte, 32),
		Hostname: `<script>window.__xss=1</script>pc-7`, OS: "linux", Arch: "amd64"}, now)
	if err != nil {
		t.Fatal(err)
	}
	items := []store.IngestItem{{DeviceID: d.ID, Seq: 1, Kind: store.KindHealth, Received: now, Checks: []diag.CheckResult{
		{Name: "disk-space", Status: diag.StatusOK, Summary: "plenty", Time: now},
		{Name: "dns-resolution", Status: diag.StatusFailing, Summary: `resolver <b>10.0.0.1</b> times out`, Time: now},
	}}}
	for i := range 5 {
		at := now.Add(-time.Duration(5-i) * time.Minute)
		items = append(items, store.IngestItem{DeviceID: d.ID, Seq: uint64(2 + i), Kind: store.KindTelemetry, Received: at,
			Sample: &diag.Sample{Time: at, CPU: diag.CPU{TotalPct: float64(10 * i)}, Memory: diag.Memory{UsedPct: 40}}})
	}
	if _, err := tc.st.Ingest(ctx, items); err != nil {
		t.Fatal(err)
	}
	return d.ID
}

func TestDevicePages(t *testing.T) {
	tc := newTestConsole(t)
	id := enrollTestDevice(t, tc)
	cl := tc.login(t, store.RoleTier1)

	res, page := tc.get(t, cl, "/devices/"+id)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("device page: %d %s", res.StatusCode, page)
	}
	for _, want := range []string{"&lt;script&gt;window.__xss=1&lt;/script&gt;pc-7", "resolver &lt;b&gt;10.0.0.1&lt;/b&gt; times out", `<polyline class="line s-cpu"`, "1 check need attention"} {
		if !strings.Contains(page, want) {
			t.Errorf("device page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>window") || strings.Contains(page, "<b>10.0") {
		t.Error("agent text reached the page unescaped")
	}
	if strings.Index(page, "dns-resolution") > strings.Index(page, "disk-space") {
		t.Error("the failing check is not listed first")
	}
	for _, rg := range []string{"", "1h", "24h", "7d", "30d"} {
		if res, _ := tc.get(t, cl, "/devices/"+id+"?range="+rg); res.StatusCode != http.StatusOK {
			t.Errorf("range %s: %d", rg, res.StatusCode)
		}
	}
	// An unknown range is refused, naming the ones there are, as the
	// queue's filters are.
	if res, body := tc.get(t, cl, "/devices/"+id+"?range=bogus"); res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "1h, 24h, 7d, 30d") {
		t.Errorf("range bogus: %d, want 400 naming 1h, 24h, 7d, 30d:\n%s", res.StatusCode, body)
	}
	if res, _ := tc.get(t, cl, "/devices/nothex"); res.StatusCode != http.StatusNotFound {
		t.Errorf("bad id: %d", res.StatusCode)
	}
	if res, _ := tc.get(t, cl, "/devices/0123456789abcdef0123456789abcdef"); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown device: %d", res.StatusCode)
	}

	_, page = tc.get(t, cl, "/devices?q=pc-7")
	if !strings.Contains(page, "/devices/"+id) {
		t.Error("search by hostname did not find the device")
	}
	_, page = tc.get(t, cl, "/devices?check=dns-resolution")
	if !strings.Contains(page, "/devices/"+id) {
		t.Error("drill-down by failing check did not find the device")
	}
	_, page = tc.get(t, cl, "/devices?check=disk-space")
	if strings.Contains(page, "/devices/"+id) {
		t.Error("drill-down listed a device where the check is ok")
	}
	if res, _ := tc.get(t, cl, "/devices?online=maybe"); res.StatusCode != http.StatusBadRequest {
		t.Errorf("bad filter: %d", res.StatusCode)
	}
}

func TestFleetAndAdminNeedRoles(t *testing.T) {
	tc := newTestConsole(t)
	enrollTestDevice(t, tc)
	for _, c := range []struct {
		path string
		role store.Role
	}{{"/fleet", store.RoleTier3}, {"/admin", store.RoleAdmin}, {"/admin/audit", store.RoleAdmin}, {"/kb/new", store.RoleTier2}} {
		for _, r := range store.Roles {
			res, page := tc.get(t, tc.login(t, r), c.path)
			if r.Rank() < c.role.Rank() {
				if res.StatusCode != http.StatusForbidden {
					t.Errorf("%s as %s: %d, want 403", c.path, r, res.StatusCode)
				}
				continue
			}
			if res.StatusCode != http.StatusOK {
				t.Errorf("%s as %s: %d %s", c.path, r, res.StatusCode, page)
			}
		}
	}
	// Nav links follow the role.
	_, page := tc.get(t, tc.login(t, store.RoleTier1), "/devices")
	if strings.Contains(page, `href="/admin"`) || strings.Contains(page, `href="/fleet"`) {
		t.Error("tier1 nav links to admin or fleet")
	}
	_, page = tc.get(t, tc.login(t, store.RoleAdmin), "/fleet")
	for _, want := range []string{`href="/devices?check=dns-resolution"`, `id="devices-total">1<`, `href="/admin"`} {
		if !strings.Contains(page, want) {
			t.Errorf("admin's fleet page lacks %q", want)
		}
	}
	if res, _ := tc.get(t, tc.login(t, store.RoleAdmin), "/fleet?days=12"); res.StatusCode != http.StatusBadRequest {
		t.Errorf("bad days: %d", res.StatusCode)
	}
}

func TestAdminPageAndAudit(t *testing.T) {
	tc := newTestConsole(t)
	enrollTestDevice(t, tc)
	cl := tc.login(t, store.RoleAdmin)
	res, page := tc.get(t, cl, "/admin")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("admin: %d", res.StatusCode)
	}
	for _, want := range []string{"tok1", "tier1-user", `data-api="/api/v1/users"`, "&lt;script&gt;window.__xss=1"} {
		if !strings.Contains(page, want) {
			t.Errorf("admin page lacks %q", want)
		}
	}
	if _, page := tc.get(t, cl, "/admin?dq=pc-7"); !strings.Contains(page, "pc-7") {
		t.Error("admin device search missed the device")
	}
	if _, page := tc.get(t, cl, "/admin?dq=nomatch"); strings.Contains(page, "pc-7") {
		t.Error("admin device search listed a device that does not match")
	}
	ctx := context.Background()
	for i := range 60 {
		if err := tc.st.AppendAudit(ctx, store.AuditEvent{Time: tc.clock.Now(), Actor: "someone", Action: "test.event", Target: strings.Repeat("x", i%3)}); err != nil {
			t.Fatal(err)
		}
	}
	_, page = tc.get(t, cl, "/admin/audit?actor=someone")
	if n := strings.Count(page, "test.event"); n != AuditPageSize {
		t.Errorf("first page shows %d events, want %d", n, AuditPageSize)
	}
	_, next, ok := strings.Cut(page, `id="audit-older"`)
	if !ok {
		t.Fatal("no link to older events")
	}
	_ = next
	i := strings.Index(page, `<a href="/admin/audit?`)
	link := page[i+len(`<a href="`):]
	link = strings.ReplaceAll(link[:strings.IndexByte(link, '"')], "&amp;", "&")
	_, page = tc.get(t, cl, link)
	if n := strings.Count(page, "test.event"); n != 10 {
		t.Errorf("second page shows %d events, want 10 (%s)", n, link)
	}
	for _, q := range []string{"from=yesterday", "to=2026-13-40", "before=x"} {
		if res, _ := tc.get(t, cl, "/admin/audit?"+q); res.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d", q, res.StatusCode)
		}
	}
	today := tc.clock.Now().UTC().Format("2006-01-02")
	if _, page := tc.get(t, cl, "/admin/audit?actor=someone&from="+today+"&to="+today); strings.Count(page, "test.event") != AuditPageSize {
		t.Error("today's events are not within from=to=today")
	}
}

// TestAdminVendors: the admin page lists vendors with their contacts and
// state, an edit form filled with everything but the secret (write-only:
// it never reaches the page), and disable or enable; a hostile name shows
// literally. The page's forms go through the API with the session and its
// CSRF token.
func TestAdminVendors(t *testing.T) {
	tc := newTestConsole(t)
	ctx := context.Background()
	const secret = "s3cret-webhook-value-0123456789"
	now := tc.clock.Now()
	if err := tc.st.CreateVendor(ctx, store.Vendor{ID: "v-hostile", Name: "Acme " + hostile, Email: "help@acme.example", WebhookURL: "https://acme.example/hook",
		WebhookSecret: secret, ContractRef: "C-42", ResponseTarget: 90 * time.Minute, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	off := now
	if err := tc.st.CreateVendor(ctx, store.Vendor{ID: "v-off", Name: "Old vendor", Email: "old@vendor.example", CreatedAt: now, DisabledAt: &off}); err != nil {
		t.Fatal(err)
	}
	cl := tc.login(t, store.RoleAdmin)
	res, page := tc.get(t, cl, "/admin")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("admin: %d", res.StatusCode)
	}
	for _, want := range []string{`id="vendor-form"`, `data-api="/api/v1/vendors"`, "help@acme.example", "https://acme.example/hook", "C-42",
		`value="1h30m"`, "signed", `data-api="/api/v1/vendors/v-hostile"`, `data-method="PUT"`, `data-api="/api/v1/vendors/v-hostile/disable"`,
		`data-api="/api/v1/vendors/v-off/enable"`, "Acme &lt;script&gt;window.__xss=1&lt;/script&gt;", "remove the secret"} {
		if !strings.Contains(page, want) {
			t.Errorf("admin page lacks %s", want)
		}
	}
	if strings.Contains(page, secret) {
		t.Error("the admin page shows a vendor's webhook secret")
	}
	for _, bad := range []string{"<script>window", "<img src=x", "<svg onload"} {
		if strings.Contains(page, bad) {
			t.Errorf("admin page contains unescaped %q", bad)
		}
	}

	// What the page's forms send, with the session and CSRF token.
	tok := csrfOf(t, page)
	call := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, tc.srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", tok)
		req.Header.Set("Origin", tc.srv.URL)
		res, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, readBody(t, res)
	}
	if code, body := call("POST", "/api/v1/vendors", `{"name":"Nocontact"}`); code != http.StatusBadRequest || !strings.Contains(body, "email, a webhook_url or both") {
		t.Errorf("vendor without contact: %d %s", code, body)
	}
	if code, body := call("POST", "/api/v1/vendors", `{"name":"Beta","email":"b@beta.example","response_target":"8h","webhook_url":"","webhook_secret":"","contract_ref":""}`); code != http.StatusCreated {
		t.Fatalf("create vendor: %d %s", code, body)
	}
	// The edit form sends every field, the secret empty (kept) and
	// clear_secret false.
	if code, body := call("PUT", "/api/v1/vendors/v-hostile", `{"name":"Acme","email":"help@acme.example","webhook_url":"https://acme.example/hook","webhook_secret":"","clear_secret":false,"contract_ref":"C-43","response_target":"2h"}`); code != http.StatusOK {
		t.Fatalf("edit vendor: %d %s", code, body)
	}
	if v, err := tc.st.GetVendor(ctx, "v-hostile"); err != nil || v.WebhookSecret != secret || v.ContractRef != "C-43" {
		t.Errorf("after the edit: %+v %v (the secret must be kept)", v, err)
	}
	if code, body := call("POST", "/api/v1/vendors/v-hostile/disable", `{}`); code != http.StatusOK {
		t.Fatalf("disable vendor: %d %s", code, body)
	}
	_, page = tc.get(t, cl, "/admin")
	for _, want := range []string{`<tr data-vendor="Beta">`, `value="8h"`, `data-api="/api/v1/vendors/v-hostile/enable"`, "C-43"} {
		if !strings.Contains(page, want) {
			t.Errorf("admin page after the changes lacks %s", want)
		}
	}
	if strings.Contains(page, secret) {
		t.Error("the admin page shows a vendor's webhook secret after an edit")
	}
}

func TestKBPages(t *testing.T) {
	tc := newTestConsole(t)
	ctx := context.Background()
	now := tc.clock.Now()
	hostile := "# Fix it\n\n<script>window.__xss=1</script>\n\n[x](javascript:alert(1)) and [docs](https://example.org/kb)"
	for _, a := range []store.Article{
		{ID: "a1", Title: "Printer <b>jams</b>", Body: hostile, State: store.ArticleDraft},
		{ID: "a2", Title: "VPN drops", Body: "Reconnect the **VPN**.", State: store.ArticleDraft},
	} {
		a.CreatedBy, a.CreatedAt = "t", now
		if _, err := tc.st.CreateArticle(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	for _, st := range []string{store.ArticleReviewed, store.ArticlePublished} {
		if _, _, err := tc.st.SetArticleState(ctx, "a2", st, "t", now); err != nil {
			t.Fatal(err)
		}
	}
	tier1, tier3 := tc.login(t, store.RoleTier1), tc.login(t, store.RoleTier3)
	// Tier 1 sees the published article, not the draft.
	_, page := tc.get(t, tier1, "/kb")
	if !strings.Contains(page, "VPN drops") || strings.Contains(page, "Printer") {
		t.Errorf("tier1 list: %s", page)
	}
	if res, _ := tc.get(t, tier1, "/kb/a1"); res.StatusCode != http.StatusNotFound {
		t.Errorf("tier1 reads a draft: %d", res.StatusCode)
	}
	_, page = tc.get(t, tier1, "/kb?q=vpn")
	if !strings.Contains(page, "/kb/a2") {
		t.Error("search for vpn missed the article")
	}
	// Tier 3 reads the draft; its markup is text, the javascript: link is
	// text, the https link a link.
	res, page := tc.get(t, tier3, "/kb/a1")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("tier3 reads a1: %d", res.StatusCode)
	}
	for _, want := range []string{"&lt;script&gt;window.__xss=1&lt;/script&gt;", "[x](javascript:alert(1))", `<a href="https://example.org/kb" rel="nofollow noopener noreferrer">docs</a>`, "Printer &lt;b&gt;jams&lt;/b&gt;", `data-state="reviewed"`} {
		if !strings.Contains(page, want) {
			t.Errorf("article page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>window") || strings.Contains(page, `href="javascript`) {
		t.Error("article markup reached the page")
	}

	// Preview: CSRF required; answers the node tree.
	tier2 := tc.login(t, store.RoleTier2)
	_, edit := tc.get(t, tier2, "/kb/new")
	post := func(tok string) (*http.Response, string) {
		req, _ := http.NewRequest("POST", tc.srv.URL+"/kb/preview", strings.NewReader(`{"body":"**hi** <i>"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", tc.srv.URL)
		if tok != "" {
			req.Header.Set("X-CSRF-Token", tok)
		}
		res, err := tier2.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res, readBody(t, res)
	}
	if res, _ := post(""); res.StatusCode != http.StatusForbidden {
		t.Errorf("preview without CSRF: %d", res.StatusCode)
	}
	res, body := post(csrfOf(t, edit))
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `{"t":"strong","c":[{"x":"hi"}]}`) || !strings.Contains(body, `\u003ci\u003e`) {
		t.Errorf("preview: %d %s", res.StatusCode, body)
	}
}
