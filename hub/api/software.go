package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/tierline/tierline/hub/store"
)

// softwareStore is what the software and OS update routes call on the
// store.
type softwareStore interface {
	SearchSoftware(ctx context.Context, f store.SoftwareSearch) ([]store.SoftwareMatch, bool, error)
	DeviceSoftware(ctx context.Context, deviceID, q string) ([]store.InstalledSoftware, error)
	SoftwareChanges(ctx context.Context, deviceID string, since, until time.Time, limit int) ([]store.SoftwareChange, error)
	DeviceOSUpdates(ctx context.Context, deviceID string) (store.OSUpdates, error)
	ListOSUpdates(ctx context.Context, f store.OSUpdatesFilter) ([]store.OSUpdates, bool, error)
}

// Software and OS update routes. They show what GET /devices/{id} already
// shows (the inventory), searched across the fleet, so Tier 1 may call
// them.
func (a *API) softwareRoutes() []Route {
	return []Route{
		{"GET /api/v1/software", store.RoleTier1, a.searchSoftware},
		{"GET /api/v1/devices/{id}/software", store.RoleTier1, a.deviceSoftware},
		{"GET /api/v1/devices/{id}/software/changes", store.RoleTier1, a.softwareChanges},
		{"GET /api/v1/os-updates", store.RoleTier1, a.listOSUpdates},
		{"GET /api/v1/devices/{id}/os-updates", store.RoleTier1, a.deviceOSUpdates},
	}
}

// ParseSoftwareSearch reads a fleet software search from the query
// parameters name (required; a trailing * matches names starting with the
// rest), version (keep versions older than it) and limit. It returns a
// message for a bad request.
func ParseSoftwareSearch(r *http.Request) (store.SoftwareSearch, string) {
	q := r.URL.Query()
	f := store.SoftwareSearch{Name: q.Get("name"), Below: q.Get("version")}
	switch {
	case f.Name == "" || f.Name == "*":
		return f, "name is required: the package to look for, e.g. name=firefox (a trailing * matches names starting with the rest)"
	case len(f.Name) > store.MaxSoftwareName:
		return f, "name must be at most 200 characters"
	case len(f.Below) > 100:
		return f, "version must be at most 100 characters"
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 10000 {
			return f, "limit must be a number from 1 to 10000"
		}
		f.Limit = n
	}
	return f, ""
}

// searchSoftware answers GET /api/v1/software?name=&version=&limit=: the
// devices that have the package, below that version when given.
func (a *API) searchSoftware(w http.ResponseWriter, r *http.Request, who Caller) {
	f, msg := ParseSoftwareSearch(r)
	if msg != "" {
		writeError(w, http.StatusBadRequest, "bad_request", msg)
		return
	}
	m, more, err := a.software.SearchSoftware(r.Context(), f)
	if err != nil {
		a.internal(w, "search software", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": f.Name, "below": f.Below, "devices": m, "more": more})
}

// deviceSoftware answers GET /api/v1/devices/{id}/software?q=.
func (a *API) deviceSoftware(w http.ResponseWriter, r *http.Request, who Caller) {
	d, ok := a.device(w, r)
	if !ok {
		return
	}
	q := r.URL.Query().Get("q")
	if len(q) > store.MaxSoftwareName {
		writeError(w, http.StatusBadRequest, "bad_request", "q must be at most 200 characters")
		return
	}
	sw, err := a.software.DeviceSoftware(r.Context(), d.ID, q)
	if err != nil {
		a.internal(w, "list device software", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"device_id": d.ID, "software": sw})
}

// softwareChanges answers GET /api/v1/devices/{id}/software/changes?since=&until=
// (RFC 3339; default the last 30 days).
func (a *API) softwareChanges(w http.ResponseWriter, r *http.Request, who Caller) {
	d, ok := a.device(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	until := a.cfg.Now()
	if s := q.Get("until"); s != "" {
		var ok bool
		if until, ok = parseTimeParam(s); !ok {
			writeError(w, http.StatusBadRequest, "bad_request", "until must be a date (2026-11-23) or an RFC 3339 time (2026-11-23T10:00:00Z)")
			return
		}
	}
	since := until.AddDate(0, 0, -30)
	if s := q.Get("since"); s != "" {
		var ok bool
		if since, ok = parseTimeParam(s); !ok {
			writeError(w, http.StatusBadRequest, "bad_request", "since must be a date (2026-11-01) or an RFC 3339 time (2026-11-01T00:00:00Z)")
			return
		}
	}
	if !since.Before(until) {
		writeError(w, http.StatusBadRequest, "bad_request", "since must be before until")
		return
	}
	ch, err := a.software.SoftwareChanges(r.Context(), d.ID, since, until, 1000)
	if err != nil {
		a.internal(w, "list software changes", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"device_id": d.ID, "changes": ch})
}

// listOSUpdates answers GET /api/v1/os-updates?security=true&limit=&offset=:
// devices with pending OS updates (security ones only with security=true),
// those waiting longest first.
func (a *API) listOSUpdates(w http.ResponseWriter, r *http.Request, who Caller) {
	q := r.URL.Query()
	var f store.OSUpdatesFilter
	switch q.Get("security") {
	case "", "false", "0":
	case "true", "1":
		f.Security = true
	default:
		writeError(w, http.StatusBadRequest, "bad_request", "security must be true or false")
		return
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 10000 {
			writeError(w, http.StatusBadRequest, "bad_request", "limit must be a number from 1 to 10000")
			return
		}
		f.Limit = n
	}
	if s := q.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 10_000_000 {
			writeError(w, http.StatusBadRequest, "bad_request", "offset must be a number from 0")
			return
		}
		f.Offset = n
	}
	us, more, err := a.software.ListOSUpdates(r.Context(), f)
	if err != nil {
		a.internal(w, "list update status", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": us, "more": more})
}

// deviceOSUpdates answers GET /api/v1/devices/{id}/os-updates: the update
// status the device last reported (404 when it never reported one).
func (a *API) deviceOSUpdates(w http.ResponseWriter, r *http.Request, who Caller) {
	d, ok := a.device(w, r)
	if !ok {
		return
	}
	u, err := a.software.DeviceOSUpdates(r.Context(), d.ID)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "device "+d.ID+" has not reported its OS update status")
		return
	}
	if err != nil {
		a.internal(w, "get update status", err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}
