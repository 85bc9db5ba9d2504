package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/tickets"
)

// sitesStore is what the site routes and the per-route site check call.
type sitesStore interface {
	DeviceSite(ctx context.Context, id string) (string, error)
	TicketSite(ctx context.Context, id string) (string, error)
	RunSite(ctx context.Context, id string) (string, error)
	SetDeviceSite(ctx context.Context, id, site string) (string, error)
	SetUserSites(ctx context.Context, id string, sites []string) error
	GetUser(ctx context.Context, id string) (store.User, error)
	ListSites(ctx context.Context) ([]string, error)
}

// siteRule says how a route keeps a caller to their sites. Every route
// has one (routeSites); a route without one is refused, and the role x
// site matrix test fails for it.
type siteRule int

const (
	// siteShared routes hold nothing of any one site (the catalog, the
	// caller's own settings).
	siteShared siteRule = iota + 1
	// siteScoped routes read and change through the store with the
	// caller's sites on the request's context (store.WithSites): lists,
	// searches, counts and metrics leave other sites out, and a record of
	// another site is not found.
	siteScoped
	// siteDevice, siteTicket and siteRun routes name a device, ticket or
	// fix run by {id}: another site's answers 404, as an unknown one does.
	siteDevice
	siteTicket
	siteRun
	// siteEvery routes act on every site at once (users, tokens, audit,
	// hub-wide settings): a caller limited to some sites is refused.
	siteEvery
)

// routeSites gives each route its site rule. Add a line with each new
// route.
var routeSites = map[string]siteRule{
	"GET /api/v1/me":                                        siteShared,
	"GET /api/v1/devices":                                   siteScoped,
	"GET /api/v1/devices/{id}":                              siteDevice,
	"GET /api/v1/devices/{id}/telemetry":                    siteDevice,
	"GET /api/v1/devices/{id}/health/history":               siteDevice,
	"POST /api/v1/devices/{id}/checks":                      siteDevice,
	"POST /api/v1/devices/{id}/revoke":                      siteDevice,
	"POST /api/v1/devices/{id}/group":                       siteDevice,
	"POST /api/v1/devices/{id}/site":                        siteDevice,
	"GET /api/v1/sites":                                     siteScoped,
	"POST /api/v1/users/{id}/sites":                         siteEvery,
	"GET /api/v1/tokens":                                    siteEvery,
	"POST /api/v1/tokens":                                   siteEvery,
	"POST /api/v1/tokens/{id}/revoke":                       siteEvery,
	"GET /api/v1/audit":                                     siteEvery,
	"GET /api/v1/updates/releases":                          siteShared,
	"POST /api/v1/updates/releases":                         siteEvery,
	"DELETE /api/v1/updates/releases/{version}/{os}/{arch}": siteEvery,
	"GET /api/v1/updates/rollouts":                          siteShared,
	"PUT /api/v1/updates/rollouts/{group}":                  siteEvery,
	"DELETE /api/v1/updates/rollouts/{group}":               siteEvery,
	"GET /api/v1/updates/devices":                           siteScoped,
	// Policies are shared by a group's devices of every site or kept to
	// one site's: a caller reads the shared ones and their sites', and a
	// caller limited to some sites saves only policies kept to them.
	"GET /api/v1/policies":                  siteScoped,
	"GET /api/v1/policies/{group}":          siteScoped,
	"PUT /api/v1/policies/{group}":          siteScoped,
	"GET /api/v1/policies/{group}/versions": siteScoped,
	"GET /api/v1/devices/{id}/policy":       siteDevice,
	"GET /api/v1/catalog":                   siteShared,
	"GET /api/v1/recipes":                   siteShared,
	"POST /api/v1/recipes":                  siteEvery,
	"DELETE /api/v1/recipes/{id}":           siteEvery,
	"POST /api/v1/devices/{id}/runs":        siteDevice,
	"GET /api/v1/devices/{id}/runs":         siteDevice,
	"GET /api/v1/runs":                      siteScoped,
	"GET /api/v1/runs/{id}":                 siteRun,
	"POST /api/v1/runs/{id}/cancel":         siteRun,
	"GET /api/v1/runs/{id}/bundle":          siteRun,
	"POST /api/v1/batches":                  siteScoped,
	"GET /api/v1/batches/{id}":              siteScoped,
	// tickets.go
	"GET /api/v1/tickets":                         siteScoped,
	"POST /api/v1/tickets":                        siteScoped,
	"GET /api/v1/tickets/{id}":                    siteTicket,
	"POST /api/v1/tickets/{id}/assign":            siteTicket,
	"POST /api/v1/tickets/{id}/collaborators":     siteTicket,
	"POST /api/v1/tickets/{id}/escalate":          siteTicket,
	"POST /api/v1/tickets/{id}/messages":          siteTicket,
	"POST /api/v1/tickets/{id}/waiting":           siteTicket,
	"POST /api/v1/tickets/{id}/resume":            siteTicket,
	"POST /api/v1/tickets/{id}/resolve":           siteTicket,
	"POST /api/v1/tickets/{id}/software":          siteTicket,
	"POST /api/v1/tickets/{id}/reopen":            siteTicket,
	"POST /api/v1/tickets/{id}/close":             siteTicket,
	"POST /api/v1/tickets/{id}/link":              siteTicket,
	"POST /api/v1/tickets/{id}/priority":          siteTicket,
	"GET /api/v1/tickets/{id}/screenshot":         siteTicket,
	"GET /api/v1/metrics/support":                 siteScoped,
	"GET /api/v1/settings/ticket-routing":         siteShared,
	"PUT /api/v1/settings/ticket-routing":         siteEvery,
	"GET /api/v1/settings/assignment":             siteShared,
	"PUT /api/v1/settings/assignment":             siteEvery,
	"GET /api/v1/tickets/{id}/attachments":        siteTicket,
	"GET /api/v1/tickets/{id}/attachments/{att}":  siteTicket,
	"GET /api/v1/tickets/{id}/vendor":             siteTicket,
	"POST /api/v1/tickets/{id}/vendor":            siteTicket,
	"POST /api/v1/tickets/{id}/vendor/reference":  siteTicket,
	"GET /api/v1/fleet/health":                    siteScoped,
	"GET /api/v1/fleet/devices":                   siteScoped,
	"GET /api/v1/devices/{id}/series":             siteDevice,
	"GET /api/v1/articles":                        siteScoped,
	"GET /api/v1/articles/{id}":                   siteScoped,
	"POST /api/v1/articles":                       siteScoped,
	"PUT /api/v1/articles/{id}":                   siteScoped,
	"POST /api/v1/articles/{id}/state":            siteScoped,
	"GET /api/v1/me/notifications":                siteShared,
	"PUT /api/v1/me/notifications":                siteShared,
	"GET /api/v1/me/notifications/inbox":          siteShared,
	"POST /api/v1/me/notifications/read":          siteShared,
	"GET /api/v1/problems":                        siteScoped,
	"GET /api/v1/problems/proposals":              siteScoped,
	"GET /api/v1/problems/{id}":                   siteScoped,
	"POST /api/v1/problems":                       siteScoped,
	"PUT /api/v1/problems/{id}":                   siteScoped,
	"POST /api/v1/problems/{id}/tickets":          siteScoped,
	"GET /api/v1/settings/second-factor":          siteEvery,
	"PUT /api/v1/settings/second-factor":          siteEvery,
	"GET /api/v1/settings/sso":                    siteEvery,
	"PUT /api/v1/settings/sso":                    siteEvery,
	"POST /api/v1/users/{id}/second-factor/reset": siteEvery,
	"GET /api/v1/settings/sla":                    siteEvery,
	"PUT /api/v1/settings/sla":                    siteEvery,
	"GET /api/v1/software":                        siteScoped,
	"GET /api/v1/devices/{id}/software":           siteDevice,
	"GET /api/v1/devices/{id}/recipes":            siteDevice,
	"GET /api/v1/devices/{id}/software/changes":   siteDevice,
	"GET /api/v1/os-updates":                      siteScoped,
	"GET /api/v1/devices/{id}/os-updates":         siteDevice,
	"GET /api/v1/request-templates":               siteShared,
	"GET /api/v1/request-templates/{id}":          siteShared,
	"POST /api/v1/request-templates":              siteEvery,
	"PUT /api/v1/request-templates/{id}":          siteEvery,
	"DELETE /api/v1/request-templates/{id}":       siteEvery,
	"GET /api/v1/users":                           siteEvery,
	"POST /api/v1/users":                          siteEvery,
	"POST /api/v1/users/{id}/role":                siteEvery,
	"POST /api/v1/users/{id}/disable":             siteEvery,
	"POST /api/v1/users/{id}/password":            siteEvery,
	"GET /api/v1/apitokens":                       siteEvery,
	"POST /api/v1/apitokens":                      siteEvery,
	"POST /api/v1/apitokens/{id}/revoke":          siteEvery,
	"PUT /api/v1/me/availability":                 siteShared,
	"GET /api/v1/vendors":                         siteScoped,
	"GET /api/v1/vendors/{id}":                    siteScoped,
	"POST /api/v1/vendors":                        siteScoped,
	"PUT /api/v1/vendors/{id}":                    siteScoped,
	"POST /api/v1/vendors/{id}/disable":           siteScoped,
	"POST /api/v1/vendors/{id}/enable":            siteScoped,
}

// SiteRule names a route's site rule, for tests and docs: "shared",
// "scoped", "device", "ticket", "run", "every", or "" for a route without
// one.
func SiteRule(pattern string) string {
	return map[siteRule]string{siteShared: "shared", siteScoped: "scoped", siteDevice: "device", siteTicket: "ticket",
		siteRun: "run", siteEvery: "every"}[routeSites[pattern]]
}

func (a *API) siteRoutes() []Route {
	return []Route{
		{"GET /api/v1/sites", store.RoleTier1, a.listSites},
		{"POST /api/v1/devices/{id}/site", store.RoleAdmin, a.setDeviceSite},
		{"POST /api/v1/users/{id}/sites", store.RoleAdmin, a.setUserSites},
	}
}

// checkSite applies pattern's site rule for who: it puts who's sites on
// the request's context for the store, and refuses what they may not
// reach. A refusal of a record names it not found, as for an unknown one,
// so a caller learns nothing of other sites.
func (a *API) checkSite(w http.ResponseWriter, r *http.Request, who Caller, pattern string) (*http.Request, bool) {
	rule := routeSites[pattern]
	if rule == 0 {
		a.log.Error("route has no site rule; refused", "route", pattern)
		writeError(w, http.StatusInternalServerError, "internal", "this route has no site rule yet; it is refused until it has one")
		return r, false
	}
	if who.Sites == nil {
		return r, true
	}
	ctx := store.WithSites(r.Context(), who.Sites)
	r = r.WithContext(ctx)
	var err error
	switch rule {
	case siteEvery:
		a.audit(r, who, "api.deny", r.URL.Path, "denied", map[string]any{"route": pattern, "reason": "site-limited caller", "sites": who.Sites})
		writeError(w, http.StatusForbidden, "site_limited", "this route covers every site; you (or your API token) are limited to sites "+joinSites(who.Sites))
		return r, false
	case siteDevice:
		_, err = a.sites.DeviceSite(ctx, r.PathValue("id"))
	case siteTicket:
		_, err = a.sites.TicketSite(ctx, r.PathValue("id"))
	case siteRun:
		_, err = a.sites.RunSite(ctx, r.PathValue("id"))
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no such "+map[siteRule]string{siteDevice: "device", siteTicket: "ticket", siteRun: "run"}[rule]+" in your sites")
		return r, false
	case err != nil:
		a.internal(w, "check the site", err)
		return r, false
	}
	return r, true
}

func joinSites(sites []string) string {
	if sites == nil {
		return "(every site)"
	}
	out := ""
	for i, s := range sites {
		if i > 0 {
			out += ","
		}
		out += s
	}
	if out == "" {
		return "(none)"
	}
	return out
}

// listSites lists the sites the caller may see, and theirs.
func (a *API) listSites(w http.ResponseWriter, r *http.Request, who Caller) {
	names, err := a.sites.ListSites(r.Context())
	if err != nil {
		a.internal(w, "list sites", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sites": names, "yours": who.Sites, "every_site": who.Sites == nil})
}

// setDeviceSite moves a device (and its open tickets) to another site:
// {"site": "B"}. An admin limited to some sites may move only within them.
func (a *API) setDeviceSite(w http.ResponseWriter, r *http.Request, who Caller) {
	var req struct {
		Site string `json:"site"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if err := store.ValidateSite(req.Site); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error()+`; send {"site": "NAME"}`)
		return
	}
	if !store.SeesSite(who.Sites, req.Site) {
		writeError(w, http.StatusForbidden, "site_limited", "you may move devices only to your sites: "+joinSites(who.Sites))
		return
	}
	id := r.PathValue("id")
	from, err := a.sites.SetDeviceSite(r.Context(), id, req.Site)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no such device in your sites")
		return
	}
	if err != nil {
		a.internal(w, "move device", err)
		return
	}
	a.audit(r, who, "device.site", id, "ok", map[string]any{"from": from, "to": req.Site})
	if d, err := a.devices.GetDevice(r.Context(), id); err == nil && a.cfg.GroupChanged != nil && from != req.Site {
		// The policy a device gets depends on its site: send it again.
		go a.cfg.GroupChanged(context.WithoutCancel(r.Context()), id, d.Group)
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "site": req.Site, "was": from})
}

// setUserSites sets the sites a user works: {"sites": ["A", "B"]}, or
// {"sites": []} (or null) for every site.
func (a *API) setUserSites(w http.ResponseWriter, r *http.Request, who Caller) {
	var req struct {
		Sites []string `json:"sites"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	sites, err := store.CheckSites(req.Sites)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error()+`; send {"sites": ["A", "B"]}, or [] for every site`)
		return
	}
	id := r.PathValue("id")
	u, err := a.sites.GetUser(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no user "+id)
		return
	}
	if err != nil {
		a.internal(w, "get user", err)
		return
	}
	if err := a.sites.SetUserSites(r.Context(), id, sites); err != nil {
		a.internal(w, "set user sites", err)
		return
	}
	a.audit(r, who, "user.sites", id, "ok", map[string]any{"user": u.Name, "from": joinSites(u.Sites), "to": joinSites(sites)})
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "name": u.Name, "sites": sites})
}

// intakeSite checks and fills the site of a ticket a caller files without
// a device; false when it has answered with an error.
func (a *API) intakeSite(w http.ResponseWriter, who Caller, in *tickets.Intake) bool {
	if in.Site == "" {
		in.Site = store.DefaultSite
		if !store.SeesSite(who.Sites, in.Site) && len(who.Sites) > 0 {
			in.Site = who.Sites[0]
		}
	}
	if err := store.ValidateSite(in.Site); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return false
	}
	if !store.SeesSite(who.Sites, in.Site) {
		writeError(w, http.StatusForbidden, "site_limited", "you may file tickets only for your sites: "+joinSites(who.Sites))
		return false
	}
	return true
}

// recordSite checks the site of a new vendor, article or problem: ""
// shares it with every site, which only a caller of every site may do; a
// caller limited to some sites who names none gets their first.
func (a *API) recordSite(w http.ResponseWriter, who Caller, site string) (string, bool) {
	if site == "" && len(who.Sites) > 0 {
		site = who.Sites[0]
	}
	if site == "" && who.Sites == nil {
		return "", true
	}
	if err := store.ValidateSite(site); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return "", false
	}
	if !store.SeesSite(who.Sites, site) {
		writeError(w, http.StatusForbidden, "site_limited", "you may keep records only to your sites: "+joinSites(who.Sites))
		return "", false
	}
	return site, true
}
