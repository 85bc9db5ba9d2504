package console

import (
	"context"
	"net/http"
	"strings"

	"github.com/tierline/tierline/hub/store"
)

// sitesStore is what the sites page reads from the store.
type sitesStore interface {
	ListSites(ctx context.Context) ([]string, error)
	ListUsers(ctx context.Context) ([]store.User, error)
	ListDevices(ctx context.Context, opt store.ListDevicesOptions) ([]store.Device, error)
}

// Sites: which sites there are, the sites each user works and the site of
// each device. Changes go through the API (POST /api/v1/users/{id}/sites,
// POST /api/v1/devices/{id}/site) from admin_sites.js, audited there.
func init() {
	Register(Page{Pattern: "GET /admin/sites", Role: store.RoleAdmin, Nav: "Sites", NavOrder: 85, Handle: sitesPage})
}

type sitesData struct {
	Sites   []string
	Users   []siteUser
	Devices []store.Device
}

type siteUser struct {
	store.User
	SitesText string // "berlin,paris", "" for every site
}

func sitesPage(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	ctx := r.Context()
	sites, err := c.sites.ListSites(ctx)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	users, err := c.sites.ListUsers(ctx)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	devices, err := c.sites.ListDevices(ctx, store.ListDevicesOptions{Limit: 1000})
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	d := sitesData{Sites: sites, Devices: devices}
	for _, u := range users {
		d.Users = append(d.Users, siteUser{User: u, SitesText: strings.Join(u.Sites, ",")})
	}
	c.Render(w, r, req, http.StatusOK, "admin_sites.html", View{Title: "Sites", Scripts: []string{"admin_sites.js"}, Data: d})
}
