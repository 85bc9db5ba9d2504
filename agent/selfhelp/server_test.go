package selfhelp

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/shared/wire"
)

// agent is a real local socket server with handlers that answer the way
// the running agent does and remember what they were asked.
type agent struct {
	mu       sync.Mutex
	help     []map[string]any
	sessions []map[string]any
	runs     []string
}

func startAgent(t *testing.T) (string, *agent) {
	t.Helper()
	dir, err := os.MkdirTemp("", "sh")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, localipc.SocketName)
	srv, err := localipc.Listen(path, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	a := &agent{}
	srv.HandleUser(localipc.OpStatus, func(ctx context.Context, _ json.RawMessage) (any, error) {
		return map[string]any{"connected": false, "failing": []map[string]any{{"name": "disk-space", "status": "failing",
			"summary": "The disk is almost full", "fixes": []string{"clear-temp"}}}, "icon": "problem"}, nil
	})
	srv.HandleUser(localipc.OpKB, func(ctx context.Context, body json.RawMessage) (any, error) {
		return map[string]any{"cached": true, "articles": []wire.KBArticle{{ID: "art-1", Title: "Disk full", Body: "Clear temp."}}}, nil
	})
	srv.HandleUser(localipc.OpRun, func(ctx context.Context, body json.RawMessage) (any, error) {
		var c struct{ Fix string }
		_ = json.Unmarshal(body, &c)
		if c.Fix == "reboot" {
			return nil, localipc.Forbidden("reboot is a Tier 2 fix; you may run Tier 0 fixes only")
		}
		a.mu.Lock()
		a.runs = append(a.runs, c.Fix)
		a.mu.Unlock()
		return map[string]any{"run_id": "r1", "fix": c.Fix, "outcome": "fixed"}, nil
	})
	srv.HandleUser(localipc.OpHelp, func(ctx context.Context, body json.RawMessage) (any, error) {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, err
		}
		if m["text"] == "ask again" { // the agent's limit, as agent/gethelp words it
			return nil, localipc.Limited("You have already asked for help as often as one person may from this computer (4 an hour). " +
				"You can ask again at 10:42 (in 12 minutes).")
		}
		a.mu.Lock()
		a.help = append(a.help, m)
		a.mu.Unlock()
		return map[string]any{"request_id": m["request_id"], "queued": true, "connected": false}, nil
	})
	srv.HandleUser(localipc.OpTemplates, func(ctx context.Context, _ json.RawMessage) (any, error) {
		return localipc.TemplatesAnswer{Cached: true, Templates: []wire.RequestTemplate{{ID: "tpl-1", Name: "A new monitor", Tier: 2, Priority: 4,
			Fields: []wire.TemplateField{{Key: "size", Label: "Size", Kind: wire.FieldChoice, Required: true, Choices: []string{"24 inch"}}}}}}, nil
	})
	srv.HandleUser(localipc.OpSession, func(ctx context.Context, body json.RawMessage) (any, error) {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, err
		}
		a.mu.Lock()
		a.sessions = append(a.sessions, m)
		a.mu.Unlock()
		return map[string]any{"recovered": []string{}, "queued": true}, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return path, a
}

func startPage(t *testing.T, socket string) *Server {
	t.Helper()
	s, err := Start(context.Background(), Config{Socket: socket, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// browser is an HTTP client that keeps cookies and does not follow
// redirects, so each step can be checked.
func browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type answer struct {
	code int
	body string
	hdr  http.Header
}

func do(t *testing.T, c *http.Client, method, u string, body string, hdr map[string]string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, string(b), resp.Header}
}

// login opens the one-time link and returns the client and the page's
// CSRF secret.
func login(t *testing.T, s *Server) (*http.Client, string) {
	t.Helper()
	c := browser(t)
	a := do(t, c, "GET", s.URL(), "", nil)
	if a.code != http.StatusSeeOther {
		t.Fatalf("open the link: %d %s", a.code, a.body)
	}
	a = do(t, c, "GET", base(s)+"/api/session", "", nil)
	if a.code != 200 {
		t.Fatalf("session: %d %s", a.code, a.body)
	}
	var sess struct{ CSRF string }
	if err := json.Unmarshal([]byte(a.body), &sess); err != nil || sess.CSRF == "" {
		t.Fatalf("session answer %s: %v", a.body, err)
	}
	return c, sess.CSRF
}

func base(s *Server) string { return "http://" + s.Addr() }

func post(s *Server, csrf string) map[string]string {
	return map[string]string{"Origin": base(s), "X-Tierline-CSRF": csrf, "Content-Type": "application/json"}
}

func TestListensOnLoopbackOnly(t *testing.T) {
	socket, _ := startAgent(t)
	s := startPage(t, socket)
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") {
		t.Fatalf("listening on %s, want 127.0.0.1", s.Addr())
	}
	u, err := url.Parse(s.URL())
	if err != nil || u.Host != s.Addr() || len(u.Query().Get("token")) < 43 {
		t.Fatalf("URL %q does not carry a 256-bit token for %s", s.URL(), s.Addr())
	}
}

func TestRefusesWithoutToken(t *testing.T) {
	socket, _ := startAgent(t)
	s := startPage(t, socket)
	c := browser(t)
	for _, p := range []string{"/", "/app.js", "/app.css", "/api/status", "/api/session", "/api/tickets"} {
		a := do(t, c, "GET", base(s)+p, "", nil)
		if a.code != http.StatusForbidden || !strings.Contains(a.body, "open Get help from the Tierline icon") {
			t.Errorf("GET %s without the link: %d %s", p, a.code, a.body)
		}
	}
	a := do(t, c, "POST", base(s)+"/api/help", `{"text":"x"}`, map[string]string{"Origin": base(s)})
	if a.code != http.StatusForbidden {
		t.Errorf("POST /api/help without the link: %d %s", a.code, a.body)
	}
	// A made-up token, and a forged cookie, get nowhere.
	a = do(t, c, "GET", base(s)+"/open?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "", nil)
	if a.code != http.StatusForbidden || !strings.Contains(a.body, "used already or has expired") {
		t.Errorf("made-up token: %d %s", a.code, a.body)
	}
	a = do(t, c, "GET", base(s)+"/api/status", "", map[string]string{"Cookie": s.cookieName() + "=forged"})
	if a.code != http.StatusForbidden {
		t.Errorf("forged cookie: %d %s", a.code, a.body)
	}
}

func TestLinkWorksOnce(t *testing.T) {
	socket, _ := startAgent(t)
	s := startPage(t, socket)
	link := s.URL()
	c := browser(t)
	a := do(t, c, "GET", link, "", nil)
	if a.code != http.StatusSeeOther || a.hdr.Get("Location") != "/" {
		t.Fatalf("first open: %d %v", a.code, a.hdr)
	}
	ck := a.hdr.Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(ck, want) {
			t.Errorf("cookie %q lacks %s", ck, want)
		}
	}
	a = do(t, c, "GET", base(s)+"/", "", nil)
	if a.code != 200 || !strings.Contains(a.body, "What's wrong?") {
		t.Fatalf("page after the link: %d", a.code)
	}
	// The same link in another browser is refused.
	a = do(t, browser(t), "GET", link, "", nil)
	if a.code != http.StatusForbidden {
		t.Fatalf("second use of the link: %d %s", a.code, a.body)
	}
}

func TestForeignHostRefused(t *testing.T) {
	socket, _ := startAgent(t)
	s := startPage(t, socket)
	c, _ := login(t, s)
	port := strings.TrimPrefix(s.Addr(), "127.0.0.1:")
	for _, host := range []string{"evil.example:" + port, "127.0.0.1.evil:" + port, "127.0.0.1.nip.io:" + port,
		"localhost", "127.0.0.1", "127.0.0.1:1", "[::1]:" + port, "LOCALHOST.:" + port} {
		a := do(t, c, "GET", base(s)+"/api/status", "", map[string]string{"Host": host})
		if a.code != http.StatusMisdirectedRequest && a.code != http.StatusForbidden && a.code != http.StatusBadRequest {
			t.Errorf("Host %q: %d %s", host, a.code, a.body)
		}
		if a.code == http.StatusOK {
			t.Errorf("Host %q got an answer", host)
		}
	}
	// Even the one-time link is refused under a foreign name, and stays
	// usable.
	link := s.URL()
	a := do(t, browser(t), "GET", link, "", map[string]string{"Host": "evil.example:" + port})
	if a.code != http.StatusMisdirectedRequest || !strings.Contains(a.body, "answers only to") {
		t.Errorf("link under a foreign Host: %d %s", a.code, a.body)
	}
	if a := do(t, browser(t), "GET", link, "", nil); a.code != http.StatusSeeOther {
		t.Errorf("link after a refused foreign Host: %d", a.code)
	}
	// localhost:PORT is this page too.
	a = do(t, browser(t), "GET", s.URL(), "", map[string]string{"Host": "localhost:" + port})
	if a.code != http.StatusSeeOther {
		t.Errorf("the link as localhost:%s: %d %s", port, a.code, a.body)
	}
}

func TestCrossOriginRefused(t *testing.T) {
	socket, a := startAgent(t)
	s := startPage(t, socket)
	c, csrf := login(t, s)
	body := `{"text":"printer jams"}`
	cases := []struct {
		name string
		hdr  map[string]string
	}{
		{"another origin", map[string]string{"Origin": "http://evil.example", "X-Tierline-CSRF": csrf}},
		{"another port", map[string]string{"Origin": "http://127.0.0.1:1", "X-Tierline-CSRF": csrf}},
		{"null origin", map[string]string{"Origin": "null", "X-Tierline-CSRF": csrf}},
		{"no origin", map[string]string{"X-Tierline-CSRF": csrf}},
		{"no CSRF header", map[string]string{"Origin": base(s)}},
		{"wrong CSRF header", map[string]string{"Origin": base(s), "X-Tierline-CSRF": "nope"}},
		{"cross-site fetch", map[string]string{"Origin": base(s), "X-Tierline-CSRF": csrf, "Sec-Fetch-Site": "cross-site"}},
	}
	for _, tc := range cases {
		r := do(t, c, "POST", base(s)+"/api/help", body, tc.hdr)
		if r.code != http.StatusForbidden {
			t.Errorf("%s: %d %s", tc.name, r.code, r.body)
		}
		var e struct{ Error string }
		if json.Unmarshal([]byte(r.body), &e) != nil || e.Error == "" {
			t.Errorf("%s: no clear error: %s", tc.name, r.body)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.help) != 0 {
		t.Fatalf("a refused request reached the agent: %v", a.help)
	}
}

func TestBadInput(t *testing.T) {
	socket, _ := startAgent(t)
	s := startPage(t, socket)
	c, csrf := login(t, s)
	h := post(s, csrf)
	cases := []struct {
		path, body string
		code       int
		says       string
	}{
		{"/api/help", `{"text":`, 400, "not valid JSON"},
		{"/api/help", `{"text":"x","admin":true}`, 400, "unknown field"},
		{"/api/help", `{"text":"   "}`, 400, "what is wrong"},
		{"/api/help", `{"text":"x","category":"wifi"}`, 400, "unknown category"},
		{"/api/help", `{"text":"x","screenshot":"` + "aGVsbG8=" + `"}`, 400, "PNG"},
		{"/api/help", `{"text":"` + strings.Repeat("a", maxBody) + `"}`, 413, "larger than"},
		{"/api/run", `{}`, 400, "which fix"},
		{"/api/run", `[1,2]`, 400, "not valid JSON"},
		{"/api/survey", `{"ticket_id":"t","score":9}`, 400, "1 to 5"},
		{"/api/kb", `{"text":"x"} {"text":"y"}`, 400, "after its JSON"},
	}
	for _, tc := range cases {
		r := do(t, c, "POST", base(s)+tc.path, tc.body, h)
		if r.code != tc.code || !strings.Contains(r.body, tc.says) {
			t.Errorf("POST %s %.40s: %d %s, want %d saying %q", tc.path, tc.body, r.code, r.body, tc.code, tc.says)
		}
	}
	r := do(t, c, "POST", base(s)+"/api/kb", `text=x`, map[string]string{"Origin": base(s), "X-Tierline-CSRF": csrf,
		"Content-Type": "application/x-www-form-urlencoded"})
	if r.code != http.StatusUnsupportedMediaType {
		t.Errorf("form body: %d %s", r.code, r.body)
	}
	r = do(t, c, "GET", base(s)+"/api/nothing", "", nil)
	if r.code != 404 || !strings.Contains(r.body, "no such API route") {
		t.Errorf("unknown route: %d %s", r.code, r.body)
	}
}

func TestSecurityHeaders(t *testing.T) {
	socket, _ := startAgent(t)
	s := startPage(t, socket)
	c, _ := login(t, s)
	for _, p := range []string{"/", "/app.js", "/api/status"} {
		r := do(t, c, "GET", base(s)+p, "", nil)
		if r.code != 200 {
			t.Fatalf("GET %s: %d", p, r.code)
		}
		csp := r.hdr.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("GET %s CSP %q", p, csp)
		}
		if r.hdr.Get("X-Frame-Options") != "DENY" || r.hdr.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s headers %v", p, r.hdr)
		}
	}
	page := do(t, c, "GET", base(s)+"/", "", nil).body
	if strings.Contains(page, "<script>") || strings.Contains(page, "style=") || strings.Contains(page, "onclick") {
		t.Error("the page has inline script or style")
	}
}

// TestPageBuildsNoHTMLFromData: the page's script inserts data with
// textContent only.
func TestPageBuildsNoHTMLFromData(t *testing.T) {
	b, err := webFS.ReadFile("web/app.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
		if strings.Contains(string(b), bad) {
			t.Errorf("app.js uses %s", bad)
		}
	}
}

// TestSelfHelpTriedReachesTicket: the articles shown and the fixes run in
// a session go with the ticket, and the session is recorded once, as
// ending in a ticket.
func TestSelfHelpTriedReachesTicket(t *testing.T) {
	socket, a := startAgent(t)
	s := startPage(t, socket)
	c, csrf := login(t, s)
	h := post(s, csrf)
	if r := do(t, c, "GET", base(s)+"/api/status", "", nil); r.code != 200 || !strings.Contains(r.body, "disk-space") {
		t.Fatalf("status: %d %s", r.code, r.body)
	}
	if r := do(t, c, "POST", base(s)+"/api/kb", `{"text":"disk full","category":"slow"}`, h); r.code != 200 ||
		!strings.Contains(r.body, `"cached":true`) {
		t.Fatalf("kb: %d %s", r.code, r.body)
	}
	if r := do(t, c, "POST", base(s)+"/api/run", `{"fix":"clear-temp"}`, h); r.code != 200 || !strings.Contains(r.body, "fixed") {
		t.Fatalf("run: %d %s", r.code, r.body)
	}
	if r := do(t, c, "POST", base(s)+"/api/run", `{"fix":"reboot"}`, h); r.code != 403 || !strings.Contains(r.body, "Tier 0") {
		t.Fatalf("a fix above Tier 0: %d %s", r.code, r.body)
	}
	png := "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
	r := do(t, c, "POST", base(s)+"/api/help", `{"text":"my disk is full","category":"slow","screenshot":"`+png+`"}`, h)
	if r.code != 200 || !strings.Contains(r.body, `"queued":true`) {
		t.Fatalf("help: %d %s", r.code, r.body)
	}
	do(t, c, "POST", base(s)+"/api/leave", `{}`, h)
	s.Close()

	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.help) != 1 {
		t.Fatalf("%d help requests, want 1", len(a.help))
	}
	got, _ := json.Marshal(a.help[0])
	for _, want := range []string{`"articles":["art-1"]`, `"fix":"clear-temp","outcome":"fixed"`, `"category":"slow"`,
		`"text":"my disk is full"`, `"screenshot":"` + png + `"`} {
		if !strings.Contains(string(got), want) {
			t.Errorf("help request %s lacks %s", got, want)
		}
	}
	if len(a.sessions) != 1 {
		t.Fatalf("%d sessions recorded, want 1: %v", len(a.sessions), a.sessions)
	}
	ss, _ := json.Marshal(a.sessions[0])
	for _, want := range []string{`"ticket":true`, `"fixes_run":["clear-temp"]`, `"failing":["disk-space"]`, `"articles":["art-1"]`} {
		if !strings.Contains(string(ss), want) {
			t.Errorf("session %s lacks %s", ss, want)
		}
	}
}

// TestSessionRecordedWithoutTicket: a page closed without filing is
// recorded as a session without a ticket, when the server stops.
func TestSessionRecordedWithoutTicket(t *testing.T) {
	socket, a := startAgent(t)
	s := startPage(t, socket)
	c, csrf := login(t, s)
	do(t, c, "POST", base(s)+"/api/kb", `{"text":"slow"}`, post(s, csrf))
	s.Close()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.sessions) != 1 || a.sessions[0]["ticket"] != false {
		t.Fatalf("sessions %v, want one without a ticket", a.sessions)
	}
}

func TestAgentNotRunning(t *testing.T) {
	s := startPage(t, filepath.Join(t.TempDir(), "none.sock"))
	c, _ := login(t, s)
	r := do(t, c, "GET", base(s)+"/api/status", "", nil)
	if r.code != http.StatusServiceUnavailable || !strings.Contains(r.body, "agent is not running") {
		t.Fatalf("status without an agent: %d %s", r.code, r.body)
	}
	r = do(t, c, "GET", base(s)+"/api/consent", "", nil)
	if r.code != http.StatusServiceUnavailable {
		t.Fatalf("consent without an agent: %d %s", r.code, r.body)
	}
}

func TestUnknownOpIsClear(t *testing.T) {
	socket, _ := startAgent(t)
	s := startPage(t, socket)
	c, _ := login(t, s)
	r := do(t, c, "GET", base(s)+"/api/fixes", "", nil)
	if r.code != http.StatusNotImplemented || !strings.Contains(r.body, "too old") {
		t.Fatalf("an op the agent lacks: %d %s", r.code, r.body)
	}
}

func TestConfigNeedsSocket(t *testing.T) {
	if _, err := Start(context.Background(), Config{}); err == nil || !strings.Contains(err.Error(), "--socket") {
		t.Fatalf("Start without a socket: %v", err)
	}
}

func TestStopsWithContext(t *testing.T) {
	socket, _ := startAgent(t)
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Start(ctx, Config{Socket: socket, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not stop with its context")
	}
	if _, err := http.Get(base(s) + "/"); err == nil {
		t.Fatalf("%s still answers", base(s))
	}
}
