package console

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/auth"
	"github.com/tierline/tierline/hub/store"
)

var (
	secretRE = regexp.MustCompile(`id="totp-secret">([A-Z2-7 ]+)</code>`)
	codesRE  = regexp.MustCompile(`<li><code>([a-z2-9-]{19})</code></li>`)
)

// secretOf reads the secret a set-up page shows, as a user types it.
func secretOf(t *testing.T, page string) string {
	t.Helper()
	m := secretRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no secret on the set-up page:\n%s", page)
	}
	return strings.ReplaceAll(m[1], " ", "")
}

func codesOf(t *testing.T, page string) []string {
	t.Helper()
	var out []string
	for _, m := range codesRE.FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	if len(out) != auth.RecoveryCodeCount {
		t.Fatalf("%d recovery codes on the page, want %d:\n%s", len(out), auth.RecoveryCodeCount, page)
	}
	return out
}

func (tc *testConsole) code(t *testing.T, secret string) string {
	t.Helper()
	c, err := auth.TOTPCode(secret, tc.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// passwordStep logs in with the password and answers where the hub sent
// the browser, with the client holding the login's cookies.
func (tc *testConsole) passwordStep(t *testing.T, name string) (*http.Client, string) {
	t.Helper()
	cl := tc.client(t)
	res := tc.postForm(t, cl, "/login", url.Values{"name": {name}, "password": {testPassword}, "next": {"/kb"}}, nil)
	readBody(t, res)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("password step for %s: %d", name, res.StatusCode)
	}
	return cl, res.Header.Get("Location")
}

// enable turns the user's second factor on from the account page and
// returns the secret and the recovery codes shown.
func (tc *testConsole) enable(t *testing.T, role store.Role) (string, []string) {
	t.Helper()
	cl := tc.login(t, role)
	_, page := tc.get(t, cl, "/account")
	if !strings.Contains(page, "You log in with your password alone.") {
		t.Fatalf("account page before:\n%s", page)
	}
	csrf := csrfOf(t, page)
	res := tc.postForm(t, cl, "/account/second-factor", url.Values{"csrf": {csrf}}, nil)
	page = readBody(t, res)
	secret := secretOf(t, page)
	if img, _ := tc.get(t, cl, "/account/second-factor.png"); img.StatusCode != 200 || img.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("QR code: %d %s", img.StatusCode, img.Header.Get("Content-Type"))
	}
	res = tc.postForm(t, cl, "/account/second-factor/confirm", url.Values{"csrf": {csrf}, "code": {"000000"}}, nil)
	if page := readBody(t, res); res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "That code is not right") || secretOf(t, page) != secret {
		t.Fatalf("wrong first code: %d\n%s", res.StatusCode, page)
	}
	res = tc.postForm(t, cl, "/account/second-factor/confirm", url.Values{"csrf": {csrf}, "code": {tc.code(t, secret)}}, nil)
	page = readBody(t, res)
	if res.StatusCode != 200 || !strings.Contains(page, "Your second factor is on.") {
		t.Fatalf("confirm: %d\n%s", res.StatusCode, page)
	}
	return secret, codesOf(t, page)
}

func TestSecondFactorLogin(t *testing.T) {
	tc := newTestConsole(t)
	secret, codes := tc.enable(t, store.RoleTier2)
	tc.clock.Add(auth.TOTPPeriod) // the confirming code's step is spent

	// The password alone no longer opens a session.
	cl, loc := tc.passwordStep(t, "tier2-user")
	if loc != "/login/code" {
		t.Fatalf("after the password: to %q, want /login/code", loc)
	}
	if res, _ := tc.get(t, cl, "/queue"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the queue before the code: %d, want a redirect to log in", res.StatusCode)
	}
	if res, page := tc.get(t, cl, "/login/code"); res.StatusCode != 200 || !strings.Contains(page, "Hello tier2-user") {
		t.Fatalf("code page: %d\n%s", res.StatusCode, page)
	}
	res := tc.postForm(t, cl, "/login/code", url.Values{"code": {"123456"}}, nil)
	if page := readBody(t, res); res.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "not right") {
		t.Fatalf("wrong code: %d\n%s", res.StatusCode, page)
	}
	code := tc.code(t, secret)
	res = tc.postForm(t, cl, "/login/code", url.Values{"code": {code}}, nil)
	readBody(t, res)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/kb" {
		t.Fatalf("right code: %d to %q, want /kb", res.StatusCode, res.Header.Get("Location"))
	}
	if res, page := tc.get(t, cl, "/queue"); res.StatusCode != 200 || !strings.Contains(page, "tier2-user") {
		t.Fatalf("queue after the code: %d", res.StatusCode)
	}
	// The failed code is forgotten once the login succeeded.
	if n, _, _ := tc.st.LoginFailures(context.Background(), "tier2-user"); n != 0 {
		t.Errorf("failures after a good login: %d", n)
	}

	// The same code again (seen over a shoulder) is refused.
	cl2, _ := tc.passwordStep(t, "tier2-user")
	res = tc.postForm(t, cl2, "/login/code", url.Values{"code": {code}}, nil)
	if readBody(t, res); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a code used twice: %d, want 401", res.StatusCode)
	}
	// A recovery code, typed loosely, works once.
	loose := strings.ToUpper(strings.ReplaceAll(codes[3], "-", " "))
	res = tc.postForm(t, cl2, "/login/code", url.Values{"code": {loose}}, nil)
	if readBody(t, res); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("recovery code: %d", res.StatusCode)
	}
	cl3, _ := tc.passwordStep(t, "tier2-user")
	res = tc.postForm(t, cl3, "/login/code", url.Values{"code": {codes[3]}}, nil)
	if readBody(t, res); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a recovery code used twice: %d, want 401", res.StatusCode)
	}
	_, page := tc.get(t, cl2, "/account")
	if !strings.Contains(page, "9 recovery codes left") {
		t.Errorf("account page after a recovery code:\n%s", page)
	}

	// The login's step runs out after five minutes.
	cl4, _ := tc.passwordStep(t, "tier2-user")
	tc.clock.Add(challengeTTL + time.Second)
	res = tc.postForm(t, cl4, "/login/code", url.Values{"code": {tc.code(t, secret)}}, nil)
	if page := readBody(t, res); res.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "ran out of time") {
		t.Fatalf("late code: %d\n%s", res.StatusCode, page)
	}

	// New recovery codes need a current code; the old ones stop working.
	csrf := csrfOf(t, page)
	res = tc.postForm(t, cl2, "/account/recovery-codes", url.Values{"csrf": {csrf}, "code": {tc.code(t, secret)}}, nil)
	page = readBody(t, res)
	if res.StatusCode != 200 {
		t.Fatalf("new recovery codes: %d\n%s", res.StatusCode, page)
	}
	fresh := codesOf(t, page)
	cl5, _ := tc.passwordStep(t, "tier2-user")
	res = tc.postForm(t, cl5, "/login/code", url.Values{"code": {codes[4]}}, nil)
	if readBody(t, res); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("an old recovery code after new ones: %d", res.StatusCode)
	}
	res = tc.postForm(t, cl5, "/login/code", url.Values{"code": {fresh[0]}}, nil)
	if readBody(t, res); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("a new recovery code: %d", res.StatusCode)
	}

	// Turning it off takes a current code.
	tc.clock.Add(auth.TOTPPeriod)
	res = tc.postForm(t, cl2, "/account/second-factor/remove", url.Values{"csrf": {csrf}, "code": {tc.code(t, secret)}}, nil)
	if page := readBody(t, res); res.StatusCode != 200 || !strings.Contains(page, "Your authenticator app is off") {
		t.Fatalf("turn off: %d\n%s", res.StatusCode, page)
	}
	if _, loc := tc.passwordStep(t, "tier2-user"); loc != "/kb" {
		t.Fatalf("password alone after turning it off: to %q", loc)
	}
	audit, err := tc.st.ListAudit(context.Background(), store.AuditFilter{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range audit {
		seen[e.Action+"/"+e.Outcome]++
	}
	for _, want := range []string{"user.second_factor.enable/ok", "user.second_factor/ok", "user.second_factor/denied",
		"user.second_factor.recovery_codes/ok", "user.second_factor.disable/ok", "user.login/password_ok"} {
		if seen[want] == 0 {
			t.Errorf("audit has no %s: %v", want, seen)
		}
	}
}

// Wrong codes count as failed logins: after the lockout's tries the name
// is locked, and the right password alone does not unlock it.
func TestSecondFactorLockout(t *testing.T) {
	tc := newTestConsole(t)
	secret, _ := tc.enable(t, store.RoleTier1)
	tc.clock.Add(auth.TOTPPeriod)
	cl, _ := tc.passwordStep(t, "tier1-user")
	var last int
	for range LockoutAfter {
		res := tc.postForm(t, cl, "/login/code", url.Values{"code": {"000000"}}, nil)
		readBody(t, res)
		last = res.StatusCode
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("after %d wrong codes: %d, want 429", LockoutAfter, last)
	}
	res := tc.postForm(t, tc.client(t), "/login", url.Values{"name": {"tier1-user"}, "password": {testPassword}}, nil)
	if page := readBody(t, res); res.StatusCode != http.StatusTooManyRequests || !strings.Contains(page, "Too many failed logins") {
		t.Fatalf("password while locked by codes: %d", res.StatusCode)
	}
	// Once the wait is over the right code still works.
	tc.clock.Add(lockoutWait(LockoutAfter) + time.Second)
	cl, _ = tc.passwordStep(t, "tier1-user")
	res = tc.postForm(t, cl, "/login/code", url.Values{"code": {tc.code(t, secret)}}, nil)
	if readBody(t, res); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("right code after the lockout: %d", res.StatusCode)
	}
}

// A role an admin made require a second factor sets one up before its
// first session, and cannot turn it off.
func TestSecondFactorRequiredByRole(t *testing.T) {
	tc := newTestConsole(t)
	if err := tc.st.SetSecondFactorRoles(context.Background(), map[store.Role]bool{store.RoleTier3: true}); err != nil {
		t.Fatal(err)
	}
	cl, loc := tc.passwordStep(t, "tier3-user")
	if loc != "/login/enroll" {
		t.Fatalf("after the password: to %q, want /login/enroll", loc)
	}
	res, page := tc.get(t, cl, "/login/enroll")
	if res.StatusCode != 200 || !strings.Contains(page, "Your role must log in with a second factor") {
		t.Fatalf("enrol page: %d\n%s", res.StatusCode, page)
	}
	secret := secretOf(t, page)
	// A reload shows the same secret: one scanned already keeps working.
	if _, again := tc.get(t, cl, "/login/enroll"); secretOf(t, again) != secret {
		t.Fatal("the secret changed on reload")
	}
	if img, _ := tc.get(t, cl, "/login/enroll.png"); img.StatusCode != 200 || img.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("QR code: %d", img.StatusCode)
	}
	if img, _ := tc.get(t, tc.client(t), "/login/enroll.png"); img.StatusCode != http.StatusUnauthorized {
		t.Fatalf("QR code without a login: %d, want 401", img.StatusCode)
	}
	if res, _ := tc.get(t, cl, "/queue"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the queue before setting it up: %d, want a redirect", res.StatusCode)
	}
	res = tc.postForm(t, cl, "/login/enroll", url.Values{"code": {tc.code(t, secret)}}, nil)
	page = readBody(t, res)
	if res.StatusCode != 200 || !strings.Contains(page, "Your second factor is on.") || !strings.Contains(page, `href="/kb"`) {
		t.Fatalf("enrol: %d\n%s", res.StatusCode, page)
	}
	codesOf(t, page)
	_, page = tc.get(t, cl, "/account")
	if !strings.Contains(page, "so it stays on") || strings.Contains(page, "/account/second-factor/remove") {
		t.Fatalf("account page of a required role:\n%s", page)
	}
	res = tc.postForm(t, cl, "/account/second-factor/remove", url.Values{"csrf": {csrfOf(t, page)}, "code": {tc.code(t, secret)}}, nil)
	if page := readBody(t, res); res.StatusCode != http.StatusForbidden || !strings.Contains(html.UnescapeString(page), "cannot be turned off") {
		t.Fatalf("turning off a required second factor: %d", res.StatusCode)
	}
	// Other roles are not asked.
	if _, loc := tc.passwordStep(t, "tier1-user"); loc != "/kb" {
		t.Fatalf("tier1 after the password: to %q", loc)
	}
}
