//go:build linux

package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tierline/tierline/hub/sso/ssotest"
)

// Single sign-on in chromium, with the hub and an OpenID provider as
// processes of their own: password logins are off but for the break-glass
// admin; a technician logs in with the company account, is created with
// the role her group gives, and is refused once her group no longer maps
// to a role; the break-glass admin still logs in with a password.
func TestConsoleSSO(t *testing.T) {
	hubAddr, idpAddr := freePort(t), freePort(t)
	dir := t.TempDir()
	cfg, _ := json.Marshal(ssotest.Config{
		Clients: []ssotest.Client{{ID: "tierline", Secret: "e2e client secret", RedirectURI: "https://" + hubAddr + "/login/sso/callback"}},
		Users:   []ssotest.User{{Name: "maria", Password: "maria idp pw", Email: "maria@example.test", Groups: []string{"it-helpdesk"}}},
	})
	cfgFile, secretFile := filepath.Join(dir, "idp.json"), filepath.Join(dir, "client-secret")
	if err := os.WriteFile(cfgFile, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secretFile, []byte("e2e client secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	idp := start(t, "oidc-provider", "-listen", idpAddr, "-config", cfgFile)
	eventually(t, "the provider listening", 30*time.Second, func() bool { return strings.Contains(idp.output(), "listening on") })

	h := &hub{t: t, data: t.TempDir(), addr: hubAddr, extra: []string{"--oidc-issuer", "http://" + idpAddr, "--oidc-client-id", "tierline",
		"--oidc-client-secret-file", secretFile, "--oidc-roles", "it-helpdesk=tier1,it-admins=admin", "--oidc-create-users",
		"--password-login=false", "--break-glass-admin", "admin"}}
	h.start()
	h.token = must(t, "", "tierline-hub", "apitoken", "create", "--data", h.data, "--user", "admin")
	if strings.Contains(h.proc.output(), "e2e client secret") {
		t.Error("the hub printed the client secret")
	}

	b := newConsoleBrowser(t)
	sso := func(user, pw, lands string) {
		t.Helper()
		b.do("sign on as "+user,
			chromedp.Navigate(h.url()+"/login"),
			chromedp.WaitVisible(chromedp.CSS(`#sso-login`)),
			chromedp.Click(chromedp.CSS(`#sso-login`)),
			chromedp.WaitVisible(chromedp.CSS(`#username`)),
			chromedp.SendKeys(chromedp.CSS(`#username`), user),
			chromedp.SendKeys(chromedp.CSS(`#password`), pw),
			chromedp.Click(chromedp.CSS(`#signin`)),
			chromedp.WaitVisible(chromedp.CSS(lands)))
	}
	b.do("open the login page", chromedp.Navigate(h.url()+"/login"), chromedp.WaitVisible(chromedp.CSS(`#sso-login`)))
	if v := b.eval(`(function(){var f=document.querySelector("#password-login");return f.checkVisibility() ? "shown" : "hidden"})()`); v != "hidden" {
		t.Errorf("the password form is %s with password logins off", v)
	}
	sso("maria", "maria idp pw", ".who")
	if s := b.text(".who"); !strings.Contains(s, "maria") || !strings.Contains(s, "tier1") {
		t.Errorf("header after sign-on: %q", s)
	}
	var users struct{ Users []struct{ Name, Role string } }
	if code := h.get("/api/v1/users", &users); code != 200 {
		t.Fatalf("users: %d", code)
	}
	found := false
	for _, u := range users.Users {
		found = found || u.Name == "maria" && u.Role == "tier1"
	}
	if !found {
		t.Errorf("maria is not a tier1 user after her first sign-on: %+v", users)
	}
	b.do("log out", chromedp.Click(chromedp.CSS(`.who form button`)), chromedp.WaitVisible(chromedp.CSS(`#sso-login`)))

	// Her group no longer gives a role: she is refused, in words.
	res, err := http.Post("http://"+idpAddr+"/test/user", "application/json", strings.NewReader(`{"name":"maria","password":"maria idp pw","groups":["staff"]}`))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("change maria's groups: %v %v", res, err)
	}
	res.Body.Close()
	sso("maria", "maria idp pw", "#login-error")
	if s := b.text("#login-error"); !strings.Contains(s, "no group that gives a Tierline role") {
		t.Errorf("refusal: %q", s)
	}

	// The break-glass admin logs in with a password.
	pw := adminPassword(t, h)
	b.do("break-glass login",
		chromedp.Click(chromedp.CSS(`details.break-glass summary`)),
		chromedp.WaitVisible(chromedp.CSS(`#password-login input[name=name]`)),
		chromedp.SendKeys(chromedp.CSS(`#password-login input[name=name]`), "admin"),
		chromedp.SendKeys(chromedp.CSS(`#password-login input[name=password]`), pw),
		chromedp.Submit(chromedp.CSS(`#password-login input[name=password]`)),
		chromedp.WaitVisible(chromedp.CSS(`.who`)))

	var audit struct {
		Events []struct{ Action, Outcome string }
	}
	h.get("/api/v1/audit?limit=200", &audit)
	seen := map[string]int{}
	for _, e := range audit.Events {
		seen[e.Action+"/"+e.Outcome]++
	}
	if seen["user.sso/ok"] != 1 || seen["user.sso/denied"] != 1 {
		t.Errorf("audit: %v", seen)
	}
}

// adminPassword reads the first admin's password from the hub's
// initial-admin.txt.
func adminPassword(t *testing.T, h *hub) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(h.data, "initial-admin.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if _, pw, ok := strings.Cut(string(b), ", password "); ok {
		return strings.TrimSpace(pw)
	}
	t.Fatalf("no password in initial-admin.txt:\n%s", b)
	return ""
}
