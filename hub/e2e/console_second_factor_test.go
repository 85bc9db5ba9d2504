//go:build linux

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tierline/tierline/hub/auth"
)

// A second factor in chromium against a real hub: an admin makes Tier 3
// require one on the admin page; a Tier 3 engineer's next login sets up an
// authenticator (the secret from the page, the QR code drawn), shows the
// recovery codes once and then opens the console; later logins ask for a
// code, a recovery code works once; an admin's reset sends the engineer
// through set-up again. Every step is in the audit log.
func TestConsoleSecondFactor(t *testing.T) {
	h := startHub(t)
	const adminPW, engPW = "admin console pw 1", "tier three console pw"
	must(t, adminPW+"\n", "tierline-hub", "user", "add", "--data", h.data, "--name", "boss", "--role", "admin")
	must(t, engPW+"\n", "tierline-hub", "user", "add", "--data", h.data, "--name", "eng", "--role", "tier3")
	b := newConsoleBrowser(t)
	b.login(h, "boss", adminPW)
	b.open(h, "/admin", "#second-factor-form")
	b.do("require a second factor of Tier 3",
		chromedp.Click(chromedp.CSS(`#second-factor-form input[name=tier3]`)),
		chromedp.Click(chromedp.CSS(`#second-factor-form button[type=submit]`)))
	b.waitJS("the setting saved and shown", `(function(){var e=document.querySelector("#second-factor-form input[name=tier3]");return !!e && e.checked && performance.getEntriesByType("navigation")[0].type === "reload"})()`)
	// Log out and wait for the login form itself (the admin page has
	// password fields of its own).
	logout := func() {
		t.Helper()
		b.do("log out", chromedp.Click(chromedp.CSS(`.who form button`)), chromedp.WaitVisible(chromedp.CSS(`form[action="/login"] input[name=password]`)))
	}
	logout()

	password := func(name, pw, lands string) {
		t.Helper()
		b.do("password of "+name,
			chromedp.Navigate(h.url()+"/login"),
			chromedp.WaitVisible(chromedp.CSS(`input[name=name]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=name]`), name),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), pw),
			chromedp.Submit(chromedp.CSS(`input[name=password]`)),
			chromedp.WaitVisible(chromedp.CSS(lands)))
	}
	typeCode := func(code, lands string) {
		t.Helper()
		b.do("type the code",
			chromedp.SendKeys(chromedp.CSS(`#code`), code),
			chromedp.Submit(chromedp.CSS(`#code`)),
			chromedp.WaitVisible(chromedp.CSS(lands)))
	}
	enrol := func() (string, []string) {
		t.Helper()
		password("eng", engPW, "#totp-secret")
		if !strings.Contains(b.text("main"), "Your role must log in with a second factor") {
			t.Fatalf("set-up page:\n%s", b.text("main"))
		}
		b.waitJS("the QR code drawn", `(function(){var i=document.querySelector("img.qr");return !!i && i.complete && i.naturalWidth >= 200})()`)
		b.shot("second-factor-setup")
		secret := strings.ReplaceAll(b.text("#totp-secret"), " ", "")
		code, err := auth.TOTPCode(secret, time.Now())
		if err != nil {
			t.Fatalf("secret %q from the page: %v", secret, err)
		}
		typeCode(code, "#recovery-codes")
		codes := strings.Fields(b.text("#recovery-codes"))
		if len(codes) != auth.RecoveryCodeCount {
			t.Fatalf("recovery codes shown: %q", codes)
		}
		b.do("continue", chromedp.Click(chromedp.CSS(`#continue`)), chromedp.WaitVisible(chromedp.CSS(`.who`)))
		return secret, codes
	}

	secret, codes := enrol()
	b.open(h, "/account", "#second-factor-state")
	if s := b.text("#second-factor-state"); !strings.Contains(s, "10 recovery codes left") {
		t.Errorf("account page: %q", s)
	}
	logout()

	// A recovery code logs in once.
	password("eng", engPW, "#code")
	typeCode(codes[0], ".who")
	logout()
	password("eng", engPW, "#code")
	typeCode(codes[0], "#code-error")
	// A code from an app running a little ahead is taken (the set-up's
	// own step is spent).
	ahead, _ := auth.TOTPCode(secret, time.Now().Add(auth.TOTPPeriod))
	typeCode(ahead, ".who")
	logout()

	// The admin resets it; the engineer sets a new one up.
	b.login(h, "boss", adminPW)
	b.open(h, "/admin", "#user-rows")
	b.do("reset eng's second factor", chromedp.Click(chromedp.CSS(`#user-rows tr[data-user=eng] button[data-api$="/second-factor/reset"]`)))
	b.waitJS("eng's second factor off", `(function(){var r=document.querySelector("#user-rows tr[data-user=eng]");return !!r && !r.querySelector("button[data-api$='/second-factor/reset']")})()`)
	logout()
	if again, _ := enrol(); again == secret {
		t.Error("set-up after the reset showed the old secret")
	}

	var audit struct {
		Events []struct{ Action, Target, Outcome string }
	}
	h.get("/api/v1/audit?limit=200", &audit)
	seen := map[string]bool{}
	for _, e := range audit.Events {
		seen[e.Action+"/"+e.Outcome] = true
	}
	for _, want := range []string{"settings.second_factor/ok", "user.second_factor.enable/ok", "user.second_factor/ok",
		"user.second_factor/denied", "user.second_factor.reset/ok"} {
		if !seen[want] {
			t.Errorf("audit log has no %s", want)
		}
	}
}
