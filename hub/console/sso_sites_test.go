package console

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/tierline/tierline/hub/sso"
	"github.com/tierline/tierline/hub/sso/ssotest"
	"github.com/tierline/tierline/hub/store"
)

// TestSSOSites: with --oidc-sites, a user's provider groups give their
// sites at every login, as groups give roles; a user whose groups give no
// site cannot log in; each change is audited.
func TestSSOSites(t *testing.T) {
	f := newSSOConsole(t, true)
	ctx := context.Background()
	p, err := sso.New(sso.Config{Issuer: f.cfg.SSO.(sso.State).Provider.Issuer(), ClientID: "tierline", ClientSecret: "s3cret-value-xyz",
		RedirectURL: f.srv.URL + "/login/sso/callback", CreateUsers: true,
		RoleMap: map[string]store.Role{"helpdesk": store.RoleTier1},
		SiteMap: map[string]string{"staff": "A", "berlin": "B", "hq": sso.EverySite}})
	if err != nil {
		t.Fatal(err)
	}
	f.cfg.SSO = sso.State{Provider: p}
	login := func(groups ...string) (int, string) {
		f.idp.SetUser(ssotest.User{Name: "alice", Password: "alice pw", Groups: append([]string{"helpdesk"}, groups...)})
		res, _ := f.ssoLogin(t, f.client(t), "alice", "alice pw")
		return res.StatusCode, readBody(t, res)
	}
	sites := func() []string {
		u, err := f.st.GetUserByName(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		return u.Sites
	}
	if code, page := login("staff"); code != http.StatusOK || !slices.Equal(sites(), []string{"A"}) {
		t.Fatalf("staff: %d %v\n%s", code, sites(), page)
	}
	if code, _ := login("staff", "berlin"); code != http.StatusOK || !slices.Equal(sites(), []string{"A", "B"}) {
		t.Fatalf("staff and berlin: %d %v", code, sites())
	}
	if code, _ := login("hq"); code != http.StatusOK || sites() != nil {
		t.Fatalf("hq: %d %v, want every site", code, sites())
	}
	code, page := login()
	if code == http.StatusOK && !strings.Contains(page, "no group that gives a Tierline site") {
		t.Fatalf("no site group: %d\n%s", code, page)
	}
	if !strings.Contains(page, "no group that gives a Tierline site") {
		t.Fatalf("no site group: %d, want the refusal\n%s", code, page)
	}
	evs, err := f.st.ListAudit(ctx, store.AuditFilter{ActionPrefix: "user.sites"})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 {
		t.Errorf("user.sites audit events: %d, want 3 (A; A,B; every site)", len(evs))
	}
	if _, err := sso.ParseSiteMap("staff=A,staff=B,hq=*"); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"staff", "=A", "staff=a b", "staff=" + strings.Repeat("x", 65)} {
		if _, err := sso.ParseSiteMap(bad); err == nil {
			t.Errorf("ParseSiteMap(%q) took it", bad)
		}
	}
}
