package console

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/api"
	"github.com/tierline/tierline/hub/auth"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/shared/wire"
)

// testPassword is every test user's password.
const testPassword = "correct horse battery"

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type testConsole struct {
	*Console
	st    *store.Store
	srv   *httptest.Server
	clock *testClock
	svc   *tickets.Service
	users map[store.Role]store.User
}

var (
	hashOnce sync.Once
	pwHash   string
)

// newTestConsole serves a console on a real SQLite store, with the API
// mounted beside it as the hub does, and a user of every role
// (tier1, tier2, tier3, admin; password testPassword).
func newTestConsole(t *testing.T) *testConsole {
	t.Helper()
	st := storetest.Open(t)
	return newTestConsoleOn(t, st)
}

func newTestConsoleOn(t *testing.T, st *store.Store) *testConsole {
	t.Helper()
	hashOnce.Do(func() {
		h, err := auth.HashPassword(testPassword)
		if err != nil {
			panic(err)
		}
		pwHash = h
	})
	clock := &testClock{t: time.Now().UTC()}
	c, err := New(Config{Store: st, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	tc := &testConsole{Console: c, st: st, clock: clock, users: map[store.Role]store.User{}}
	for _, r := range store.Roles {
		u := store.User{ID: wire.NewID(), Name: string(r) + "-user", Role: r, PasswordHash: pwHash}
		if err := st.CreateUser(context.Background(), u); err != nil {
			t.Fatal(err)
		}
		tc.users[r] = u
	}
	svc, err := tickets.New(tickets.Config{Store: st, Changes: tickets.PublishFunc(c.PublishTicket)})
	if err != nil {
		t.Fatal(err)
	}
	tc.svc = svc
	c.cfg.Metrics = svc.Metrics
	a, err := api.New(api.Config{Store: st, Now: clock.Now, Session: c.APISession, Tickets: svc})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	c.Register(mux)
	mux.Handle("/api/", a)
	tc.srv = httptest.NewTLSServer(mux)
	t.Cleanup(tc.srv.Close)
	return tc
}

// client is a browser-like client with a cookie jar that does not follow
// redirects.
func (tc *testConsole) client(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	cl := tc.srv.Client()
	return &http.Client{Transport: cl.Transport, Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// login logs in as the user of role and returns the client.
func (tc *testConsole) login(t *testing.T, role store.Role) *http.Client {
	t.Helper()
	cl := tc.client(t)
	res := tc.postForm(t, cl, "/login", url.Values{"name": {tc.users[role].Name}, "password": {testPassword}}, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login as %s: %d %s", role, res.StatusCode, readBody(t, res))
	}
	res.Body.Close()
	return cl
}

func (tc *testConsole) postForm(t *testing.T, cl *http.Client, path string, v url.Values, hdr http.Header) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, tc.srv.URL+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", tc.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	res, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (tc *testConsole) get(t *testing.T, cl *http.Client, path string) (*http.Response, string) {
	t.Helper()
	res, err := cl.Get(tc.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	return res, readBody(t, res)
}

func readBody(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// csrfOf extracts the CSRF meta token from a page.
func csrfOf(t *testing.T, page string) string {
	t.Helper()
	_, rest, ok := strings.Cut(page, `<meta name="csrf-token" content="`)
	if !ok {
		t.Fatalf("page has no csrf-token meta:\n%s", page)
	}
	tok, _, _ := strings.Cut(rest, `"`)
	return tok
}

func TestLoginQueueLogout(t *testing.T) {
	tc := newTestConsole(t)
	cl := tc.client(t)

	res, _ := tc.get(t, cl, "/queue")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login?next=%2Fqueue") {
		t.Fatalf("anonymous /queue: %d to %q, want a redirect to /login", res.StatusCode, res.Header.Get("Location"))
	}
	res, page := tc.get(t, cl, "/login")
	if res.StatusCode != 200 || !strings.Contains(page, "Log in to Tierline") {
		t.Fatalf("/login: %d\n%s", res.StatusCode, page)
	}

	res = tc.postForm(t, cl, "/login", url.Values{"name": {"tier2-user"}, "password": {testPassword}, "next": {"/queue?tier=2"}}, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/queue?tier=2" {
		t.Fatalf("login: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	var ck *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == CookieName {
			ck = c
		}
	}
	if ck == nil || !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.Domain != "" {
		t.Fatalf("session cookie %+v: want HttpOnly, Secure, SameSite=Strict, Path=/, no Domain", ck)
	}
	res.Body.Close()

	res, page = tc.get(t, cl, "/queue")
	if res.StatusCode != 200 || !strings.Contains(page, "Tier 2 queue") || !strings.Contains(page, "tier2-user") {
		t.Fatalf("/queue after login: %d\n%s", res.StatusCode, page)
	}
	tok := csrfOf(t, page)

	// Logout without the token is refused; with it the session ends.
	res = tc.postForm(t, cl, "/logout", url.Values{}, nil)
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("logout without csrf: %d", res.StatusCode)
	}
	res.Body.Close()
	res = tc.postForm(t, cl, "/logout", url.Values{"csrf": {tok}}, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	res.Body.Close()
	// The old cookie value no longer works, even if replayed.
	replay := tc.client(t)
	u, _ := url.Parse(tc.srv.URL)
	replay.Jar.SetCookies(u, []*http.Cookie{{Name: CookieName, Value: ck.Value, Path: "/", Secure: true}})
	if res, _ := tc.get(t, replay, "/queue"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("replayed cookie after logout: %d, want a redirect to /login", res.StatusCode)
	}
}
