package sso_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/sso"
	"github.com/tierline/tierline/hub/sso/ssotest"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/shared/wire"
)

// provider serves a test OpenID provider on loopback and returns its issuer.
func provider(t *testing.T) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	idp, err := ssotest.New(ssotest.Config{Issuer: issuer, Clients: []ssotest.Client{{ID: "hub", Secret: "sec", RedirectURI: "https://hub.test/login/sso/callback"}}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = idp.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return issuer
}

func ptr[T any](v T) *T { return &v }

func TestSettingsSave(t *testing.T) {
	issuer := provider(t)
	st := storetest.Open(t)
	ctx := context.Background()
	if err := st.CreateUser(ctx, store.User{ID: wire.NewID(), Name: "boss", Role: store.RoleAdmin, PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(ctx, store.User{ID: wire.NewID(), Name: "tech", Role: store.RoleTier1, PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	s, err := sso.NewSettings(sso.Flags{}, st, "https://hub.test/login/sso/callback", nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	cur, err := s.Current(ctx)
	if err != nil || cur.Provider != nil || cur.PasswordLoginOff {
		t.Fatalf("before any save: %+v %v", cur, err)
	}
	refused := func(u sso.Update, want string) {
		t.Helper()
		_, err := s.Save(ctx, u, "boss", now)
		var inv *sso.InvalidError
		if !errors.As(err, &inv) || !strings.Contains(inv.Msg, want) {
			t.Errorf("save %+v: %v, want a refusal saying %q", u, err, want)
		}
	}
	full := sso.Update{Issuer: ptr(issuer), ClientID: ptr("hub"), ClientSecret: ptr("sec"), Roles: ptr("it=tier1,it-admins=admin")}
	refused(sso.Update{Issuer: ptr("ftp://idp.test"), ClientID: ptr("hub"), ClientSecret: ptr("sec"), Roles: ptr("it=tier1")}, "must be an https:// URL")
	refused(sso.Update{Issuer: ptr(issuer), ClientSecret: ptr("sec"), Roles: ptr("it=tier1")}, "client id")
	refused(sso.Update{Issuer: ptr(issuer), ClientID: ptr("hub"), Roles: ptr("it=tier1")}, "client secret")
	refused(sso.Update{Issuer: ptr(issuer), ClientID: ptr("hub"), ClientSecret: ptr("sec"), Roles: ptr("it=boss")}, "roles")
	refused(sso.Update{Issuer: ptr(issuer), ClientID: ptr("hub"), ClientSecret: ptr("sec")}, "at least one group=role")
	refused(sso.Update{Issuer: ptr(issuer + "/other"), ClientID: ptr("hub"), ClientSecret: ptr("sec"), Roles: ptr("it=tier1")}, "/.well-known/openid-configuration")
	refused(sso.Update{PasswordLogin: ptr(false), BreakGlass: ptr("boss")}, "only be turned off with single sign-on")
	if v, _ := st.SSOSettingsVersion(ctx); v != 0 {
		t.Fatalf("a refused change was saved: version %d", v)
	}

	cur, err = s.Save(ctx, full, "boss", now)
	if err != nil || cur.Provider == nil || cur.Provider.Issuer() != issuer || !cur.HasSecret || cur.Saved.ClientSecret != "" || cur.Saved.UpdatedBy != "boss" {
		t.Fatalf("save: %+v %v", cur, err)
	}
	if r, ok := cur.Provider.Role(sso.Identity{Groups: []string{"it", "it-admins"}}); !ok || r != store.RoleAdmin {
		t.Errorf("role of both groups: %v %v", r, ok)
	}
	// An empty secret keeps the saved one for the same issuer.
	if cur, err = s.Save(ctx, sso.Update{ClientSecret: ptr(""), CreateUsers: ptr(true)}, "boss", now); err != nil || !cur.Provider.CreatesUsers() {
		t.Fatalf("save without the secret: %+v %v", cur, err)
	}
	if saved, _ := st.GetSSOSettings(ctx); saved.ClientSecret != "sec" {
		t.Errorf("the secret after a save without one: %q", saved.ClientSecret)
	}
	refused(sso.Update{PasswordLogin: ptr(false)}, "needs a break-glass admin")
	refused(sso.Update{PasswordLogin: ptr(false), BreakGlass: ptr("tech")}, "must be an enabled admin with a password")
	refused(sso.Update{PasswordLogin: ptr(false), BreakGlass: ptr("nobody")}, "no such user")
	if cur, err = s.Save(ctx, sso.Update{PasswordLogin: ptr(false), BreakGlass: ptr("boss")}, "boss", now); err != nil || !cur.PasswordLoginOff || cur.BreakGlass != "boss" {
		t.Fatalf("password logins off: %+v %v", cur, err)
	}
	// Another replica (another Settings on the same store) sees it.
	other, _ := sso.NewSettings(sso.Flags{}, st, "https://hub.test/login/sso/callback", nil)
	if oc, err := other.Current(ctx); err != nil || oc.Provider == nil || !oc.PasswordLoginOff {
		t.Errorf("another replica: %+v %v", oc, err)
	}
	// A new issuer needs its secret again; turning sign-on off needs
	// passwords back on.
	refused(sso.Update{Issuer: ptr("http://127.0.0.1:1")}, "client secret")
	refused(sso.Update{Issuer: ptr("")}, "only be turned off with single sign-on")
	if cur, err = s.Save(ctx, sso.Update{Issuer: ptr(""), PasswordLogin: ptr(true)}, "boss", now); err != nil || cur.Provider != nil || cur.PasswordLoginOff || cur.HasSecret {
		t.Fatalf("sign-on off: %+v %v", cur, err)
	}
}

// The flags stand over the page: what they set cannot be saved.
func TestSettingsFlags(t *testing.T) {
	issuer := provider(t)
	st := storetest.Open(t)
	ctx := context.Background()
	s, err := sso.NewSettings(sso.Flags{OIDC: sso.Config{Issuer: issuer, ClientID: "hub", ClientSecret: "sec", RoleMap: map[string]store.Role{"it": store.RoleTier2}},
		PasswordSet: true, PasswordLoginOff: true, BreakGlass: "root"}, st, "https://hub.test/login/sso/callback", nil)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := s.Current(ctx)
	if err != nil || !cur.ProviderFromFlags || !cur.PasswordFromFlags || cur.Provider.Issuer() != issuer || !cur.PasswordLoginOff || cur.BreakGlass != "root" {
		t.Fatalf("state from flags: %+v %v", cur, err)
	}
	for _, u := range []sso.Update{{Issuer: ptr("https://other.test")}, {Roles: ptr("x=admin")}, {PasswordLogin: ptr(true)}, {BreakGlass: ptr("boss")}} {
		_, err := s.Save(ctx, u, "boss", time.Now())
		var inv *sso.InvalidError
		if !errors.As(err, &inv) || !strings.Contains(inv.Msg, "flags") {
			t.Errorf("save %+v over the flags: %v", u, err)
		}
	}
}

func FuzzParseRoleMap(f *testing.F) {
	for _, s := range []string{"", "it=tier1", "a=admin, b=tier2,", "=admin", "a=", "a=b=c", "ä=tier3", ",,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := sso.ParseRoleMap(s)
		if err != nil {
			return
		}
		for g, r := range m {
			if g == "" || !r.Valid() {
				t.Fatalf("%q: accepted %q=%q", s, g, r)
			}
		}
		again, err := sso.ParseRoleMap(sso.RoleList(m))
		if err != nil || len(again) != len(m) {
			t.Fatalf("%q: RoleList %q does not read back: %v %v", s, sso.RoleList(m), again, err)
		}
	})
}

// The groups that give sites are saved on the page like roles, in force
// on every replica; --oidc-sites stands over them, and a provider set by
// the flags takes the page's sites when --oidc-sites is not given.
func TestSettingsSites(t *testing.T) {
	issuer := provider(t)
	ctx := context.Background()
	now := time.Now()
	const cb = "https://hub.test/login/sso/callback"
	sitesOf := func(cur sso.State, groups ...string) string {
		t.Helper()
		if cur.Provider == nil {
			t.Fatal("no provider")
		}
		sites, managed, ok := cur.Provider.Sites(sso.Identity{Groups: groups})
		return fmt.Sprint(sites, managed, ok)
	}

	// On the page.
	st := storetest.Open(t)
	s, _ := sso.NewSettings(sso.Flags{}, st, cb, nil)
	full := sso.Update{Issuer: ptr(issuer), ClientID: ptr("hub"), ClientSecret: ptr("sec"), Roles: ptr("it=tier1"), Sites: ptr("desk=paris, desk=berlin,hq=*")}
	cur, err := s.Save(ctx, full, "boss", now)
	if err != nil || cur.SitesFromFlags || sso.SiteList(cur.Provider.SiteMap()) != "desk=berlin,desk=paris,hq=*" {
		t.Fatalf("save with sites: %+v %v", cur, err)
	}
	if got := sitesOf(cur, "it", "desk"); got != "[berlin paris] true true" {
		t.Errorf("sites of desk: %s", got)
	}
	if got := sitesOf(cur, "it"); got != "[] true false" {
		t.Errorf("sites of a user in no site group: %s", got)
	}
	other, _ := sso.NewSettings(sso.Flags{}, st, cb, nil)
	if oc, err := other.Current(ctx); err != nil || sitesOf(oc, "desk", "hq") != "[] true true" {
		t.Errorf("another replica: %+v %v", oc, err)
	}
	for _, bad := range []string{"desk", "desk=", "=berlin", "desk=Berlin Office", "desk=berlin,<b>=x=y"} {
		_, err := s.Save(ctx, sso.Update{Sites: ptr(bad)}, "boss", now)
		var inv *sso.InvalidError
		if !errors.As(err, &inv) || !strings.HasPrefix(inv.Msg, "sites: ") || !strings.Contains(inv.Msg, "give group=site with a site name or * for every site") {
			t.Errorf("sites %q: %v", bad, err)
		}
	}
	if saved, _ := st.GetSSOSettings(ctx); saved.Version != 1 || sso.SiteList(saved.Sites) != "desk=berlin,desk=paris,hq=*" {
		t.Errorf("a refused change was saved: %+v", saved)
	}
	// Emptied: sites stay as set for each user.
	if cur, err = s.Save(ctx, sso.Update{Sites: ptr(" ")}, "boss", now); err != nil || sitesOf(cur, "desk") != "[] false true" {
		t.Errorf("sites emptied: %v %v", sitesOf(cur, "desk"), err)
	}
	// Sign-on off forgets them; sites alone are refused.
	if _, err = s.Save(ctx, sso.Update{Sites: ptr("desk=paris")}, "boss", now); err != nil {
		t.Fatal(err)
	}
	if cur, err = s.Save(ctx, sso.Update{Issuer: ptr("")}, "boss", now); err != nil || cur.Provider != nil {
		t.Fatalf("sign-on off: %+v %v", cur, err)
	}
	if saved, _ := st.GetSSOSettings(ctx); len(saved.Sites) != 0 {
		t.Errorf("sites kept with sign-on off: %v", saved.Sites)
	}
	if _, err = s.Save(ctx, sso.Update{Sites: ptr("desk=paris")}, "boss", now); err == nil || !strings.Contains(err.Error(), "only with single sign-on set up") {
		t.Errorf("sites without a provider: %v", err)
	}

	// A provider from the flags takes the page's sites.
	st = storetest.Open(t)
	flagged := sso.Config{Issuer: issuer, ClientID: "hub", ClientSecret: "sec", RoleMap: map[string]store.Role{"it": store.RoleTier2}}
	s, _ = sso.NewSettings(sso.Flags{OIDC: flagged}, st, cb, nil)
	if cur, err = s.Save(ctx, sso.Update{Sites: ptr("desk=lyon")}, "boss", now); err != nil || !cur.ProviderFromFlags || cur.SitesFromFlags ||
		cur.Provider.Issuer() != issuer || sitesOf(cur, "desk") != "[lyon] true true" {
		t.Fatalf("page sites for a provider from flags: %+v %v", cur, err)
	}
	if saved, _ := st.GetSSOSettings(ctx); saved.Issuer != "" || sso.SiteList(saved.Sites) != "desk=lyon" {
		t.Errorf("saved: %+v", saved)
	}

	// --oidc-sites stands over the page's, with the provider from either.
	flagged.SiteMap = map[string]string{"ops": "*"}
	s, _ = sso.NewSettings(sso.Flags{OIDC: flagged}, st, cb, nil)
	if cur, err = s.Current(ctx); err != nil || !cur.SitesFromFlags || sitesOf(cur, "desk") != "[] true false" || sitesOf(cur, "ops") != "[] true true" {
		t.Errorf("--oidc-sites over saved sites: %+v %v", cur, err)
	}
	st = storetest.Open(t)
	s, _ = sso.NewSettings(sso.Flags{OIDC: sso.Config{SiteMap: map[string]string{"ops": "rome"}}}, st, cb, nil)
	if cur, err = s.Save(ctx, sso.Update{Issuer: ptr(issuer), ClientID: ptr("hub"), ClientSecret: ptr("sec"), Roles: ptr("it=tier1")}, "boss", now); err != nil ||
		cur.ProviderFromFlags || !cur.SitesFromFlags || sitesOf(cur, "ops") != "[rome] true true" {
		t.Fatalf("page provider under --oidc-sites: %+v %v", cur, err)
	}
	_, err = s.Save(ctx, sso.Update{Sites: ptr("desk=lyon")}, "boss", now)
	var inv *sso.InvalidError
	if !errors.As(err, &inv) || !strings.Contains(inv.Msg, "--oidc-sites flag") {
		t.Errorf("sites over --oidc-sites: %v", err)
	}
}

func FuzzParseSiteMap(f *testing.F) {
	for _, s := range []string{"", "a=berlin", "a=berlin,a=paris", "a=*,a=paris", "a=paris,a=*", "=x", "a=", "a=b=c", "ä=x", "a=Berlin", ",,,", "a=x|y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := sso.ParseSiteMap(s)
		if err != nil {
			return
		}
		if err := (&sso.Config{Issuer: "https://idp.test", ClientID: "c", ClientSecret: "s", RedirectURL: "https://hub.test/cb",
			RoleMap: map[string]store.Role{"x": store.RoleTier1}, SiteMap: m}).Check(); err != nil {
			t.Fatalf("%q: parsed but refused by Check: %v", s, err)
		}
		again, err := sso.ParseSiteMap(sso.SiteList(m))
		if err != nil || sso.SiteList(again) != sso.SiteList(m) {
			t.Fatalf("%q: SiteList %q does not read back: %v %v", s, sso.SiteList(m), again, err)
		}
	})
}
