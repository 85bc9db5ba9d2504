//go:build linux

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tierline/tierline/hub/sso/ssotest"
)

// Single sign-on set up on the admin page, with the hub and the OpenID
// provider as processes of their own and no sign-on flags: an issuer
// that does not answer is refused in words and nothing is saved; the real
// provider is accepted, the client secret is never shown back, and with no
// restart the login page offers sign-on and a technician logs in by it.
// Turning password logins off needs a break-glass admin with a password.
// A second hub given --oidc-* flags shows the provider as set by flags and
// refuses changes to it. Every change is in the audit log.
func TestConsoleSSOSettings(t *testing.T) {
	hubAddr, idpAddr := freePort(t), freePort(t)
	const secret = "admin page client secret"
	cfg, _ := json.Marshal(ssotest.Config{
		Clients: []ssotest.Client{{ID: "tierline-page", Secret: secret, RedirectURI: "https://" + hubAddr + "/login/sso/callback"}},
		Users:   []ssotest.User{{Name: "tomas", Password: "tomas idp pw", Email: "tomas@example.test", Groups: []string{"it-helpdesk"}}},
	})
	cfgFile := filepath.Join(t.TempDir(), "idp.json")
	if err := os.WriteFile(cfgFile, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	idp := start(t, "oidc-provider", "-listen", idpAddr, "-config", cfgFile)
	eventually(t, "the provider listening", 30*time.Second, func() bool { return strings.Contains(idp.output(), "listening on") })

	h := &hub{t: t, data: t.TempDir(), addr: hubAddr}
	h.start()
	h.token = must(t, "", "tierline-hub", "apitoken", "create", "--data", h.data, "--user", "admin")
	b := newConsoleBrowser(t)
	b.login(h, "admin", adminPassword(t, h))
	b.open(h, "/admin#sso", "#sso-form")
	if s := b.text("#sso-state"); !strings.Contains(s, "Single sign-on is off") {
		t.Errorf("sign-on before set-up: %q", s)
	}
	fill := func(issuer string) {
		t.Helper()
		b.do("fill the sign-on form with "+issuer,
			chromedp.SetValue(chromedp.CSS(`#sso-form input[name=issuer]`), issuer),
			chromedp.SetValue(chromedp.CSS(`#sso-form input[name=client_id]`), "tierline-page"),
			chromedp.SetValue(chromedp.CSS(`#sso-form input[name=client_secret]`), secret),
			chromedp.SetValue(chromedp.CSS(`#sso-form input[name=roles]`), "it-helpdesk=tier1, it-admins=admin"),
			chromedp.Click(chromedp.CSS(`#sso-form button[type=submit]`)))
	}

	b.do("let first sign-ons create users", chromedp.Click(chromedp.CSS(`#sso-form input[name=create_users]`)))
	// Nothing answers at this issuer: refused, in words.
	fill("http://" + freePort(t))
	b.waitJS("the refusal shown", `(function(){var e=document.querySelector("#sso-form .error");return !!e && !e.hidden && e.textContent.length > 0})()`)
	if s := b.text("#sso-form .error"); !strings.Contains(s, "Check the issuer URL") || !strings.Contains(s, "/.well-known/openid-configuration") {
		t.Errorf("unreachable issuer: %q", s)
	}

	// The real provider.
	fill("http://" + idpAddr)
	b.waitJS("the settings saved and shown", `(function(){var e=document.querySelector("#sso-state");return !!e && e.textContent.indexOf("`+idpAddr+`") >= 0 && performance.getEntriesByType("navigation")[0].type === "reload"})()`)
	if v := b.eval(`document.querySelector("#sso-form input[name=client_secret]").value`); v != "" {
		t.Errorf("the secret field holds %q after saving", v)
	}
	if html := b.eval(`document.documentElement.outerHTML`); strings.Contains(html, secret) {
		t.Error("the admin page shows the client secret")
	}
	b.shot("admin-sso-form")
	raw, _ := h.raw("/api/v1/settings/sso")
	var view struct {
		Issuer, Roles       string
		HasSecret           bool `json:"has_secret"`
		ProviderFromFlags   bool `json:"provider_from_flags"`
		ClientSecretPresent any  `json:"client_secret"`
	}
	if err := json.Unmarshal(raw, &view); err != nil || view.Issuer != "http://"+idpAddr || !view.HasSecret || view.Roles != "it-admins=admin,it-helpdesk=tier1" ||
		view.ProviderFromFlags || view.ClientSecretPresent != nil || strings.Contains(string(raw), secret) {
		t.Errorf("GET settings/sso: %s (%v)", raw, err)
	}

	// In force without a restart: the technician signs on.
	b.do("log out", chromedp.Click(chromedp.CSS(`.who form button`)), chromedp.WaitVisible(chromedp.CSS(`#sso-login`)))
	b.do("sign on as tomas",
		chromedp.Click(chromedp.CSS(`#sso-login`)),
		chromedp.WaitVisible(chromedp.CSS(`#username`)),
		chromedp.SendKeys(chromedp.CSS(`#username`), "tomas"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "tomas idp pw"),
		chromedp.Click(chromedp.CSS(`#signin`)),
		chromedp.WaitVisible(chromedp.CSS(`.who`)))
	if s := b.text(".who"); !strings.Contains(s, "tomas") || !strings.Contains(s, "tier1") {
		t.Errorf("header after sign-on: %q", s)
	}

	// Password logins off: only with a break-glass admin who has a password.
	put := func(body string) (int, string) {
		var out struct{ Error string }
		code := h.do("PUT", "/api/v1/settings/sso", h.token, strings.NewReader(body), &out)
		return code, out.Error
	}
	if code, msg := put(`{"password_login": false}`); code != 400 || !strings.Contains(msg, "needs a break-glass admin") {
		t.Errorf("password logins off without a break-glass admin: %d %q", code, msg)
	}
	if code, msg := put(`{"password_login": false, "break_glass": "tomas"}`); code != 400 || !strings.Contains(msg, "must be an enabled admin with a password") {
		t.Errorf("a sign-on technician as break-glass admin: %d %q", code, msg)
	}
	if code, msg := put(`{"password_login": false, "break_glass": "admin"}`); code != 200 {
		t.Errorf("password logins off: %d %q", code, msg)
	}
	b.do("the login page without the password form", chromedp.Click(chromedp.CSS(`.who form button`)), chromedp.WaitVisible(chromedp.CSS(`#sso-login`)))
	if v := b.eval(`(function(){var f=document.querySelector("#password-login");return f && f.checkVisibility() ? "shown" : "hidden"})()`); v != "hidden" {
		t.Errorf("the password form is %s with password logins off", v)
	}

	seen := auditSeen(t, h)
	if seen["settings.sso/refused"] != 3 || seen["settings.sso/ok"] != 2 || seen["user.sso/ok"] != 1 {
		t.Errorf("audit: %v", seen)
	}

	// Flags stand over the page.
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	h2 := startHub(t, "--oidc-issuer", "http://"+idpAddr, "--oidc-client-id", "tierline-page", "--oidc-client-secret-file", secretFile,
		"--oidc-roles", "it-helpdesk=tier2")
	b.login(h2, "admin", adminPassword(t, h2))
	b.open(h2, "/admin#sso", "#sso-provider-flags")
	if v := b.eval(`String(document.querySelector("#sso-form input[name=issuer]").disabled)`); v != "true" {
		t.Errorf("the issuer field of a provider set by flags is editable")
	}
	var out struct{ Error string }
	if code := h2.do("PUT", "/api/v1/settings/sso", h2.token, strings.NewReader(`{"issuer": "http://127.0.0.1:1"}`), &out); code != 400 || !strings.Contains(out.Error, "--oidc-* flags") {
		t.Errorf("changing a provider set by flags: %d %q", code, out.Error)
	}
}
