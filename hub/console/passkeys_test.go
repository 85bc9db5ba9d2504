package console

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/tierline/tierline/hub/store"
)

// Browsers refuse passkeys on an IP address, so a hub reached by one
// offers none and says how to fix it.
func TestPasskeysNeedAName(t *testing.T) {
	for _, u := range []string{"", "https://127.0.0.1:8443", "https://[::1]:8443"} {
		if wa, why := newWebAuthn(u); wa != nil || why == "" {
			t.Errorf("%q: passkeys on (%v)", u, why)
		}
	}
	if wa, why := newWebAuthn("https://hub.example.org:8443"); wa == nil || wa.Config.RPID != "hub.example.org" {
		t.Errorf("a named hub: %v %q", wa, why)
	}
	tc := newTestConsole(t)
	_, page := tc.get(t, tc.login(t, store.RoleTier1), "/account")
	if !strings.Contains(page, `id="passkeys-off"`) || !strings.Contains(page, "--url https://NAME:PORT") {
		t.Errorf("account page of a hub without a name:\n%s", page)
	}
}

func (tc *testConsole) postJSON(t *testing.T, cl *http.Client, path, body string) (int, map[string]any) {
	t.Helper()
	res, err := cl.Post(tc.srv.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	res.Body.Close()
	return res.StatusCode, out
}

// A user with a passkey is asked for it after the password; answers the
// hub cannot verify count as failed logins, so the fifth locks the name
// out, its password too.
func TestPasskeyLoginLockout(t *testing.T) {
	tc := newTestConsole(t)
	tc.webauthn, tc.passkeysOff = newWebAuthn("https://hub.example.org")
	ctx := context.Background()
	u := tc.users[store.RoleTier1]
	cred, _ := json.Marshal(webauthn.Credential{ID: []byte{1, 2, 3}, PublicKey: []byte{0xa5}})
	if err := tc.st.AddPasskey(ctx, store.Passkey{ID: []byte{1, 2, 3}, UserID: u.ID, Name: "key", Credential: cred, CreatedAt: tc.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if code, _ := tc.postJSON(t, tc.client(t), "/login/passkey/options", ""); code != http.StatusUnauthorized {
		t.Errorf("options without a login: %d", code)
	}
	cl, loc := tc.passwordStep(t, u.Name)
	if loc != "/login/code" {
		t.Fatalf("after the password: to %q", loc)
	}
	_, page := tc.get(t, cl, "/login/code")
	if !strings.Contains(page, `id="passkey-login"`) || strings.Contains(page, `id="code"`) {
		t.Errorf("second-factor page of a user with only a passkey:\n%s", page)
	}
	code, opts := tc.postJSON(t, cl, "/login/passkey/options", "")
	pk, _ := opts["publicKey"].(map[string]any)
	allow, _ := pk["allowCredentials"].([]any)
	if code != 200 || pk["rpId"] != "hub.example.org" || len(allow) != 1 || allow[0].(map[string]any)["id"] != "AQID" {
		t.Fatalf("options: %d %v", code, opts)
	}
	var last int
	var msg any
	for range LockoutAfter {
		var out map[string]any
		last, out = tc.postJSON(t, cl, "/login/passkey", `{"id":"AQID","rawId":"AQID","type":"public-key","response":{}}`)
		msg = out["error"]
		if last == http.StatusForbidden && !strings.Contains(msg.(string), "Your passkey was not accepted") {
			t.Errorf("refusal: %v", msg)
		}
	}
	if last != http.StatusTooManyRequests || !strings.Contains(msg.(string), "Too many failed logins") {
		t.Fatalf("after %d bad answers: %d %v", LockoutAfter, last, msg)
	}
	r := tc.postForm(t, tc.client(t), "/login", map[string][]string{"name": {u.Name}, "password": {testPassword}}, nil)
	if readBody(t, r); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("password while locked out by passkey answers: %d", r.StatusCode)
	}
	ev, err := tc.st.ListAudit(ctx, store.AuditFilter{ActionPrefix: "user.second_factor", Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	denied := 0
	for _, e := range ev {
		if e.Outcome == "denied" && e.Detail["method"] == "passkey" {
			denied++
		}
	}
	if denied != LockoutAfter {
		t.Errorf("%d refused passkey answers audited, want %d", denied, LockoutAfter)
	}
}
