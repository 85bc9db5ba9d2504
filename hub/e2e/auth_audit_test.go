//go:build linux

package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The authentication events of a real hub are in its audit log, by API
// and on the admin's audit page: a wrong password, a lockout, a password
// login, an API token's first use and its use from another loopback
// address, a revoked and an unknown token refused, an admin's password
// reset by API and a second-factor reset from the command line. (Second
// factors, passkeys and sign-on are checked the same way in their own
// tests: TestConsoleSecondFactor, TestConsolePasskeys, TestConsoleSSO,
// TestConsoleSSOSettings.)
func TestAuthAuditTrail(t *testing.T) {
	h := startHub(t)
	const pw = "audit trail tier1 pw"
	must(t, pw+"\n", "tierline-hub", "user", "add", "--data", h.data, "--name", "ines", "--role", "tier1")
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(filepath.Join(h.data, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(pem)
	client := func(from string) *http.Client {
		jar, _ := cookiejar.New(nil)
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
		return &http.Client{Jar: jar, Timeout: 15 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool},
				DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
					return d.DialContext(ctx, network, addr)
				}}}
	}
	login := func(cl *http.Client, name, password string) int {
		t.Helper()
		res, err := cl.PostForm(h.url()+"/login", url.Values{"name": {name}, "password": {password}, "next": {"/queue"}})
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	browser := client("127.0.0.1")
	if code := login(browser, "ines", "wrong password"); code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", code)
	}
	if code := login(browser, "ines", pw); code != http.StatusSeeOther {
		t.Errorf("password login: %d", code)
	}
	for i := 0; i < 5; i++ {
		login(browser, "mallory", "guess")
	}
	if code := login(browser, "mallory", "guess"); code != http.StatusTooManyRequests {
		t.Errorf("sixth guess: %d, want 429", code)
	}

	// An API token from two addresses, a revoked one and an unknown one.
	call := func(cl *http.Client, token string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", h.url()+"/api/v1/devices", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := cl.Do(req)
		if err != nil {
			t.Fatalf("API call: %v", err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	tok := must(t, "", "tierline-hub", "apitoken", "create", "--data", h.data, "--user", "ines")
	if call(client("127.0.0.1"), tok) != 200 || call(client("127.0.0.2"), tok) != 200 || call(client("127.0.0.2"), tok) != 200 {
		t.Fatal("the token did not work from both addresses")
	}
	tokenIDs := func() map[string]bool {
		t.Helper()
		var out struct{ Tokens []struct{ ID string } }
		if code := h.get("/api/v1/apitokens", &out); code != 200 {
			t.Fatalf("api tokens: %d", code)
		}
		ids := map[string]bool{}
		for _, x := range out.Tokens {
			ids[x.ID] = true
		}
		return ids
	}
	before := tokenIDs()
	revoked := must(t, "", "tierline-hub", "apitoken", "create", "--data", h.data, "--user", "ines")
	var revokedID string
	for id := range tokenIDs() {
		if !before[id] {
			revokedID = id
		}
	}
	if revokedID == "" {
		t.Fatal("the new token is not listed")
	}
	if code := h.do("POST", "/api/v1/apitokens/"+revokedID+"/revoke", h.token, nil, nil); code != 200 {
		t.Fatalf("revoke: %d", code)
	}
	if call(client("127.0.0.3"), revoked) != 401 || call(client("127.0.0.3"), "not-a-token") != 401 {
		t.Error("a revoked or unknown token was taken")
	}

	// Resets: a password by API, a second factor from the command line.
	var users struct{ Users []struct{ ID, Name string } }
	h.get("/api/v1/users", &users)
	var ines string
	for _, u := range users.Users {
		if u.Name == "ines" {
			ines = u.ID
		}
	}
	if code := h.do("POST", "/api/v1/users/"+ines+"/password", h.token, strings.NewReader(`{"password":"a new password for ines"}`), nil); code != 200 {
		t.Errorf("password reset: %d", code)
	}
	must(t, "", "tierline-hub", "user", "reset-2fa", "--data", h.data, "--name", "ines")

	var audit struct {
		Events []struct {
			Actor, Action, Target, Outcome, Remote string
			Detail                                 map[string]any
		}
	}
	if code := h.get("/api/v1/audit?limit=500", &audit); code != 200 {
		t.Fatalf("audit: %d", code)
	}
	has := func(what string, match func(actor, action, target, outcome, remote string, d map[string]any) bool) {
		t.Helper()
		for _, e := range audit.Events {
			if match(e.Actor, e.Action, e.Target, e.Outcome, e.Remote, e.Detail) {
				return
			}
		}
		t.Errorf("no audit event for %s", what)
	}
	has("the wrong password", func(a, ac, tg, o, _ string, _ map[string]any) bool {
		return ac == "user.login" && tg == "ines" && o == "denied"
	})
	has("the password login", func(a, ac, tg, o, _ string, _ map[string]any) bool {
		return ac == "user.login" && tg == "ines" && o == "ok"
	})
	has("the lockout", func(a, ac, tg, o, _ string, _ map[string]any) bool {
		return ac == "user.login" && tg == "mallory" && o == "locked"
	})
	has("the token's first use", func(a, ac, tg, o, _ string, d map[string]any) bool {
		return ac == "apitoken.use" && a == "ines" && o == "new_address" && d["to"] == "127.0.0.1"
	})
	has("the token's use from another address", func(a, ac, tg, o, r string, d map[string]any) bool {
		return ac == "apitoken.use" && a == "ines" && o == "new_address" && d["from"] == "127.0.0.1" && d["to"] == "127.0.0.2" && strings.HasPrefix(r, "127.0.0.2:")
	})
	has("the revoked token", func(a, ac, tg, o, r string, d map[string]any) bool {
		s, _ := d["reason"].(string)
		return ac == "apitoken.use" && o == "denied" && strings.Contains(s, revokedID) && strings.Contains(s, "revoked")
	})
	has("the unknown token", func(a, ac, tg, o, r string, d map[string]any) bool {
		s, _ := d["reason"].(string)
		return ac == "apitoken.use" && o == "denied" && strings.Contains(s, "unknown token")
	})
	has("the password reset", func(a, ac, tg, o, _ string, _ map[string]any) bool {
		return ac == "user.password" && tg == "ines" && o == "ok"
	})
	has("the second-factor reset", func(a, ac, tg, o, _ string, _ map[string]any) bool {
		return ac == "user.second_factor.reset" && a == "cli" && tg == "ines"
	})
	newAddr := 0
	for _, e := range audit.Events {
		if e.Action == "apitoken.use" && e.Actor == "ines" && e.Outcome == "new_address" {
			newAddr++
		}
	}
	if newAddr != 2 {
		t.Errorf("%d new-address events for two addresses", newAddr)
	}

	// The admin's audit page shows them.
	admin := client("127.0.0.1")
	if code := login(admin, "admin", adminPassword(t, h)); code != http.StatusSeeOther {
		t.Fatalf("admin login: %d", code)
	}
	res, err := admin.Get(h.url() + "/admin/audit")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{"user.login", "locked", "apitoken.use", "new_address", "user.password", "user.second_factor.reset", "mallory"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the audit page does not show %q", want)
		}
	}
}
