package console

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tierline/tierline/hub/sso"
	"github.com/tierline/tierline/hub/sso/ssotest"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/wire"
)

// ssoFixture is a console with single sign-on through a real OpenID
// provider (ssotest over HTTP on loopback).
type ssoFixture struct {
	*testConsole
	idp *ssotest.Provider
}

func newSSOConsole(t *testing.T, createUsers bool) ssoFixture {
	t.Helper()
	tc := newTestConsole(t)
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	idp, err := ssotest.New(ssotest.Config{Issuer: issuer,
		Clients: []ssotest.Client{{ID: "tierline", Secret: "s3cret-value-xyz", RedirectURI: tc.srv.URL + "/login/sso/callback"}},
		Users: []ssotest.User{
			{Name: "alice", Password: "alice pw", Email: "alice@example.test", Groups: []string{"staff", "helpdesk"}},
			{Name: "tier1-user", Password: "pw", Groups: []string{"helpdesk"}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = idp.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	p, err := sso.New(sso.Config{Issuer: issuer, ClientID: "tierline", ClientSecret: "s3cret-value-xyz",
		RedirectURL: tc.srv.URL + "/login/sso/callback", CreateUsers: createUsers,
		RoleMap: map[string]store.Role{"helpdesk": store.RoleTier1, "helpdesk-admins": store.RoleAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	tc.cfg.SSO = sso.State{Provider: p}
	return ssoFixture{tc, idp}
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// ssoLogin walks a browser-like client through the provider's login and
// returns the hub's answer to the callback, and the callback's URL.
func (f ssoFixture) ssoLogin(t *testing.T, cl *http.Client, user, password string) (*http.Response, string) {
	t.Helper()
	res, _ := f.get(t, cl, "/login/sso?next=/kb")
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("start sign-on: %d", res.StatusCode)
	}
	res, err := cl.Get(res.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	page := readBody(t, res)
	form := url.Values{"username": {user}, "password": {password}}
	for _, m := range hiddenRE.FindAllStringSubmatch(page, -1) {
		form.Set(m[1], m[2])
	}
	res, err = cl.PostForm(strings.Replace(res.Request.URL.String(), "?"+res.Request.URL.RawQuery, "", 1), form)
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, res)
	back := res.Header.Get("Location")
	if res.StatusCode != http.StatusFound || !strings.HasPrefix(back, f.srv.URL+"/login/sso/callback?") {
		t.Fatalf("provider login of %s: %d to %q", user, res.StatusCode, back)
	}
	res, err = cl.Get(back)
	if err != nil {
		t.Fatal(err)
	}
	return res, back
}

func TestSSOLogin(t *testing.T) {
	f := newSSOConsole(t, true)
	ctx := context.Background()
	_, page := f.get(t, f.client(t), "/login")
	if !strings.Contains(page, "Log in with your company account") {
		t.Fatalf("login page without the sign-on button:\n%s", page)
	}

	// First sign-on creates alice with the role her groups give.
	cl := f.client(t)
	res, callback := f.ssoLogin(t, cl, "alice", "alice pw")
	if page := readBody(t, res); res.StatusCode != http.StatusOK || !strings.Contains(page, `<meta http-equiv="refresh" content="0;url=/kb">`) {
		t.Fatalf("callback: %d\n%s", res.StatusCode, page)
	}
	if res, page := f.get(t, cl, "/queue"); res.StatusCode != 200 || !strings.Contains(page, "alice") {
		t.Fatalf("queue after sign-on: %d", res.StatusCode)
	}
	u, err := f.st.GetUserByName(ctx, "alice")
	if err != nil || u.Role != store.RoleTier1 || u.PasswordHash != "" {
		t.Fatalf("alice after her first sign-on: %+v %v", u, err)
	}

	// The same callback again (a replayed state) is refused.
	res, err = f.client(t).Get(callback)
	if err != nil {
		t.Fatal(err)
	}
	if page := readBody(t, res); res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "used already") {
		t.Fatalf("replayed callback: %d\n%s", res.StatusCode, page)
	}

	// Her groups decide her role at every login.
	f.idp.SetUser(ssotest.User{Name: "alice", Password: "alice pw", Groups: []string{"helpdesk-admins"}})
	res, _ = f.ssoLogin(t, f.client(t), "alice", "alice pw")
	if readBody(t, res); res.StatusCode != http.StatusOK {
		t.Fatalf("sign-on as an admin: %d", res.StatusCode)
	}
	if u, _ := f.st.GetUserByName(ctx, "alice"); u.Role != store.RoleAdmin {
		t.Errorf("alice's role after joining helpdesk-admins: %s", u.Role)
	}
	// A group that no longer maps to a role: no login.
	f.idp.SetUser(ssotest.User{Name: "alice", Password: "alice pw", Groups: []string{"staff"}})
	res, _ = f.ssoLogin(t, f.client(t), "alice", "alice pw")
	if page := readBody(t, res); res.StatusCode != http.StatusForbidden || !strings.Contains(page, "no group that gives a Tierline role") {
		t.Fatalf("sign-on without a mapped group: %d\n%s", res.StatusCode, page)
	}
	f.idp.SetUser(ssotest.User{Name: "alice", Password: "alice pw", Groups: []string{"helpdesk"}})

	// Tokens the hub must not take.
	for _, c := range []struct {
		name   string
		faults ssotest.Faults
		want   string
	}{
		{"wrong audience", ssotest.Faults{Audience: "another-app"}, "expected audience"},
		{"expired", ssotest.Faults{Expired: true}, "token is expired"},
		{"another login's nonce", ssotest.Faults{WrongNonce: true}, "belongs to another login (nonce)"},
	} {
		f.idp.SetFaults(c.faults)
		res, _ = f.ssoLogin(t, f.client(t), "alice", "alice pw")
		if page := readBody(t, res); res.StatusCode != http.StatusUnauthorized || !strings.Contains(page, c.want) {
			t.Errorf("%s: %d, want 401 with %q\n%s", c.name, res.StatusCode, c.want, page)
		}
	}
	f.idp.SetFaults(ssotest.Faults{})

	// A local user with a password is never taken over by a name.
	res, _ = f.ssoLogin(t, f.client(t), "tier1-user", "pw")
	if page := readBody(t, res); res.StatusCode != http.StatusForbidden || !strings.Contains(page, "exists with a password") {
		t.Fatalf("sign-on as a local user's name: %d\n%s", res.StatusCode, page)
	}

	audit, _ := f.st.ListAudit(ctx, store.AuditFilter{ActionPrefix: "user.", Limit: 200})
	seen := map[string]int{}
	for _, e := range audit {
		seen[e.Action+"/"+e.Outcome]++
	}
	if seen["user.sso/ok"] != 2 || seen["user.sso/denied"] != 6 || seen["user.create/ok"] != 1 || seen["user.role/ok"] != 1 {
		t.Errorf("audit: %v", seen)
	}
}

// Without creating users, a sign-on needs a user an admin made for it.
func TestSSOPrecreatedUsers(t *testing.T) {
	f := newSSOConsole(t, false)
	res, _ := f.ssoLogin(t, f.client(t), "alice", "alice pw")
	if page := readBody(t, res); res.StatusCode != http.StatusForbidden || !strings.Contains(page, "There is no Tierline user alice yet") {
		t.Fatalf("unknown user: %d\n%s", res.StatusCode, page)
	}
	if err := f.st.CreateUser(context.Background(), store.User{ID: wire.NewID(), Name: "alice", Role: store.RoleTier1}); err != nil {
		t.Fatal(err)
	}
	res, _ = f.ssoLogin(t, f.client(t), "alice", "alice pw")
	if readBody(t, res); res.StatusCode != http.StatusOK {
		t.Fatalf("a user made for sign-on: %d", res.StatusCode)
	}
}

// With password logins off, only the break-glass admin logs in with one.
func TestPasswordLoginOff(t *testing.T) {
	f := newSSOConsole(t, true)
	f.cfg.SSO = sso.State{Provider: f.cfg.SSO.(sso.State).Provider, PasswordLoginOff: true, BreakGlass: "admin-user"}
	_, page := f.get(t, f.client(t), "/login")
	if !strings.Contains(page, "Break-glass admin") {
		t.Fatalf("login page:\n%s", page)
	}
	res := f.postForm(t, f.client(t), "/login", url.Values{"name": {"tier1-user"}, "password": {testPassword}}, nil)
	if page := readBody(t, res); res.StatusCode != http.StatusForbidden || !strings.Contains(page, "Password logins are off") {
		t.Fatalf("password login of tier1: %d", res.StatusCode)
	}
	f.login(t, store.RoleAdmin)
}

// unreadableSSO is sign-on settings the hub cannot read (the database
// stumbling).
type unreadableSSO struct{}

func (unreadableSSO) Current(context.Context) (sso.State, error) {
	return sso.State{}, errors.New("database is locked")
}

// Settings that cannot be read refuse password logins rather than let
// them back in where an admin turned them off.
func TestPasswordLoginRefusedWhenSettingsUnreadable(t *testing.T) {
	f := newSSOConsole(t, true)
	f.cfg.SSO = unreadableSSO{}
	res := f.postForm(t, f.client(t), "/login", url.Values{"name": {"tier1-user"}, "password": {testPassword}}, nil)
	if page := readBody(t, res); res.StatusCode != http.StatusForbidden || !strings.Contains(page, "cannot read its sign-on settings") {
		t.Fatalf("password login with unreadable settings: %d", res.StatusCode)
	}
}

// The admin page says how sign-on is set up, never the secret.
func TestSSOOnAdminPage(t *testing.T) {
	f := newSSOConsole(t, false)
	_, page := f.get(t, f.login(t, store.RoleAdmin), "/admin")
	for _, want := range []string{`id="sso-form"`, "helpdesk-admins=admin,helpdesk=tier1", `name="create_users">`} {
		if !strings.Contains(page, want) {
			t.Errorf("admin page lacks %q", want)
		}
	}
	if strings.Contains(page, "s3cret-value-xyz") {
		t.Error("the admin page shows the client secret")
	}
}
