package console

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tierline/tierline/hub/store"
)

// A page registered for POST runs only with the session's CSRF token from
// this origin: the check is the page wrapper's, not each handler's.
func TestPostPageNeedsCSRF(t *testing.T) {
	tc := newTestConsole(t)
	ran := 0
	mux := http.NewServeMux()
	tc.Console.Register(mux)
	mux.Handle("POST /test-change", tc.secure(tc.page(Page{Role: store.RoleTier1, Handle: func(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
		ran++
		_, _ = io.WriteString(w, "changed")
	}})))
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	tc.srv = srv // log in and read pages on this server

	cl := tc.login(t, store.RoleTier1)
	_, page := tc.get(t, cl, "/queue")
	tok := csrfOf(t, page)
	post := func(path, tok, origin string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", origin)
		if tok != "" {
			req.Header.Set("X-CSRF-Token", tok)
		}
		res, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res, readBody(t, res)
	}
	for _, c := range []struct{ name, tok, origin string }{
		{"no token", "", srv.URL},
		{"wrong token", tok + "x", srv.URL},
		{"other origin", tok, "https://evil.example"},
	} {
		res, body := post("/test-change", c.tok, c.origin)
		if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "missing CSRF token or another origin") {
			t.Errorf("POST with %s: %d %q, want 403 naming the CSRF token", c.name, res.StatusCode, body)
		}
	}
	if ran != 0 {
		t.Fatalf("handler ran %d times without a valid token", ran)
	}
	if res, body := post("/test-change", tok, srv.URL); res.StatusCode != http.StatusOK || body != "changed" || ran != 1 {
		t.Fatalf("POST with the token: %d %q (ran %d)", res.StatusCode, body, ran)
	}

	// Every registered page with an unsafe method refuses a request without
	// the token, whatever its handler does.
	admin := tc.login(t, store.RoleAdmin)
	for _, p := range pages() {
		m, path, _ := strings.Cut(p.Pattern, " ")
		if safeMethod(m) || strings.Contains(path, "{") {
			continue
		}
		req, _ := http.NewRequest(m, srv.URL+path, strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", srv.URL)
		res, err := admin.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if body := readBody(t, res); res.StatusCode != http.StatusForbidden {
			t.Errorf("%s without CSRF token: %d %q, want 403", p.Pattern, res.StatusCode, body)
		}
	}
}
