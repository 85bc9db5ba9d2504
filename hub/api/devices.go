package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/wire"
)

// devicesStore is what the device routes call on the store.
type devicesStore interface {
	ListDevices(ctx context.Context, opt store.ListDevicesOptions) ([]store.Device, error)
	GetDevice(ctx context.Context, id string) (store.Device, error)
	DeviceAuth(ctx context.Context, id string) (store.Device, error)
	Telemetry(ctx context.Context, q store.TelemetryQuery) ([]store.TelemetryPoint, error)
	CheckHistory(ctx context.Context, deviceID string, since time.Time, limit int) ([]store.CheckTransition, error)
	RevokeDevice(ctx context.Context, id string, at time.Time) error
	SetDeviceGroup(ctx context.Context, id, group string) error
}

func (a *API) me(w http.ResponseWriter, r *http.Request, who Caller) {
	out := map[string]any{"id": who.UserID, "name": who.Name, "role": who.Role, "sites": who.Sites}
	if u, err := a.users.GetUser(r.Context(), who.UserID); err == nil {
		out["available"] = u.Available
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) listDevices(w http.ResponseWriter, r *http.Request, who Caller) {
	opt := store.ListDevicesOptions{Group: r.URL.Query().Get("group")}
	switch r.URL.Query().Get("online") {
	case "":
	case "true", "1":
		t := true
		opt.Online = &t
	case "false", "0":
		f := false
		opt.Online = &f
	default:
		writeError(w, http.StatusBadRequest, "bad_request", "online must be true or false")
		return
	}
	ds, err := a.devices.ListDevices(r.Context(), opt)
	if err != nil {
		a.internal(w, "list devices", err)
		return
	}
	if ds == nil {
		ds = []store.Device{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": ds})
}

// device reads the device the path's {id} names, with its latest sample,
// inventory and health. It writes the error response itself.
func (a *API) device(w http.ResponseWriter, r *http.Request) (store.Device, bool) {
	return a.readDevice(w, r, a.devices.GetDevice)
}

// deviceRow is device without the latest sample, inventory and health,
// for a route that needs only the device's own row (one query, nothing
// large to decode). The route's site rule (siteDevice) has checked the
// device is in the caller's sites.
func (a *API) deviceRow(w http.ResponseWriter, r *http.Request) (store.Device, bool) {
	return a.readDevice(w, r, a.devices.DeviceAuth)
}

func (a *API) readDevice(w http.ResponseWriter, r *http.Request, get func(context.Context, string) (store.Device, error)) (store.Device, bool) {
	id := r.PathValue("id")
	if err := wire.ValidateDeviceID(id); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return store.Device{}, false
	}
	d, err := get(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no device "+id)
		return d, false
	}
	if err != nil {
		a.internal(w, "get device", err)
		return d, false
	}
	return d, true
}

func (a *API) getDevice(w http.ResponseWriter, r *http.Request, who Caller) {
	d, ok := a.device(w, r)
	if !ok {
		return
	}
	if a.cfg.IsConnected != nil {
		d.Online = a.cfg.IsConnected(d)
	}
	writeJSON(w, http.StatusOK, d)
}

// parseRange reads since/until (RFC 3339) with defaults: the last hour.
func (a *API) parseRange(w http.ResponseWriter, r *http.Request) (since, until time.Time, ok bool) {
	q := r.URL.Query()
	until = a.cfg.Now()
	since = until.Add(-time.Hour)
	var err error
	if s := q.Get("until"); s != "" {
		if until, err = time.Parse(time.RFC3339Nano, s); err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", "until must be an RFC 3339 time such as 2026-11-23T10:00:00Z")
			return since, until, false
		}
	}
	if s := q.Get("since"); s != "" {
		if since, err = time.Parse(time.RFC3339Nano, s); err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", "since must be an RFC 3339 time such as 2026-11-23T09:00:00Z")
			return since, until, false
		}
	} else if q.Get("until") != "" {
		since = until.Add(-time.Hour)
	}
	if since.After(until) {
		writeError(w, http.StatusBadRequest, "bad_request", "since is after until")
		return since, until, false
	}
	return since, until, true
}

func (a *API) deviceTelemetry(w http.ResponseWriter, r *http.Request, who Caller) {
	d, ok := a.device(w, r)
	if !ok {
		return
	}
	since, until, ok := a.parseRange(w, r)
	if !ok {
		return
	}
	limit := 10000
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100000 {
			writeError(w, http.StatusBadRequest, "bad_request", "limit must be a number from 1 to 100000")
			return
		}
		limit = n
	}
	pts, err := a.devices.Telemetry(r.Context(), store.TelemetryQuery{
		DeviceID: d.ID, Since: since, Until: until, Limit: limit, WithSamples: r.URL.Query().Get("samples") == "true",
	})
	if err != nil {
		a.internal(w, "query telemetry", err)
		return
	}
	if pts == nil {
		pts = []store.TelemetryPoint{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"device_id": d.ID, "since": since.UTC(), "until": until.UTC(), "points": pts})
}

func (a *API) healthHistory(w http.ResponseWriter, r *http.Request, who Caller) {
	d, ok := a.device(w, r)
	if !ok {
		return
	}
	since, _, ok := a.parseRange(w, r)
	if !ok {
		return
	}
	tr, err := a.devices.CheckHistory(r.Context(), d.ID, since, 1000)
	if err != nil {
		a.internal(w, "query health history", err)
		return
	}
	if tr == nil {
		tr = []store.CheckTransition{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"device_id": d.ID, "transitions": tr})
}

// ChecksRequest is the body of POST /api/v1/devices/{id}/checks.
type ChecksRequest struct {
	Names []string `json:"names"` // empty: every check
}

func (a *API) requestChecks(w http.ResponseWriter, r *http.Request, who Caller) {
	d, ok := a.device(w, r)
	if !ok {
		return
	}
	var req ChecksRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if err := (wire.CheckRequest{RequestID: "x", Names: req.Names}).Validate(); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if a.cfg.RequestChecks == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "this hub cannot reach devices")
		return
	}
	id, err := a.cfg.RequestChecks(r.Context(), d.ID, req.Names)
	if errors.Is(err, ErrOffline) {
		writeError(w, http.StatusConflict, "offline", "the device is not connected; its next scheduled checks arrive when it reconnects")
		return
	}
	if err != nil {
		a.internal(w, "request health checks", err)
		return
	}
	a.audit(r, who, "device.checks.request", d.ID, "ok", map[string]any{"request_id": id, "names": req.Names})
	writeJSON(w, http.StatusAccepted, map[string]any{"request_id": id, "device_id": d.ID})
}

func (a *API) revokeDevice(w http.ResponseWriter, r *http.Request, who Caller) {
	d, ok := a.device(w, r)
	if !ok {
		return
	}
	if err := a.devices.RevokeDevice(r.Context(), d.ID, a.cfg.Now()); err != nil {
		a.internal(w, "revoke device", err)
		return
	}
	a.cfg.OnRevoke(d.ID)
	a.audit(r, who, "device.revoke", d.ID, "ok", map[string]any{"hostname": d.Hostname})
	writeJSON(w, http.StatusOK, map[string]any{"id": d.ID, "revoked": true})
}

func (a *API) internal(w http.ResponseWriter, what string, err error) {
	a.log.Error(what, "err", err)
	writeError(w, http.StatusInternalServerError, "internal", what+" failed; see the hub's log")
}

func (a *API) setDeviceGroup(w http.ResponseWriter, r *http.Request, who Caller) {
	d, ok := a.device(w, r)
	if !ok {
		return
	}
	var req struct {
		Group string `json:"group"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if err := store.ValidateGroup(req.Group); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if err := a.devices.SetDeviceGroup(r.Context(), d.ID, req.Group); err != nil {
		a.internal(w, "set device group", err)
		return
	}
	a.audit(r, who, "device.group", d.ID, "ok", map[string]any{"group": req.Group, "was": d.Group})
	if a.cfg.GroupChanged != nil && req.Group != d.Group {
		go a.cfg.GroupChanged(context.WithoutCancel(r.Context()), d.ID, req.Group)
	}
	d.Group = req.Group
	writeJSON(w, http.StatusOK, d)
}
