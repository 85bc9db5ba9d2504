package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/api"
	"github.com/tierline/tierline/hub/auth"
	"github.com/tierline/tierline/hub/sso"
	"github.com/tierline/tierline/hub/sso/ssotest"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/shared/wire"
)

// ssoAPI is an API with the hub's sign-on settings (flags as given) on a
// store with one admin, and a test provider on loopback; it returns the
// admin's token and the provider's issuer.
func ssoAPI(t *testing.T, flags func(issuer string) sso.Flags) (*api.API, *store.Store, string, string) {
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

	st := storetest.Open(t)
	ctx := context.Background()
	now := time.Now()
	admin := store.User{ID: wire.NewID(), Name: "boss", Role: store.RoleAdmin, PasswordHash: "x", CreatedAt: now}
	if err := st.CreateUser(ctx, admin); err != nil {
		t.Fatal(err)
	}
	secret := auth.APITokenPrefix + auth.Secret(32)
	if err := st.CreateAPIToken(ctx, store.APIToken{ID: wire.NewID()[:12], UserID: admin.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}, auth.HashSecret(secret)); err != nil {
		t.Fatal(err)
	}
	settings, err := sso.NewSettings(flags(issuer), st, "https://hub.test/login/sso/callback", nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := api.New(api.Config{Store: st, SSO: settings})
	if err != nil {
		t.Fatal(err)
	}
	return a, st, secret, issuer
}

type ssoReply struct {
	Sites          string
	Roles          string
	SitesFromFlags bool `json:"sites_from_flags"`
	Error          string
}

func ssoCall(t *testing.T, a *api.API, method, token, body string) (int, ssoReply) {
	t.Helper()
	req := httptest.NewRequest(method, "/api/v1/settings/sso", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	a.ServeHTTP(rec, req)
	var out ssoReply
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s settings/sso: not JSON: %q", method, rec.Body.String())
	}
	return rec.Code, out
}

// The groups that give sites are set by PUT /api/v1/settings/sso like
// roles: checked with a clear refusal that saves nothing, answered back
// by GET, audited; --oidc-sites stands over them.
func TestSSOSettingsSites(t *testing.T) {
	a, st, admin, issuer := ssoAPI(t, func(string) sso.Flags { return sso.Flags{} })
	ctx := context.Background()
	if code, out := ssoCall(t, a, "PUT", admin, `{"sites":"berlin-desk=berlin"}`); code != http.StatusBadRequest || !strings.Contains(out.Error, "only with single sign-on set up") {
		t.Errorf("sites without a provider: %d %q", code, out.Error)
	}
	full := `{"issuer":"` + issuer + `","client_id":"hub","client_secret":"sec","roles":"it=tier1","sites":"berlin-desk=berlin, paris-desk=paris,berlin-desk=lyon,hq=*"}`
	code, out := ssoCall(t, a, "PUT", admin, full)
	if code != http.StatusOK || out.Sites != "berlin-desk=berlin,berlin-desk=lyon,hq=*,paris-desk=paris" || out.SitesFromFlags {
		t.Fatalf("save with sites: %d %+v", code, out)
	}
	for body, want := range map[string]string{
		`{"sites":"berlin-desk"}`:       `sites: "berlin-desk": give group=site with a site name or * for every site`,
		`{"sites":"=berlin"}`:           `give group=site`,
		`{"sites":"desk=Not A Site!"}`:  `give group=site`,
		`{"sites":"desk=berlin,x=<b>"}`: `give group=site`,
		`{"sites":"desk=berlin","x":1}`: `unknown field`,
		`{"sites":["desk=berlin"]}`:     `sites`,
	} {
		if code, out := ssoCall(t, a, "PUT", admin, body); code != http.StatusBadRequest || !strings.Contains(out.Error, want) {
			t.Errorf("PUT %s: %d %q, want 400 saying %q", body, code, out.Error, want)
		}
	}
	if code, out = ssoCall(t, a, "GET", admin, ""); code != http.StatusOK || out.Sites != "berlin-desk=berlin,berlin-desk=lyon,hq=*,paris-desk=paris" || out.Roles != "it=tier1" {
		t.Errorf("GET after refusals: %d %+v", code, out)
	}
	// Emptied: sites stay as set for each user.
	if code, out = ssoCall(t, a, "PUT", admin, `{"sites":""}`); code != http.StatusOK || out.Sites != "" {
		t.Errorf("sites emptied: %d %+v", code, out)
	}
	saved, err := st.GetSSOSettings(ctx)
	if err != nil || len(saved.Sites) != 0 || saved.Issuer != issuer {
		t.Errorf("saved after emptying: %+v %v", saved, err)
	}
	events, err := st.ListAudit(ctx, store.AuditFilter{ActionPrefix: "settings.sso"})
	if err != nil {
		t.Fatal(err)
	}
	var sitesAudited []string
	for _, e := range events {
		if s, ok := e.Detail["sites"].(string); ok {
			sitesAudited = append(sitesAudited, e.Outcome+" "+s)
		}
	}
	if len(events) != 7 || len(sitesAudited) != 7 || sitesAudited[0] != "ok " || !strings.Contains(strings.Join(sitesAudited, "|"), "refused berlin-desk|") {
		t.Errorf("audit of sites: %d events, %q", len(events), sitesAudited)
	}

	// --oidc-sites stands over the page, with the provider set on the page.
	b, _, admin2, issuer2 := ssoAPI(t, func(string) sso.Flags {
		return sso.Flags{OIDC: sso.Config{SiteMap: map[string]string{"ops": "*"}}}
	})
	if code, out := ssoCall(t, b, "GET", admin2, ""); code != http.StatusOK || out.Sites != "ops=*" || !out.SitesFromFlags {
		t.Errorf("GET under --oidc-sites before any provider: %d %+v", code, out)
	}
	full = `{"issuer":"` + issuer2 + `","client_id":"hub","client_secret":"sec","roles":"it=tier1"}`
	if code, out := ssoCall(t, b, "PUT", admin2, full); code != http.StatusOK || out.Sites != "ops=*" || !out.SitesFromFlags {
		t.Errorf("provider saved under --oidc-sites: %d %+v", code, out)
	}
	if code, out := ssoCall(t, b, "PUT", admin2, `{"sites":"it=berlin"}`); code != http.StatusBadRequest || !strings.Contains(out.Error, "--oidc-sites flag") {
		t.Errorf("sites over --oidc-sites: %d %q", code, out.Error)
	}
}
