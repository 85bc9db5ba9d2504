//go:build linux

package e2e

import (
	"net"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// Passkeys in chromium with a virtual authenticator (CTAP2, internal,
// resident keys, user verification) against a real hub reached by name:
// a Tier 2 technician adds a passkey on her account page, removes it and
// adds another; once her role must log in with a second factor she cannot
// remove her only one, and her next login asks for the passkey instead of
// a code; assertions the hub cannot verify count as failed logins until
// the name is locked out; an admin's reset removes her passkeys. Each step
// is in the audit log, and the admin's audit page shows the passkey ones.
func TestConsolePasskeys(t *testing.T) {
	addr := freePort(t)
	_, port, _ := net.SplitHostPort(addr)
	base := "https://localhost:" + port
	h := &hub{t: t, data: t.TempDir(), addr: addr, extra: []string{"--url", base}}
	h.start()
	h.token = must(t, "", "tierline-hub", "apitoken", "create", "--data", h.data, "--user", "admin")
	const engPW = "tier two console pw"
	must(t, engPW+"\n", "tierline-hub", "user", "add", "--data", h.data, "--name", "eng", "--role", "tier2")

	b := newConsoleBrowser(t)
	if _, err := chromedp.Call(b.ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("enable WebAuthn: %v", err)
	}
	if _, err := chromedp.Call(b.ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
		Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportInternal,
		HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true}}); err != nil {
		t.Fatalf("add a virtual authenticator: %v", err)
	}
	password := func(lands string) {
		t.Helper()
		b.do("password of eng",
			chromedp.Navigate(base+"/login"),
			chromedp.WaitVisible(chromedp.CSS(`input[name=name]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "eng"),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), engPW),
			chromedp.Submit(chromedp.CSS(`input[name=password]`)),
			chromedp.WaitVisible(chromedp.CSS(lands)))
	}
	addPasskey := func(name string) {
		t.Helper()
		b.do("add passkey "+name,
			chromedp.Navigate(base+"/account"),
			chromedp.WaitVisible(chromedp.CSS(`#passkey-name`)),
			chromedp.SendKeys(chromedp.CSS(`#passkey-name`), name),
			chromedp.Click(chromedp.CSS(`#passkey-add button[type=submit]`)))
		b.waitJS("passkey "+name+" listed", `(function(){var t=document.querySelector("#passkeys");return !!t && t.textContent.indexOf(`+jsString(name)+`) >= 0})()`)
	}

	password(".who")
	addPasskey("work laptop")
	b.shot("account-passkey")
	b.do("phone width", chromedp.EmulateViewport(phoneWidth, 844, chromedp.EmulateMobile), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#passkeys`)))
	b.fitsWidth("account page with a passkey")
	b.do("desktop width", chromedp.EmulateViewport(1280, 900), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#passkeys`)))
	b.do("remove it", chromedp.Click(chromedp.CSS(`#passkeys button.danger`)), chromedp.WaitVisible(chromedp.CSS(`#no-passkeys`)))
	if s := b.text("#account-message"); !strings.Contains(s, `Passkey "work laptop" removed`) {
		t.Errorf("after removing: %q", s)
	}
	addPasskey("desk key")

	// Her role must now log in with a second factor: her only passkey
	// cannot be removed.
	if code := h.do("PUT", "/api/v1/settings/second-factor", h.token, strings.NewReader(`{"tier2": true}`), nil); code != 200 {
		t.Fatalf("require a second factor of tier2: %d", code)
	}
	b.do("try to remove the only passkey", chromedp.Navigate(base+"/account"), chromedp.WaitVisible(chromedp.CSS(`#passkeys button.danger`)),
		chromedp.Click(chromedp.CSS(`#passkeys button.danger`)), chromedp.WaitVisible(chromedp.CSS(`#account-message`)))
	if s := b.text("#account-message"); !strings.Contains(s, "this passkey is your only one") {
		t.Errorf("removing the only passkey of a role that requires one: %q", s)
	}
	b.do("log out", chromedp.Click(chromedp.CSS(`.who form button`)), chromedp.WaitVisible(chromedp.CSS(`form[action="/login"] input[name=password]`)))

	// The next login asks for the passkey, not a code.
	password("#passkey-login")
	if n := b.eval(`String(document.querySelectorAll("#code").length)`); n != "0" {
		t.Errorf("a code field on the second-factor page of a user with only a passkey")
	}
	b.shot("login-passkey")
	b.do("use the passkey", chromedp.Click(chromedp.CSS(`#passkey-login`)), chromedp.WaitVisible(chromedp.CSS(`.who`)))
	if s := b.text(".who"); !strings.Contains(s, "eng") {
		t.Errorf("header after the passkey login: %q", s)
	}
	b.do("log out", chromedp.Click(chromedp.CSS(`.who form button`)), chromedp.WaitVisible(chromedp.CSS(`form[action="/login"] input[name=password]`)))

	// Assertions signed by the passkey but altered on the way are refused
	// and counted; the fifth locks the name out.
	password("#passkey-login")
	forged := `(async function(){
	  var o = await window.tierline.api("POST", "/login/passkey/options");
	  var c = await navigator.credentials.get({publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(o.publicKey)});
	  var j = c.toJSON();
	  var s = j.response.signature;
	  j.response.signature = s.slice(0, 10) + (s[10] === "A" ? "B" : "A") + s.slice(11);
	  try { await window.tierline.api("POST", "/login/passkey", j); return "accepted"; } catch (e) { return e.status + " " + e.message; }
	})()`
	for i := 1; i <= 5; i++ {
		got := b.eval(forged)
		want := "403 Your passkey was not accepted"
		if i == 5 {
			want = "429 Too many failed logins"
		}
		if !strings.HasPrefix(got, want) {
			t.Fatalf("forged assertion %d: %q, want %q...", i, got, want)
		}
	}
	b.do("password again while locked out",
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=name]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "eng"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), engPW),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)),
		chromedp.WaitVisible(chromedp.CSS(`#login-error`)))
	if s := b.text("#login-error"); !strings.Contains(s, "Too many failed logins") {
		t.Errorf("password login after five bad passkey answers: %q", s)
	}

	// An admin's reset removes her passkeys.
	var users struct{ Users []struct{ ID, Name string } }
	h.get("/api/v1/users", &users)
	var engID string
	for _, u := range users.Users {
		if u.Name == "eng" {
			engID = u.ID
		}
	}
	if code := h.do("POST", "/api/v1/users/"+engID+"/second-factor/reset", h.token, nil, nil); code != 200 {
		t.Fatalf("reset: %d", code)
	}
	var sf struct{ Users []string }
	h.get("/api/v1/settings/second-factor", &sf)
	for _, u := range sf.Users {
		if u == "eng" {
			t.Errorf("eng still has a second factor after the reset: %v", sf.Users)
		}
	}

	seen := auditSeen(t, h)
	for _, want := range []string{"user.passkey.add/ok", "user.passkey.remove/ok", "user.second_factor/ok/passkey", "user.second_factor/denied/passkey",
		"user.login/locked", "user.login/password_ok", "user.login/ok", "user.second_factor.reset/ok"} {
		if seen[want] == 0 {
			t.Errorf("no %s in the audit log: %v", want, seen)
		}
	}
	if seen["user.passkey.add/ok"] != 2 || seen["user.second_factor/denied/passkey"] != 5 {
		t.Errorf("audit counts: %v", seen)
	}

	// The admin reads them on the audit page.
	pw := adminPassword(t, h)
	b.do("admin logs in",
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=name]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "admin"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), pw),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)),
		chromedp.WaitVisible(chromedp.CSS(`.who`)))
	b.open(&hub{t: t, addr: "localhost:" + port}, "/admin/audit?actor=eng&action=user.", "main table")
	page := b.text("main")
	for _, want := range []string{"user.passkey.add", "user.passkey.remove", "user.second_factor", "passkey", "locked"} {
		if !strings.Contains(page, want) {
			t.Errorf("the audit page does not show %q:\n%s", want, page)
		}
	}
}

// auditSeen counts the hub's audit events as action/outcome, and as
// action/outcome/method when they name a method.
func auditSeen(t *testing.T, h *hub) map[string]int {
	t.Helper()
	var audit struct {
		Events []struct {
			Action, Outcome string
			Detail          map[string]any
		}
	}
	if code := h.get("/api/v1/audit?limit=500", &audit); code != 200 {
		t.Fatalf("audit: %d", code)
	}
	seen := map[string]int{}
	for _, e := range audit.Events {
		seen[e.Action+"/"+e.Outcome]++
		if m, ok := e.Detail["method"].(string); ok {
			seen[e.Action+"/"+e.Outcome+"/"+m]++
		}
	}
	return seen
}

func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
