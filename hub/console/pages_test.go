package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/auth"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// hostile is text an agent or user could send that must show literally.
const hostile = `<script>window.__xss=1</script><img src=x onerror=window.__xss=1>"><svg onload=alert(1)>`

// fileTicket enrolls a device named hostname and files a help request from
// it through the tickets service, as the gateway does.
func (tc *testConsole) fileTicket(t *testing.T, hostname, text string) store.Ticket {
	t.Helper()
	ctx := context.Background()
	secret := auth.Secret(16)
	if err := tc.st.CreateToken(ctx, store.Token{ID: wire.NewID(), MaxUses: 1, ExpiresAt: time.Now().Add(time.Hour), CreatedAt: time.Now()}, auth.HashSecret(secret)); err != nil {
		t.Fatal(err)
	}
	devID := wire.NewID()
	if _, err := tc.st.EnrollDevice(ctx, auth.HashSecret(secret), store.Device{ID: devID, Hostname: hostname, OS: "linux", Arch: "amd64"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	svc := tc.svc
	now := time.Now()
	req := wire.HelpRequest{RequestID: wire.NewID(), Text: text, Category: "cannot-connect", User: "user " + hostile, Filed: now,
		Snapshot: wire.Snapshot{Taken: now,
			Checks: []diag.CheckResult{
				{Name: "disk-space", Status: diag.StatusOK, Summary: "plenty", Time: now},
				{Name: "dns-resolve", Status: diag.StatusFailing, Summary: "cannot resolve " + hostile, Time: now},
			},
			Sample: &diag.Sample{Time: now, TopCPU: []diag.Process{{PID: 42, Name: hostile, CPUPct: 50}}},
			History: diag.History{Full: []diag.Point{
				{Time: now.Add(-2 * time.Minute), Summary: diag.Summary{CPUPct: 10, MemPct: 40}},
				{Time: now.Add(-time.Minute), Summary: diag.Summary{CPUPct: 80, MemPct: 45}},
				{Time: now, Summary: diag.Summary{CPUPct: 30, MemPct: 50}},
			}}},
		Tried: wire.SelfHelp{Runs: []wire.TriedFix{{Fix: "flush-dns", Outcome: "not_fixed", Time: now}}},
	}
	tk, _, err := svc.File(ctx, devID, hostname, req)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestQueueAndTicketPages(t *testing.T) {
	tc := newTestConsole(t)
	tk := tc.fileTicket(t, "pc-"+hostile, "my wifi is down "+hostile)
	cl := tc.login(t, store.RoleTier1)

	res, page := tc.get(t, cl, "/queue")
	if res.StatusCode != 200 {
		t.Fatalf("/queue: %d\n%s", res.StatusCode, page)
	}
	if !strings.Contains(page, fmt.Sprintf("#%d", tk.Number)) || !strings.Contains(page, "/tickets/"+tk.ID) {
		t.Errorf("queue does not list ticket #%d:\n%s", tk.Number, page)
	}
	for _, bad := range []string{"<script>window", "<img src=x", "<svg onload"} {
		if strings.Contains(page, bad) {
			t.Errorf("queue page contains unescaped %q", bad)
		}
	}
	if !strings.Contains(page, "&lt;script&gt;window.__xss=1&lt;/script&gt;") {
		t.Errorf("queue page does not show the hostile title escaped")
	}

	res, page = tc.get(t, cl, "/queue?format=json")
	if res.StatusCode != 200 || !strings.Contains(page, `"number": `+fmt.Sprint(tk.Number)) && !strings.Contains(page, `"number":`+fmt.Sprint(tk.Number)) {
		t.Errorf("/queue?format=json: %d %s", res.StatusCode, page)
	}

	res, page = tc.get(t, cl, "/tickets/"+tk.ID)
	if res.StatusCode != 200 {
		t.Fatalf("ticket page: %d\n%s", res.StatusCode, page)
	}
	for _, want := range []string{"What the user said", "my wifi is down", "flush-dns", "dns-resolve", "Health checks at filing", "1 failing", "<polyline", "Run a fix", "Timeline", "Filed into tier 1"} {
		if !strings.Contains(page, want) {
			t.Errorf("ticket page lacks %q", want)
		}
	}
	// Failing checks come first.
	if i, j := strings.Index(page, "dns-resolve"), strings.Index(page, "disk-space"); i < 0 || j < 0 || i > j {
		t.Errorf("failing check dns-resolve is not listed before disk-space")
	}
	for _, bad := range []string{"<script>window", "<img src=x", "<svg onload"} {
		if strings.Contains(page, bad) {
			t.Errorf("ticket page contains unescaped %q", bad)
		}
	}
	if strings.Contains(page, " style=") || strings.Contains(page, " onclick=") || strings.Contains(page, "<script>") {
		t.Errorf("ticket page has inline style, handler or script, which the CSP forbids")
	}

	if res, _ := tc.get(t, cl, "/tickets/nonexistent"); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown ticket: %d, want 404", res.StatusCode)
	}
	if res, _ := tc.get(t, cl, "/queue?tier=9"); res.StatusCode != http.StatusBadRequest {
		t.Errorf("tier 9: %d, want 400", res.StatusCode)
	}
}

// TestQueueNamedQueue: a ticket a routing rule sent to a named queue shows
// the queue as a badge; the queue filter lists the rules' queues and keeps
// only that queue's tickets, on the page, in its live JSON and in the
// tab links; the API's ?queue= filter agrees.
func TestQueueNamedQueue(t *testing.T) {
	tc := newTestConsole(t)
	plain := tc.fileTicket(t, "pc-plain", "no rule for this one")
	if _, err := tc.svc.SetRoutingRules(context.Background(), []byte(`[{"name":"net","category":"cannot-connect","tier":1,"queue":"net<b>work"},
		{"name":"lab","group":"lab","tier":2,"queue":"lab-bench"}]`)); err != nil {
		t.Fatal(err)
	}
	routed := tc.fileTicket(t, "pc-routed", "routed by category")
	if routed.Queue != "net<b>work" || plain.Queue != "" {
		t.Fatalf("queues %q and %q", routed.Queue, plain.Queue)
	}
	cl := tc.login(t, store.RoleTier1)

	_, page := tc.get(t, cl, "/queue")
	for _, want := range []string{`<span class="badge queue-name" title="queue">net&lt;b&gt;work</span>`, `<option value="net&lt;b&gt;work">net&lt;b&gt;work</option>`,
		`<option value="lab-bench">lab-bench</option>`, "/tickets/" + plain.ID} {
		if !strings.Contains(page, want) {
			t.Errorf("queue page lacks %s", want)
		}
	}
	if strings.Contains(page, "net<b>work") {
		t.Errorf("queue name rendered as markup")
	}

	res, page := tc.get(t, cl, "/queue?queue="+url.QueryEscape("net<b>work"))
	if res.StatusCode != 200 || !strings.Contains(page, "/tickets/"+routed.ID) || strings.Contains(page, "/tickets/"+plain.ID) {
		t.Errorf("filtered by queue: %d, routed listed %v, plain listed %v", res.StatusCode,
			strings.Contains(page, "/tickets/"+routed.ID), strings.Contains(page, "/tickets/"+plain.ID))
	}
	if !strings.Contains(page, `<option value="net&lt;b&gt;work" selected>`) {
		t.Errorf("the queue filter does not show the selected queue")
	}
	if !strings.Contains(page, `href="/queue?queue=net%3Cb%3Ework&amp;tier=2"`) {
		t.Errorf("tab links drop the queue filter")
	}
	_, js := tc.get(t, cl, "/queue?format=json&queue="+url.QueryEscape("net<b>work"))
	if !strings.Contains(js, routed.ID) || strings.Contains(js, plain.ID) || !strings.Contains(js, `"queue":"net\u003cb\u003ework"`) {
		t.Errorf("live JSON of the filtered queue: %s", js)
	}
	// A queue no rule names any more still filters (and shows selected).
	if _, page := tc.get(t, cl, "/queue?queue=old"); strings.Contains(page, "/tickets/"+routed.ID) || !strings.Contains(page, `<option value="old" selected>`) {
		t.Errorf("queue=old lists the routed ticket or does not show the filter")
	}
	if res, _ := tc.get(t, cl, "/queue?queue="+strings.Repeat("q", 201)); res.StatusCode != http.StatusBadRequest {
		t.Errorf("overlong queue filter: %d, want 400", res.StatusCode)
	}

	// The API's ?queue= filter, with the same session.
	res, body := tc.get(t, cl, "/api/v1/tickets?queue="+url.QueryEscape("net<b>work"))
	if res.StatusCode != 200 || !strings.Contains(body, routed.ID) || strings.Contains(body, plain.ID) {
		t.Errorf("GET /api/v1/tickets?queue=: %d %s", res.StatusCode, body)
	}
	if _, body := tc.get(t, cl, "/api/v1/tickets?queue=lab-bench"); strings.Contains(body, routed.ID) || strings.Contains(body, plain.ID) {
		t.Errorf("GET /api/v1/tickets?queue=lab-bench lists tickets of other queues: %s", body)
	}
}

// TestQueueFilterUsesIndex: filtering by named queue keeps the queue query
// on tickets_console_queue (the seeded benchmark store).
func TestQueueFilterUsesIndex(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 100,000 tickets")
	}
	st := benchStore(t)
	for _, f := range []store.QueueFilter{{Tier: 1, Queue: "network"}, {Tier: 2, Queue: "network", State: store.TicketOpen, Group: "lab"}} {
		plan, err := st.ExplainQueue(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		all := strings.Join(plan, "\n")
		if !strings.Contains(all, "tickets_console_queue") || strings.Contains(all, "TEMP B-TREE FOR ORDER BY") {
			t.Errorf("queue %+v does not run on the index:\n%s", f, all)
		}
	}
}

func TestSecurityHeadersOnEveryPage(t *testing.T) {
	tc := newTestConsole(t)
	tk := tc.fileTicket(t, "pc1", "printer jammed")
	cl := tc.login(t, store.RoleAdmin)
	anon := tc.client(t)
	paths := []string{"/", "/queue", "/queue?tier=mine", "/tickets/" + tk.ID, "/tickets/missing", "/logout", "/static/console.css", "/static/console.js", "/static/nope.js"}
	for _, p := range pages() {
		if m, path, _ := strings.Cut(p.Pattern, " "); m == "GET" && !strings.Contains(path, "{") {
			paths = append(paths, path)
		}
	}
	check := func(who string, cl *http.Client, path string) {
		res, _ := tc.get(t, cl, path)
		h := res.Header
		if h.Get("Content-Security-Policy") != ContentSecurityPolicy {
			t.Errorf("%s %s: CSP %q", who, path, h.Get("Content-Security-Policy"))
		}
		if strings.Contains(h.Get("Content-Security-Policy"), "unsafe-inline") {
			t.Errorf("%s %s: CSP allows unsafe-inline", who, path)
		}
		if h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: headers %v", who, path, h)
		}
		if !strings.HasPrefix(path, "/static/") && h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s %s: Cache-Control %q, want no-store", who, path, h.Get("Cache-Control"))
		}
	}
	for _, p := range paths {
		check("admin", cl, p)
		check("anonymous", anon, p)
	}
	check("anonymous", anon, "/login")
}

func TestRolesOnPages(t *testing.T) {
	tc := newTestConsole(t)
	var adminOnly *Page
	for _, p := range pages() {
		if p.Role == store.RoleAdmin && strings.HasPrefix(p.Pattern, "GET ") && !strings.Contains(p.Pattern, "{") {
			adminOnly = &p
			break
		}
	}
	if adminOnly == nil {
		// Register one so the check runs even before admin pages exist.
		tc.Console.pages = append(tc.Console.pages, Page{Pattern: "GET /test-admin", Role: store.RoleAdmin, Nav: "Admin test",
			Handle: func(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
				c.Render(w, r, req, 200, "error.html", View{Title: "admin", Data: "secret admin page"})
			}})
		mux := http.NewServeMux()
		tc.Console.Register(mux)
		tc.srv.Config.Handler = mux
		adminOnly = &tc.Console.pages[len(tc.Console.pages)-1]
	}
	_, path, _ := strings.Cut(adminOnly.Pattern, " ")
	t1 := tc.login(t, store.RoleTier1)
	res, page := tc.get(t, t1, path)
	if res.StatusCode != http.StatusForbidden || !strings.Contains(page, "needs the admin role") {
		t.Errorf("tier1 on %s: %d, want 403 saying it needs admin\n%s", path, res.StatusCode, page)
	}
	if _, q := tc.get(t, t1, "/queue"); strings.Contains(q, `href="`+path+`"`) {
		t.Errorf("tier1's nav links to the admin page %s", path)
	}
	ad := tc.login(t, store.RoleAdmin)
	if res, _ := tc.get(t, ad, path); res.StatusCode != 200 {
		t.Errorf("admin on %s: %d", path, res.StatusCode)
	}
}

func TestAPIWithSessionNeedsCSRFAndOrigin(t *testing.T) {
	tc := newTestConsole(t)
	tk := tc.fileTicket(t, "pc1", "slow")
	cl := tc.login(t, store.RoleTier1)
	_, page := tc.get(t, cl, "/queue")
	tok := csrfOf(t, page)

	do := func(method, path, body string, hdr map[string]string) (int, string) {
		req, _ := http.NewRequest(method, tc.srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, readBody(t, res)
	}
	if code, body := do("GET", "/api/v1/me", "", nil); code != 200 || !strings.Contains(body, "tier1-user") {
		t.Fatalf("GET /api/v1/me with the session: %d %s", code, body)
	}
	assign := "/api/v1/tickets/" + tk.ID + "/assign"
	same := map[string]string{"Origin": tc.srv.URL, "Sec-Fetch-Site": "same-origin"}
	if code, body := do("POST", assign, `{}`, same); code != http.StatusForbidden || !strings.Contains(body, "CSRF") {
		t.Errorf("POST without the CSRF token: %d %s, want 403 naming CSRF", code, body)
	}
	if code, body := do("POST", assign, `{}`, map[string]string{"X-CSRF-Token": "wrong", "Origin": tc.srv.URL}); code != http.StatusForbidden {
		t.Errorf("POST with a wrong CSRF token: %d %s", code, body)
	}
	if code, body := do("POST", assign, `{}`, map[string]string{"X-CSRF-Token": tok, "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}); code != http.StatusForbidden || !strings.Contains(body, "another site") {
		t.Errorf("cross-origin POST with the token: %d %s, want 403", code, body)
	}
	if code, body := do("POST", assign, `{}`, map[string]string{"X-CSRF-Token": tok, "Origin": "https://evil.example"}); code != http.StatusForbidden {
		t.Errorf("POST from another Origin: %d %s, want 403", code, body)
	}
	if code, body := do("POST", assign, `{}`, map[string]string{"X-CSRF-Token": tok, "Origin": tc.srv.URL, "Sec-Fetch-Site": "same-origin"}); code != 200 {
		t.Errorf("same-origin POST with the token: %d %s", code, body)
	}
	// Role checks still apply to session callers.
	if code, body := do("GET", "/api/v1/audit", "", nil); code != http.StatusForbidden {
		t.Errorf("tier1 GET /api/v1/audit: %d %s, want 403", code, body)
	}
	// An expired session answers 401.
	tc.clock.Add(31 * time.Minute)
	if code, body := do("GET", "/api/v1/me", "", nil); code != http.StatusUnauthorized || !strings.Contains(body, "expired") {
		t.Errorf("after the idle timeout: %d %s, want 401 saying expired", code, body)
	}
}

func TestSessionIdleAndAbsoluteTimeout(t *testing.T) {
	tc := newTestConsole(t)
	cl := tc.login(t, store.RoleTier2)
	// Activity keeps the session alive past the idle limit in total.
	for range 3 {
		tc.clock.Add(20 * time.Minute)
		if res, _ := tc.get(t, cl, "/queue"); res.StatusCode != 200 {
			t.Fatalf("active session ended after %d", res.StatusCode)
		}
	}
	tc.clock.Add(31 * time.Minute)
	res, _ := tc.get(t, cl, "/queue")
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "expired=1") {
		t.Fatalf("idle session: %d %q, want a redirect to login saying it expired", res.StatusCode, res.Header.Get("Location"))
	}

	// The absolute limit ends even an active session.
	cl = tc.login(t, store.RoleTier2)
	for range 12*3 - 1 {
		tc.clock.Add(20 * time.Minute)
		if res, _ := tc.get(t, cl, "/queue"); res.StatusCode != 200 {
			t.Fatalf("active session ended early")
		}
	}
	tc.clock.Add(25 * time.Minute)
	if res, _ := tc.get(t, cl, "/queue"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("session past 12h: %d, want a redirect to login", res.StatusCode)
	}

	// Disabling the user ends their sessions.
	cl = tc.login(t, store.RoleTier2)
	if _, err := tc.st.DB().Exec(`UPDATE users SET disabled_at = 1 WHERE id = ?`, tc.users[store.RoleTier2].ID); err != nil {
		t.Fatal(err)
	}
	if res, _ := tc.get(t, cl, "/queue"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("disabled user's session: %d, want a redirect to login", res.StatusCode)
	}
}

func TestNewSessionIDOnLogin(t *testing.T) {
	tc := newTestConsole(t)
	cl := tc.login(t, store.RoleTier1)
	u, _ := url.Parse(tc.srv.URL)
	first := cl.Jar.Cookies(u)[0].Value
	res := tc.postForm(t, cl, "/login", url.Values{"name": {"tier1-user"}, "password": {testPassword}}, nil)
	res.Body.Close()
	second := cl.Jar.Cookies(u)[0].Value
	if first == second {
		t.Fatal("logging in again kept the session id")
	}
	old := tc.client(t)
	old.Jar.SetCookies(u, []*http.Cookie{{Name: CookieName, Value: first, Path: "/", Secure: true}})
	if res, _ := tc.get(t, old, "/queue"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the pre-login session id still works: %d", res.StatusCode)
	}
}

func TestLoginLockout(t *testing.T) {
	tc := newTestConsole(t)
	cl := tc.client(t)
	try := func(name, pw string) (int, string, string) {
		res := tc.postForm(t, cl, "/login", url.Values{"name": {name}, "password": {pw}}, nil)
		return res.StatusCode, res.Header.Get("Retry-After"), readBody(t, res)
	}
	for _, name := range []string{"tier1-user", "nobody-by-this-name"} {
		for i := 1; i < LockoutAfter; i++ {
			if code, _, body := try(name, "wrong password"); code != http.StatusUnauthorized || !strings.Contains(body, "Wrong name or password") {
				t.Fatalf("%s failure %d: %d", name, i, code)
			}
		}
		code, retry, body := try(name, "wrong password")
		if code != http.StatusTooManyRequests || retry != "30" || !strings.Contains(body, "Too many failed logins") {
			t.Fatalf("%s 5th failure: %d Retry-After %q, want 429 after 30s", name, code, retry)
		}
		// Even the right password waits out the lockout.
		if code, _, _ := try(name, testPassword); code != http.StatusTooManyRequests {
			t.Fatalf("%s during lockout: %d, want 429", name, code)
		}
		tc.clock.Add(31 * time.Second)
		// The next failure doubles the wait.
		if code, retry, _ := try(name, "wrong again"); code != http.StatusTooManyRequests || retry != "60" {
			t.Fatalf("%s 6th failure: %d Retry-After %q, want 429 after 60s", name, code, retry)
		}
		tc.clock.Add(61 * time.Second)
	}
	// After the wait the right password works and clears the count.
	if code, _, _ := try("tier1-user", testPassword); code != http.StatusSeeOther {
		t.Fatalf("right password after the lockout: %d", code)
	}
	if n, _, _ := tc.st.LoginFailures(context.Background(), "tier1-user"); n != 0 {
		t.Fatalf("failures after a good login: %d", n)
	}
}

func TestLockoutWait(t *testing.T) {
	for n, want := range map[int]time.Duration{0: 0, 4: 0, 5: 30 * time.Second, 6: time.Minute, 8: 4 * time.Minute, 12: time.Hour, 100: time.Hour} {
		if got := lockoutWait(n); got != want {
			t.Errorf("lockoutWait(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestLoginCrossOriginRefused(t *testing.T) {
	tc := newTestConsole(t)
	cl := tc.client(t)
	res := tc.postForm(t, cl, "/login", url.Values{"name": {"tier1-user"}, "password": {testPassword}},
		http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}})
	body := readBody(t, res)
	if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "another site") {
		t.Fatalf("cross-site login post: %d %s", res.StatusCode, body)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{"": "/queue", "/tickets/1": "/tickets/1", "//evil.example/": "/queue", "https://evil.example": "/queue",
		"/\\evil.example": "/queue", "/login": "/queue", "/queue?tier=2": "/queue?tier=2"} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEventsStream(t *testing.T) {
	tc := newTestConsole(t)
	cl := tc.login(t, store.RoleTier1)
	open := func(origin, site string) *http.Response {
		req, _ := http.NewRequest("GET", tc.srv.URL+"/events", nil)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if site != "" {
			req.Header.Set("Sec-Fetch-Site", site)
		}
		res, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for _, c := range []struct{ origin, site string }{{"https://evil.example", ""}, {"https://evil.example", "cross-site"}, {"", "same-site"}} {
		res := open(c.origin, c.site)
		body := readBody(t, res)
		if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "refused") {
			t.Errorf("/events from %+v: %d %s, want 403", c, res.StatusCode, body)
		}
	}
	if res, _ := tc.get(t, tc.client(t), "/events"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("/events without a session: %d, want 401", res.StatusCode)
	}

	res := open(tc.srv.URL, "same-origin")
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("/events: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	got := make(chan string, 16)
	go func() {
		buf := make([]byte, 4096)
		var acc string
		for {
			n, err := res.Body.Read(buf)
			acc += string(buf[:n])
			for {
				i := strings.Index(acc, "\n\n")
				if i < 0 {
					break
				}
				got <- acc[:i]
				acc = acc[i+2:]
			}
			if err != nil {
				close(got)
				return
			}
		}
	}()
	// The stream is subscribed once its hello arrived; then a filed ticket
	// is announced.
	for msg := range got {
		if strings.Contains(msg, "hello") {
			break
		}
	}
	tk := tc.fileTicket(t, "pc9", "mouse broken")
	for msg := range got {
		if strings.HasPrefix(msg, "data: ") && strings.Contains(msg, `"kind":"ticket"`) && strings.Contains(msg, tk.ID) {
			return
		}
	}
	t.Fatal("the stream ended without the ticket notice")
}

// queueIDs asks the queue's live JSON with query and returns the status and
// the listed ticket IDs.
func (tc *testConsole) queueIDs(t *testing.T, cl *http.Client, query string) (int, []string) {
	t.Helper()
	res, body := tc.get(t, cl, "/queue?format=json&"+query)
	if res.StatusCode != http.StatusOK {
		return res.StatusCode, nil
	}
	var d struct {
		Rows []queueRow `json:"rows"`
	}
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatalf("/queue?%s: %v\n%s", query, err, body)
	}
	ids := []string{}
	for _, r := range d.Rows {
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	return res.StatusCode, ids
}

// TestQueueFilters: the priority, device group and "mine" filters keep
// only the matching tickets, alone and together, on the page and in its
// live JSON; a bad priority or state is refused with a message; a group
// no device is in lists nothing; "mine" is on only as mine=1.
func TestQueueFilters(t *testing.T) {
	tc := newTestConsole(t)
	ctx := context.Background()
	me := tc.users[store.RoleTier1].Name
	other := tc.users[store.RoleTier2].Name
	// lab: P1, mine. office: P4 (the default), nobody's. nogroup: P1,
	// another technician's.
	lab := tc.fileTicket(t, "pc-lab", "lab printer jams")
	office := tc.fileTicket(t, "pc-office", "office screen flickers")
	nogroup := tc.fileTicket(t, "pc-none", "no group laptop is slow")
	if err := tc.st.SetDeviceGroup(ctx, lab.DeviceID, "lab"); err != nil {
		t.Fatal(err)
	}
	if err := tc.st.SetDeviceGroup(ctx, office.DeviceID, "office"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{lab.ID, nogroup.ID} {
		if tk, err := tc.svc.SetPriority(ctx, id, other, 1, 1); err != nil || tk.Priority != 1 {
			t.Fatalf("set priority: %v, priority %d", err, tk.Priority)
		}
	}
	if _, err := tc.svc.Assign(ctx, lab.ID, other, me); err != nil {
		t.Fatal(err)
	}
	if _, err := tc.svc.Assign(ctx, nogroup.ID, other, other); err != nil {
		t.Fatal(err)
	}
	cl := tc.login(t, store.RoleTier1)

	sorted := func(ids ...string) []string { slices.Sort(ids); return ids }
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"tier=1", sorted(lab.ID, office.ID, nogroup.ID)},
		{"priority=1", sorted(lab.ID, nogroup.ID)},
		{"priority=4", sorted(office.ID)},
		{"priority=2", sorted()},
		{"group=lab", sorted(lab.ID)},
		{"group=office", sorted(office.ID)},
		{"group=nosuch", sorted()}, // a group no device is in: nothing, not an error
		{"mine=1", sorted(lab.ID)},
		{"tier=mine", sorted(lab.ID)},
		{"mine=yes", sorted(lab.ID, office.ID, nogroup.ID)}, // only mine=1 turns it on, as the checkbox sends
		{"priority=1&mine=1", sorted(lab.ID)},
		{"priority=1&group=office", sorted()},
		{"priority=4&group=office", sorted(office.ID)},
		{"tier=2&priority=1", sorted()},
	} {
		code, ids := tc.queueIDs(t, cl, c.query)
		if code != http.StatusOK || !slices.Equal(ids, c.want) {
			t.Errorf("/queue?%s: %d %v, want 200 %v", c.query, code, ids, c.want)
		}
	}

	// The HTML page agrees, shows the filters chosen and keeps them in the
	// tab links.
	res, page := tc.get(t, cl, "/queue?priority=1&group=lab")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/queue?priority=1&group=lab: %d\n%s", res.StatusCode, page)
	}
	if !strings.Contains(page, "/tickets/"+lab.ID) || strings.Contains(page, "/tickets/"+office.ID) || strings.Contains(page, "/tickets/"+nogroup.ID) {
		t.Errorf("the filtered page lists the wrong tickets")
	}
	for _, want := range []string{`<option value="1" selected>P1</option>`, `<option value="lab" selected>lab</option>`,
		`<option value="office">office</option>`, `href="/queue?group=lab&amp;priority=1&amp;tier=2"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the filtered page lacks %s", want)
		}
	}
	_, page = tc.get(t, cl, "/queue?mine=1")
	if !strings.Contains(page, `href="/queue?mine=1&amp;tier=3"`) {
		t.Errorf("the mine filter is not kept in the tab links")
	}
	if !strings.Contains(page, "/tickets/"+lab.ID) || strings.Contains(page, "/tickets/"+nogroup.ID) {
		t.Errorf("the mine filter lists the wrong tickets")
	}
	// The box shows the filter is on, so filtering again keeps it.
	if !strings.Contains(page, `name="mine" value="1" checked`) {
		t.Errorf("the mine box is not checked on the filtered page")
	}
	if _, page := tc.get(t, cl, "/queue"); strings.Contains(page, `name="mine" value="1" checked`) {
		t.Errorf("the mine box is checked without the filter")
	}

	// Bad values are refused with a message saying what is allowed.
	for _, c := range []struct{ query, msg string }{
		{"priority=0", "The priority filter must be 1 to 5."},
		{"priority=6", "The priority filter must be 1 to 5."},
		{"priority=high", "The priority filter must be 1 to 5."},
		{"state=resolved", "The state filter must be one of new, open, waiting_user, waiting_vendor."},
		{"state=bogus", "The state filter must be one of new, open, waiting_user, waiting_vendor."},
		{"group=" + strings.Repeat("g", 201), "The device group filter is too long."},
		{"tier=everyone", `The tier must be 1 to 4 or &#34;mine&#34;.`},
	} {
		for _, format := range []string{"", "&format=json"} {
			res, body := tc.get(t, cl, "/queue?"+c.query+format)
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, c.msg) {
				t.Errorf("/queue?%s%s: %d, want 400 with %q\n%s", c.query, format, res.StatusCode, c.msg, body)
			}
		}
	}
}

// TestQueueCountsFollowMoves: the tab counts the queue's live JSON gives
// follow a ticket that is escalated, resolved and reopened at once (within
// the counts' reuse time), so a tab never says 2 over one row.
func TestQueueCountsFollowMoves(t *testing.T) {
	tc := newTestConsole(t)
	cl := tc.login(t, store.RoleTier1)
	counts := func() map[string]int {
		t.Helper()
		_, body := tc.get(t, cl, "/queue?format=json&tier=1")
		var d struct {
			Counts map[string]int `json:"counts"`
		}
		if err := json.Unmarshal([]byte(body), &d); err != nil {
			t.Fatalf("queue JSON: %v\n%s", err, body)
		}
		return d.Counts
	}
	a := tc.fileTicket(t, "pc-1", "printer jammed")
	tc.fileTicket(t, "pc-2", "vpn drops")
	if c := counts(); c["1"] != 2 || c["2"] != 0 {
		t.Fatalf("counts after filing two: %v", c)
	}
	steps := []struct {
		what string
		do   func() error
		t1   int
		t2   int
	}{
		{"escalated", func() error { _, err := tc.svc.Escalate(t.Context(), a.ID, "ana", 2, "needs tier 2"); return err }, 1, 1},
		{"resolved", func() error { _, err := tc.svc.Resolve(t.Context(), a.ID, "ana", "Cleared the queue"); return err }, 1, 0},
		{"reopened", func() error { _, err := tc.svc.Reopen(t.Context(), a.ID, "ana", "came back"); return err }, 1, 1},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.what, err)
		}
		if c := counts(); c["1"] != s.t1 || c["2"] != s.t2 {
			t.Errorf("counts right after the ticket was %s: %v, want tier 1 %d, tier 2 %d", s.what, c, s.t1, s.t2)
		}
	}
}
