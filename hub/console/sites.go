package console

import (
	"net/http"
	"strings"

	"github.com/tierline/tierline/hub/store"
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
