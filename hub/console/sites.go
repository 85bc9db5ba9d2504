package console

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tierline/tierline/hub/sso"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/wire"
)

func siteOrDefault(site string) string {
	if site == "" {
		return store.DefaultSite
	}
	return site
}

// siteAllows refuses a user limited to some sites the pages that cover
// every site (admin pages over users, tokens, audit and hub settings); the
// other pages read through the store with the user's sites, so they show
// only those.
func (c *Console) siteAllows(w http.ResponseWriter, r *http.Request, req *Request, p Page) bool {
	if req.User.Sites == nil || !everySitePage(p.Pattern) {
		return true
	}
	c.Error(w, r, req, http.StatusForbidden, "This page covers every site; you work sites "+strings.Join(req.User.Sites, ",")+". Ask an admin of every site.")
	return false
}

// everySitePage reports whether a page covers every site at once.
func everySitePage(pattern string) bool {
	_, path, _ := strings.Cut(pattern, " ")
	return path == "/admin" || strings.HasPrefix(path, "/admin/")
}

// ssoSites gives a user signing on the sites their groups map to now, when
// the hub maps sites (--oidc-sites); a user whose groups give no site
// cannot log in. Each change is audited.
func (c *Console) ssoSites(ctx context.Context, p *sso.Provider, id sso.Identity, u store.User, now time.Time, r *http.Request) (store.User, string, error) {
	sites, managed, ok := p.Sites(id)
	switch {
	case !managed:
		return u, "", nil
	case !ok:
		return u, "Your account at the sign-on provider is in no group that gives a Tierline site (groups: " +
			wire.Clip(strings.Join(id.Groups, ", "), 200) + "). Ask an admin to add you to a site's help-desk group.", nil
	case slices.Equal(sites, u.Sites) && (sites == nil) == (u.Sites == nil):
		return u, "", nil
	}
	if err := c.ids.SetUserSites(ctx, u.ID, sites); err != nil {
		return u, "", err
	}
	c.cfg.Audit(store.AuditEvent{Time: now, Actor: "sso", Action: "user.sites", Target: u.Name, Outcome: "ok",
		Detail: map[string]any{"from": siteList(u.Sites), "to": siteList(sites), "groups": id.Groups}, Remote: r.RemoteAddr})
	u.Sites = sites
	return u, "", nil
}

func siteList(sites []string) string {
	if sites == nil {
		return "*"
	}
	return strings.Join(sites, ",")
}
