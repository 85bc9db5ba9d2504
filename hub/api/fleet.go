package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/diag"
)

// fleetStore is what the fleet health, device search and chart routes call
// on the store.
type fleetStore interface {
	FleetHealth(ctx context.Context, from, to time.Time, topProblems int) (store.FleetHealth, error)
	SearchDevices(ctx context.Context, f store.DeviceSearch) ([]store.Device, bool, error)
	TelemetrySeries(ctx context.Context, deviceID string, since, until time.Time, step time.Duration) ([]store.TelemetryPoint, error)
}

// Fleet routes. The fleet health aggregates need Tier 3: the issue gives
// fleet health to admins, and Tier 3 engineers are the ones who hunt
// patterns across devices (problems, known errors), so they see it too;
// Tier 1 and 2 work single tickets and devices. The device search and the
// bucketed telemetry series show no more than GET /devices and
// GET /devices/{id}/telemetry, so they admit Tier 1 like those.
func (a *API) fleetRoutes() []Route {
	return []Route{
		{"GET /api/v1/fleet/health", store.RoleTier3, a.fleetHealth},
		{"GET /api/v1/fleet/devices", store.RoleTier1, a.searchDevices},
		{"GET /api/v1/devices/{id}/series", store.RoleTier1, a.deviceSeries},
	}
}

// parseTimeParam reads an RFC 3339 time or a YYYY-MM-DD date (UTC midnight).
func parseTimeParam(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// period reads the ?from=&to= of a report (RFC 3339 times or YYYY-MM-DD
// dates): by default the 30 days up to now, or up to to. It answers 400
// itself and returns false on a bad value or from not before to.
func (a *API) period(w http.ResponseWriter, r *http.Request) (from, to time.Time, ok bool) {
	q := r.URL.Query()
	to = a.cfg.Now()
	if s := q.Get("to"); s != "" {
		if to, ok = parseTimeParam(s); !ok {
			writeError(w, http.StatusBadRequest, "bad_request", "to must be a date (2026-11-23) or an RFC 3339 time (2026-11-23T10:00:00Z)")
			return from, to, false
		}
	}
	from = to.AddDate(0, 0, -30)
	if s := q.Get("from"); s != "" {
		if from, ok = parseTimeParam(s); !ok {
			writeError(w, http.StatusBadRequest, "bad_request", "from must be a date (2026-11-01) or an RFC 3339 time (2026-11-01T00:00:00Z)")
			return from, to, false
		}
	}
	if !from.Before(to) {
		writeError(w, http.StatusBadRequest, "bad_request", "from must be before to")
		return from, to, false
	}
	return from, to, true
}

// fleetHealth answers GET /api/v1/fleet/health?from=&to= (see period).
func (a *API) fleetHealth(w http.ResponseWriter, r *http.Request, who Caller) {
	q := r.URL.Query()
	from, to, ok := a.period(w, r)
	if !ok {
		return
	}
	if to.Sub(from) > store.MaxFleetRange {
		writeError(w, http.StatusBadRequest, "bad_request", "the range may span at most 366 days; narrow from and to")
		return
	}
	top := 10
	if s := q.Get("top"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			writeError(w, http.StatusBadRequest, "bad_request", "top must be a number from 1 to 100")
			return
		}
		top = n
	}
	h, err := a.fleet.FleetHealth(r.Context(), from, to, top)
	if err != nil {
		a.internal(w, "fleet health", err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

// ParseDeviceSearch reads a device search from query parameters q, check,
// status (failing, warning, ok, unknown), updates (security, pending),
// online (true/false), limit (1-1000) and offset; the console uses it too.
func ParseDeviceSearch(r *http.Request) (store.DeviceSearch, string) {
	q := r.URL.Query()
	f := store.DeviceSearch{Q: q.Get("q"), Check: q.Get("check"), Status: q.Get("status")}
	if len(f.Q) > 100 {
		return f, "q must be at most 100 characters"
	}
	if len(f.Check) > 64 {
		return f, "check must be at most 64 characters"
	}
	switch diag.Status(f.Status) {
	case "", diag.StatusOK, diag.StatusWarning, diag.StatusFailing, diag.StatusUnknown:
	default:
		return f, "status must be ok, warning, failing or unknown"
	}
	if f.Status != "" && f.Check == "" {
		return f, "status needs check: the status of which health check?"
	}
	switch f.Updates = q.Get("updates"); f.Updates {
	case "", "security", "pending":
	default:
		return f, "updates must be security (pending security updates) or pending (any pending update)"
	}
	switch q.Get("online") {
	case "":
	case "true", "1":
		t := true
		f.Online = &t
	case "false", "0":
		v := false
		f.Online = &v
	default:
		return f, "online must be true or false"
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return f, "limit must be a number from 1 to 1000"
		}
		f.Limit = n
	}
	if s := q.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 10_000_000 {
			return f, "offset must be a number from 0"
		}
		f.Offset = n
	}
	return f, ""
}

// searchDevices answers GET /api/v1/fleet/devices?q=&check=&status=&updates=&online=&limit=&offset=.
func (a *API) searchDevices(w http.ResponseWriter, r *http.Request, who Caller) {
	f, msg := ParseDeviceSearch(r)
	if msg != "" {
		writeError(w, http.StatusBadRequest, "bad_request", msg)
		return
	}
	ds, more, err := a.fleet.SearchDevices(r.Context(), f)
	if err != nil {
		a.internal(w, "search devices", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": ds, "more": more})
}

// SeriesRanges are the chart ranges the console offers, with the bucket
// width that gives each about 120 to 360 points.
var SeriesRanges = []struct {
	Name  string
	Range time.Duration
	Step  time.Duration
}{
	{"1h", time.Hour, 30 * time.Second},
	{"24h", 24 * time.Hour, 5 * time.Minute},
	{"7d", 7 * 24 * time.Hour, 30 * time.Minute},
	{"30d", 30 * 24 * time.Hour, 2 * time.Hour},
}

// deviceSeries answers GET /api/v1/devices/{id}/series?range=1h|24h|7d|30d
// (default 1h), ending now or at until: averaged buckets with maxima.
func (a *API) deviceSeries(w http.ResponseWriter, r *http.Request, who Caller) {
	d, ok := a.device(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	name := q.Get("range")
	if name == "" {
		name = "1h"
	}
	var span, step time.Duration
	for _, sr := range SeriesRanges {
		if sr.Name == name {
			span, step = sr.Range, sr.Step
		}
	}
	if span == 0 {
		writeError(w, http.StatusBadRequest, "bad_request", "range must be 1h, 24h, 7d or 30d")
		return
	}
	until := a.cfg.Now()
	if s := q.Get("until"); s != "" {
		t, ok := parseTimeParam(s)
		if !ok {
			writeError(w, http.StatusBadRequest, "bad_request", "until must be an RFC 3339 time such as 2026-11-23T10:00:00Z")
			return
		}
		until = t
	}
	since := until.Add(-span)
	pts, err := a.fleet.TelemetrySeries(r.Context(), d.ID, since, until, step)
	if err != nil {
		a.internal(w, "telemetry series", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"device_id": d.ID, "range": name, "since": since.UTC(), "until": until.UTC(),
		"step_seconds": int(step / time.Second), "points": pts})
}
