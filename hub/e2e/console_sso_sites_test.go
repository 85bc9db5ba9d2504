//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tierline/tierline/hub/sso/ssotest"
)

// The groups that give sites set on the admin page, with the hub and the
// OpenID provider as processes of their own and no sign-on flags: a bad
// mapping is refused in words and nothing is saved; a good one is shown
// back, and the technician who signs on then works only the site of their
// group: the queue shows that site's ticket and not another's, and the
// admin sees the site in the technician's row. A second hub given
// --oidc-sites shows the mapping as set by the flag, its field disabled.
func TestConsoleSSOSites(t *testing.T) {
	hubAddr, idpAddr := freePort(t), freePort(t)
	const secret = "sites page client secret"
	cfg, _ := json.Marshal(ssotest.Config{
		Clients: []ssotest.Client{{ID: "tierline-sites", Secret: secret, RedirectURI: "https://" + hubAddr + "/login/sso/callback"}},
		Users:   []ssotest.User{{Name: "greta", Password: "greta idp pw", Email: "greta@example.test", Groups: []string{"it-helpdesk", "berlin-desk"}}},
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
	b.open(h, "/admin#sso", "#sso-form input[name=sites]")
	fill := func(sites string) {
		t.Helper()
		b.do("fill the sign-on form with sites "+sites,
			chromedp.SetValue(chromedp.CSS(`#sso-form input[name=issuer]`), "http://"+idpAddr),
			chromedp.SetValue(chromedp.CSS(`#sso-form input[name=client_id]`), "tierline-sites"),
			chromedp.SetValue(chromedp.CSS(`#sso-form input[name=client_secret]`), secret),
			chromedp.SetValue(chromedp.CSS(`#sso-form input[name=roles]`), "it-helpdesk=tier1"),
			chromedp.SetValue(chromedp.CSS(`#sso-form input[name=sites]`), sites),
			chromedp.Click(chromedp.CSS(`#sso-form button[type=submit]`)))
	}
	b.do("let first sign-ons create users", chromedp.Click(chromedp.CSS(`#sso-form input[name=create_users]`)))

	// A group without a site: refused, in words, nothing saved.
	fill("berlin-desk")
	b.waitJS("the refusal shown", `(function(){var e=document.querySelector("#sso-form .error");return !!e && !e.hidden && e.textContent.length > 0})()`)
	if s := b.text("#sso-form .error"); !strings.Contains(s, `sites: "berlin-desk": give group=site with a site name or * for every site`) {
		t.Errorf("a group without a site: %q", s)
	}
	if v, _ := h.raw("/api/v1/settings/sso"); !strings.Contains(string(v), `"issuer": ""`) {
		t.Errorf("a refused form was saved: %s", v)
	}

	fill("berlin-desk=berlin, hq-desk=*")
	b.waitJS("the settings saved and shown", `(function(){var e=document.querySelector("#sso-state");return !!e && e.textContent.indexOf("`+idpAddr+`") >= 0 && performance.getEntriesByType("navigation")[0].type === "reload"})()`)
	if v := b.eval(`document.querySelector("#sso-form input[name=sites]").value`); v != "berlin-desk=berlin,hq-desk=*" {
		t.Errorf("the sites field after saving: %q", v)
	}
	b.shot("admin-sso-sites")
	var view struct {
		Sites          string
		SitesFromFlags bool `json:"sites_from_flags"`
	}
	if h.get("/api/v1/settings/sso", &view); view.Sites != "berlin-desk=berlin,hq-desk=*" || view.SitesFromFlags {
		t.Errorf("GET settings/sso: %+v", view)
	}

	// A ticket in each of two sites.
	type opened struct {
		Ticket struct{ ID string } `json:"ticket"`
	}
	ids := map[string]string{}
	for _, site := range []string{"berlin", "paris"} {
		var o opened
		body := fmt.Sprintf(`{"requester":"caller in %s","text":"printer in %s jammed","site":%q}`, site, site, site)
		if code := h.do("POST", "/api/v1/tickets", h.token, strings.NewReader(body), &o); code != 201 || o.Ticket.ID == "" {
			t.Fatalf("ticket in %s: %d %+v", site, code, o)
		}
		ids[site] = o.Ticket.ID
	}

	// Greta signs on and works berlin only.
	b.do("log out", chromedp.Click(chromedp.CSS(`.who form button`)), chromedp.WaitVisible(chromedp.CSS(`#sso-login`)))
	b.do("sign on as greta",
		chromedp.Click(chromedp.CSS(`#sso-login`)),
		chromedp.WaitVisible(chromedp.CSS(`#username`)),
		chromedp.SendKeys(chromedp.CSS(`#username`), "greta"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "greta idp pw"),
		chromedp.Click(chromedp.CSS(`#signin`)),
		chromedp.WaitVisible(chromedp.CSS(`.who`)))
	b.open(h, "/queue?tier=1", "#queue")
	b.waitJS("berlin's ticket in greta's queue", fmt.Sprintf(`!!document.querySelector('#queue-rows tr[data-id=%q]')`, ids["berlin"]))
	if got := b.eval(fmt.Sprintf(`String(!!document.querySelector('#queue-rows tr[data-id=%q]'))`, ids["paris"])); got != "false" {
		t.Errorf("paris's ticket shows in greta's queue")
	}
	if page := b.eval(`document.body.innerText`); strings.Contains(page, "printer in paris") {
		t.Errorf("greta's queue shows paris's ticket text")
	}

	var users struct {
		Users []struct {
			Name  string
			Sites []string
		}
	}
	h.get("/api/v1/users", &users)
	found := false
	for _, u := range users.Users {
		if u.Name == "greta" {
			found = true
			if strings.Join(u.Sites, ",") != "berlin" {
				t.Errorf("greta's sites: %v", u.Sites)
			}
		}
	}
	if !found {
		t.Errorf("no user greta after her sign-on: %+v", users.Users)
	}
	b.do("log greta out", chromedp.Click(chromedp.CSS(`.who form button`)), chromedp.WaitVisible(chromedp.CSS(`#sso-login`)))
	b.login(h, "admin", adminPassword(t, h))
	b.open(h, "/admin/sites", `#site-users tr[data-user="greta"]`)
	if v := b.eval(`document.querySelector('#site-users tr[data-user="greta"] input').value`); v != "berlin" {
		t.Errorf("greta's row on the sites page: %q", v)
	}
	seen := auditSeen(t, h)
	if seen["settings.sso/refused"] != 1 || seen["settings.sso/ok"] != 1 || seen["user.sites/ok"] != 1 {
		t.Errorf("audit: %v", seen)
	}

	// --oidc-sites stands over the page.
	h2 := startHub(t, "--oidc-sites", "ops=*")
	b.login(h2, "admin", adminPassword(t, h2))
	b.open(h2, "/admin#sso", "#sso-sites-flags")
	if v := b.eval(`document.querySelector("#sso-form input[name=sites]").disabled + " " + document.querySelector("#sso-form input[name=sites]").value`); v != "true ops=*" {
		t.Errorf("the sites field under --oidc-sites: %q", v)
	}
	if s := b.text("#sso-sites-flags"); !strings.Contains(s, "set by the hub's --oidc-sites flag") {
		t.Errorf("the flag note: %q", s)
	}
	var out struct{ Error string }
	if code := h2.do("PUT", "/api/v1/settings/sso", h2.token, strings.NewReader(`{"sites":"it=berlin"}`), &out); code != 400 || !strings.Contains(out.Error, "--oidc-sites flag") {
		t.Errorf("changing sites set by the flag: %d %q", code, out.Error)
	}
}
