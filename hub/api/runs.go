package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/recipe"
	"github.com/tierline/tierline/shared/wire"
)

// runsStore is what the fix-run and batch routes call on the store.
type runsStore interface {
	GetDevice(ctx context.Context, id string) (store.Device, error)
	GetTicket(ctx context.Context, id string) (store.Ticket, error)
	CreateRuns(ctx context.Context, b *store.RunBatch, runs []store.Run, audit ...store.AuditEvent) error
	GetRun(ctx context.Context, id string) (store.Run, error)
	ListRuns(ctx context.Context, f store.RunFilter) ([]store.Run, error)
	CancelRun(ctx context.Context, id string, at time.Time) error
	RunBundle(ctx context.Context, id string) (string, []byte, error)
	ListDevices(ctx context.Context, opt store.ListDevicesOptions) ([]store.Device, error)
	GetRunBatch(ctx context.Context, id string) (store.RunBatch, error)
}

// Limits of run requests.
const (
	DefaultRunExpiry = time.Hour
	MaxRunExpiry     = wire.MaxRunExpiry
	minRunExpiry     = 10 * time.Second
	maxRunWait       = 30 * time.Second
	// MaxBatchDevices bounds one batch run for roles below admin.
	MaxBatchDevices = 500
)

// RoleTier is the highest fix tier a role may run: tier1 1, tier2 2,
// tier3 and admin 3.
func RoleTier(r store.Role) int {
	switch r {
	case store.RoleTier1:
		return catalog.TierHelpDesk
	case store.RoleTier2:
		return catalog.TierInDepth
	case store.RoleTier3, store.RoleAdmin:
		return catalog.TierExpert
	}
	return -1
}

// CatalogFix is a catalog entry as the API shows it to one caller.
type CatalogFix struct {
	catalog.Fix
	// Allowed: the caller's role may run it (and, with ?device=, the device
	// offers it).
	Allowed bool `json:"allowed"`
	// Why it is not allowed, in a sentence.
	Refusal string `json:"refusal,omitempty"`
	// NotApplicable (with ?device=) is why the fix does not apply to the
	// device, as its latest inventory says (CUPS not installed, systemd not
	// running): a run would only come back not_applicable, so the console
	// does not offer it. The API still takes the run; the agent decides.
	NotApplicable string `json:"not_applicable,omitempty"`
	// Recipe is set for the organisation's signed recipes (recipes.go).
	Recipe *RecipeInfo `json:"recipe,omitempty"`
}

func (a *API) getCatalog(w http.ResponseWriter, r *http.Request, who Caller) {
	var dev *store.Device
	if id := r.URL.Query().Get("device"); id != "" {
		if err := wire.ValidateDeviceID(id); err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", err.Error())
			return
		}
		d, err := a.runs.GetDevice(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusNotFound, "not_found", "no device "+id)
			return
		}
		if err != nil {
			a.internal(w, "get device", err)
			return
		}
		dev = &d
	}
	out := []CatalogFix{}
	for _, f := range catalog.All() {
		cf := CatalogFix{Fix: f, Allowed: true}
		if dev != nil {
			if !f.Supports(dev.OS) {
				continue
			}
			if reason := deviceRefuses(*dev, f); reason != "" {
				cf.Allowed, cf.Refusal = false, reason
			}
			if dev.Inventory != nil {
				cf.NotApplicable = dev.Inventory.FixesNotApplicable[f.ID]
			}
		}
		if reason := roleRefuses(who.Role, f); reason != "" {
			cf.Allowed, cf.Refusal = false, reason
		}
		out = append(out, cf)
	}
	rcs, err := a.recipeCatalog(r.Context(), who, dev)
	if err != nil {
		a.internal(w, "list recipes", err)
		return
	}
	out = append(out, rcs...)
	writeJSON(w, http.StatusOK, map[string]any{"fixes": out, "your_tier": RoleTier(who.Role)})
}

func roleRefuses(role store.Role, f catalog.Fix) string {
	if t := RoleTier(role); t < f.Tier {
		return fmt.Sprintf("%s is a tier %d fix; the %s role may run fixes up to tier %d", f.ID, f.Tier, role, t)
	}
	return ""
}

func deviceRefuses(d store.Device, f catalog.Fix) string {
	if d.RevokedAt != nil {
		return "the device is revoked"
	}
	if !f.Supports(d.OS) {
		return fmt.Sprintf("%s is not available on %s", f.ID, d.OS)
	}
	if len(d.Fixes) > 0 && !slices.Contains(d.Fixes, f.ID) {
		return fmt.Sprintf("the agent on %s does not offer %s: its local policy disables it, or it is an older version", d.Hostname, f.ID)
	}
	return ""
}

// RunRequest is the body of POST /api/v1/devices/{id}/runs and, with a
// target, of POST /api/v1/batches.
type RunRequest struct {
	Fix string `json:"fix"`
	// Params: values may be JSON strings, numbers or booleans.
	Params          map[string]json.RawMessage `json:"params,omitempty"`
	Ticket          string                     `json:"ticket,omitempty"`
	ConsentObtained bool                       `json:"consent_obtained,omitempty"`
	// ExpiresIn is how long the run may wait for an offline device, as a
	// Go duration ("90s", "4h"); default 1h, at most 168h.
	ExpiresIn string `json:"expires_in,omitempty"`
	// Batch targets (POST /api/v1/batches only): one of group, devices, all.
	Group   string   `json:"group,omitempty"`
	Devices []string `json:"devices,omitempty"`
	All     bool     `json:"all,omitempty"`
}

// prepared is a checked run request.
type prepared struct {
	fix     catalog.Fix
	params  map[string]string
	expires time.Duration
	// recipe and stored are set for an organisation recipe.
	recipe *recipe.Recipe
	stored *store.Recipe
	// software is the stored catalog entry install-software names.
	software *store.Recipe
}

// prepareRun checks what does not depend on the device: the fix exists,
// the caller's role may run it, the parameters pass the catalog's rules.
// It writes the error response itself.
func (a *API) prepareRun(w http.ResponseWriter, r *http.Request, who Caller, req RunRequest) (prepared, bool) {
	f, ok := catalog.Get(req.Fix)
	var rcp *recipe.Recipe
	var stored *store.Recipe
	if !ok {
		sr, p, found, err := a.lookupRecipe(r.Context(), req.Fix)
		if err != nil {
			a.internal(w, "look up recipe", err)
			return prepared{}, false
		}
		if !found {
			writeError(w, http.StatusBadRequest, "unknown_fix", fmt.Sprintf("%q is not in the fix catalog nor a published recipe; GET /api/v1/catalog lists the fixes", clip(req.Fix)))
			return prepared{}, false
		}
		f, rcp, stored = p.Fix(), &p, &sr
	}
	if reason := roleRefuses(who.Role, f); reason != "" {
		a.audit(r, who, "run.deny", r.URL.Path, "denied", map[string]any{"fix": f.ID, "reason": reason})
		writeError(w, http.StatusForbidden, "forbidden", reason)
		return prepared{}, false
	}
	raw := map[string]string{}
	for k, v := range req.Params {
		s, err := paramString(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_params", fmt.Sprintf("parameter %q: %v", clip(k), err))
			return prepared{}, false
		}
		raw[k] = s
	}
	params, err := f.Validate(raw)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_params", err.Error())
		return prepared{}, false
	}
	if len(req.Ticket) > 64 {
		writeError(w, http.StatusBadRequest, "bad_request", "ticket is longer than 64 characters")
		return prepared{}, false
	}
	if req.Ticket != "" {
		// A run goes on its ticket's timeline: refuse a ticket that does
		// not exist rather than lose that link silently.
		if _, err := a.runs.GetTicket(r.Context(), req.Ticket); errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no ticket %q; name a ticket by its id (GET /api/v1/tickets)", clip(req.Ticket)))
			return prepared{}, false
		} else if err != nil {
			a.internal(w, "get ticket", err)
			return prepared{}, false
		}
	}
	expires := DefaultRunExpiry
	if req.ExpiresIn != "" {
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil || d < minRunExpiry || d > MaxRunExpiry {
			writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("expires_in must be a duration between %s and %s, e.g. \"4h\"", minRunExpiry, MaxRunExpiry))
			return prepared{}, false
		}
		expires = d
	}
	p := prepared{fix: f, params: params, expires: expires, recipe: rcp, stored: stored}
	if f.ID == catalog.InstallSoftware {
		sr, found, err := a.lookupSoftware(r.Context(), params["entry"])
		if err != nil {
			a.internal(w, "look up software entry", err)
			return prepared{}, false
		}
		if !found {
			writeError(w, http.StatusBadRequest, "not_in_catalog", fmt.Sprintf("%q is not in the signed software catalog; "+
				"GET /api/v1/recipes lists the published entries (kind software)", clip(params["entry"])))
			return prepared{}, false
		}
		p.software = &sr
	}
	return p, true
}

// paramString turns a JSON string, number or boolean into the text the
// catalog validates.
func paramString(v json.RawMessage) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return "", err
	}
	switch x := x.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		return strconv.FormatBool(x), nil
	case nil:
		return "", nil
	}
	return "", errors.New("must be a string, number or boolean")
}

func (a *API) newRun(who Caller, d store.Device, p prepared, req RunRequest, batch string) store.Run {
	now := a.cfg.Now()
	return store.Run{ID: wire.NewID(), DeviceID: d.ID, Fix: p.fix.ID, Params: p.params, Ticket: req.Ticket, BatchID: batch,
		RequestedBy: who.Name, RequesterRole: who.Role, Tier: RoleTier(who.Role), ConsentObtained: req.ConsentObtained,
		State: store.RunQueued, CreatedAt: now, ExpiresAt: now.Add(p.expires)}
}

func (a *API) createRun(w http.ResponseWriter, r *http.Request, who Caller) {
	d, ok := a.deviceRow(w, r)
	if !ok {
		return
	}
	wait, ok := runWait(w, r)
	if !ok {
		return
	}
	var req RunRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Group != "" || req.All || len(req.Devices) > 0 {
		writeError(w, http.StatusBadRequest, "bad_request", "group, devices and all belong to POST /api/v1/batches")
		return
	}
	p, ok := a.prepareRun(w, r, who, req)
	if !ok {
		return
	}
	if reason := a.runRefuses(r.Context(), d, p); reason != "" {
		status, code := http.StatusUnprocessableEntity, "not_applicable"
		if d.RevokedAt != nil {
			status, code = http.StatusConflict, "revoked"
		}
		writeError(w, status, code, reason)
		return
	}
	run := a.newRun(who, d, p, req, "")
	if a.cfg.IsConnected != nil && a.cfg.DispatchRun != nil && a.cfg.IsConnected(d) {
		run.State = store.RunSent
	}
	// Listening before the run goes out, so a quick result is not missed.
	var done <-chan struct{}
	if wait > 0 && a.cfg.WaitRun != nil {
		var stop func()
		done, stop = a.cfg.WaitRun(run.ID)
		defer stop()
	}
	ev := a.auditEvent(r, who, "run.request", d.ID, "ok", map[string]any{"run": run.ID, "fix": run.Fix, "params": run.Params,
		"ticket": run.Ticket, "consent_obtained": run.ConsentObtained})
	if err := a.runs.CreateRuns(r.Context(), nil, []store.Run{run}, ev); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusConflict, "revoked", "the device was revoked")
			return
		}
		a.internal(w, "create run", err)
		return
	}
	delivered := false
	if a.cfg.DispatchRun != nil {
		var err error
		if delivered, err = a.cfg.DispatchRun(r.Context(), run); err != nil {
			// The run stays queued and goes out at the next connection.
			a.log.Warn("dispatch run", "run", run.ID, "err", err)
		}
	}
	if delivered {
		run.State = store.RunSent
	}
	status := http.StatusAccepted
	if done != nil {
		// The caller asked to wait for the result: the run as stored once
		// it has one (or the wait is over), 200 when it is final.
		if !waitRun(r.Context(), done, wait) {
			return
		}
		stored, err := a.runs.GetRun(r.Context(), run.ID)
		if err != nil {
			a.internal(w, "get run", err)
			return
		}
		run = stored
		if runFinal(run.State) {
			status = http.StatusOK
		}
	}
	w.Header().Set("Location", "/api/v1/runs/"+run.ID)
	writeJSON(w, status, map[string]any{"run": run, "delivered": delivered})
}

// runWait reads the wait parameter: how long a request may wait for a
// run's result (0 when absent). It writes the error response itself.
func runWait(w http.ResponseWriter, r *http.Request) (time.Duration, bool) {
	s := r.URL.Query().Get("wait")
	if s == "" {
		return 0, true
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d > maxRunWait {
		writeError(w, http.StatusBadRequest, "bad_request", "wait must be a duration up to "+maxRunWait.String()+", e.g. 5s")
		return 0, false
	}
	return d, true
}

// waitRun waits until done is closed or wait has passed; false when the
// caller went away first.
func waitRun(ctx context.Context, done <-chan struct{}, wait time.Duration) bool {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	case <-ctx.Done():
		return false
	}
	return true
}

func (a *API) getRun(w http.ResponseWriter, r *http.Request, who Caller) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	wait, ok := runWait(w, r)
	if !ok {
		return
	}
	var stop func()
	var done <-chan struct{}
	if wait > 0 && a.cfg.WaitRun != nil {
		done, stop = a.cfg.WaitRun(id)
		defer stop()
	}
	run, err := a.runs.GetRun(r.Context(), id)
	if err == nil && !runFinal(run.State) && done != nil {
		if !waitRun(r.Context(), done, wait) {
			return
		}
		run, err = a.runs.GetRun(r.Context(), id)
	}
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no run "+id)
		return
	}
	if err != nil {
		a.internal(w, "get run", err)
		return
	}
	writeJSON(w, http.StatusOK, run)
}

func runFinal(state string) bool {
	return state == store.RunDone || state == store.RunExpired || state == store.RunCancelled
}

func (a *API) listRuns(w http.ResponseWriter, r *http.Request, who Caller) {
	q := r.URL.Query()
	f := store.RunFilter{DeviceID: q.Get("device"), Ticket: q.Get("ticket"), BatchID: q.Get("batch"), State: q.Get("state")}
	if id := r.PathValue("id"); id != "" {
		d, ok := a.device(w, r)
		if !ok {
			return
		}
		f.DeviceID = d.ID
	}
	if f.State != "" && !slices.Contains([]string{store.RunQueued, store.RunSent, store.RunDone, store.RunExpired, store.RunCancelled}, f.State) {
		writeError(w, http.StatusBadRequest, "bad_request", "state must be queued, sent, done, expired or cancelled")
		return
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "bad_request", "limit must be 1 to 1000")
			return
		}
		f.Limit = n
	}
	runs, err := a.runs.ListRuns(r.Context(), f)
	if err != nil {
		a.internal(w, "list runs", err)
		return
	}
	if runs == nil {
		runs = []store.Run{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": runs})
}

func (a *API) cancelRun(w http.ResponseWriter, r *http.Request, who Caller) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	run, err := a.runs.GetRun(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no run "+id)
		return
	}
	if err != nil {
		a.internal(w, "get run", err)
		return
	}
	if run.RequestedBy != who.Name && who.Role.Rank() <= run.RequesterRole.Rank() {
		writeError(w, http.StatusForbidden, "forbidden", "only the requester or a higher role may cancel this run")
		return
	}
	err = a.runs.CancelRun(r.Context(), id, a.cfg.Now())
	if errors.Is(err, store.ErrRunNotQueued) {
		writeError(w, http.StatusConflict, "not_queued", err.Error())
		return
	}
	if err != nil {
		a.internal(w, "cancel run", err)
		return
	}
	a.audit(r, who, "run.cancel", run.DeviceID, "ok", map[string]any{"run": id, "fix": run.Fix})
	run, _ = a.runs.GetRun(r.Context(), id)
	writeJSON(w, http.StatusOK, run)
}

func (a *API) runBundle(w http.ResponseWriter, r *http.Request, who Caller) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	name, b, err := a.runs.RunBundle(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "run "+id+" has no bundle")
		return
	}
	if err != nil {
		a.internal(w, "read bundle", err)
		return
	}
	a.audit(r, who, "run.bundle.download", id, "ok", nil)
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+safeFilename(name, id)+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// safeFilename keeps an agent-chosen file name to a harmless character set.
func safeFilename(name, fallback string) string {
	var b strings.Builder
	for _, r := range name {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 || b.Len() > 100 {
		return fallback + ".tar.gz"
	}
	return b.String()
}

func (a *API) createBatch(w http.ResponseWriter, r *http.Request, who Caller) {
	var req RunRequest
	if !decodeBody(w, r, &req) {
		return
	}
	targets := 0
	for _, set := range []bool{req.Group != "", req.All, len(req.Devices) > 0} {
		if set {
			targets++
		}
	}
	if targets != 1 {
		writeError(w, http.StatusBadRequest, "bad_request", "name exactly one target: group, devices or all")
		return
	}
	if req.All && who.Role != store.RoleAdmin {
		writeError(w, http.StatusForbidden, "forbidden", "only admins may run a fix on every device; name a group or devices")
		return
	}
	p, ok := a.prepareRun(w, r, who, req)
	if !ok {
		return
	}
	var devices []store.Device
	target := "all"
	switch {
	case len(req.Devices) > 0:
		target = "devices"
		if len(req.Devices) > MaxBatchDevices*20 {
			writeError(w, http.StatusBadRequest, "bad_request", "too many devices in one request")
			return
		}
		for _, id := range req.Devices {
			if err := wire.ValidateDeviceID(id); err != nil {
				writeError(w, http.StatusBadRequest, "bad_request", err.Error())
				return
			}
			d, err := a.runs.GetDevice(r.Context(), id)
			if errors.Is(err, store.ErrNotFound) {
				writeError(w, http.StatusNotFound, "not_found", "no device "+id)
				return
			}
			if err != nil {
				a.internal(w, "get device", err)
				return
			}
			devices = append(devices, d)
		}
	default:
		if req.Group != "" {
			target = "group:" + req.Group
		}
		ds, err := a.runs.ListDevices(r.Context(), store.ListDevicesOptions{Group: req.Group})
		if err != nil {
			a.internal(w, "list devices", err)
			return
		}
		devices = ds
	}
	if who.Role != store.RoleAdmin && len(devices) > MaxBatchDevices {
		writeError(w, http.StatusForbidden, "forbidden", fmt.Sprintf("%d devices; roles below admin may run a fix on at most %d at once", len(devices), MaxBatchDevices))
		return
	}
	batch := &store.RunBatch{ID: wire.NewID(), Fix: p.fix.ID, Params: p.params, Target: target, RequestedBy: who.Name, CreatedAt: a.cfg.Now()}
	var runs []store.Run
	skipped := []map[string]string{}
	for _, d := range devices {
		if reason := a.runRefuses(r.Context(), d, p); reason != "" {
			skipped = append(skipped, map[string]string{"device": d.ID, "hostname": d.Hostname, "reason": reason})
			continue
		}
		runs = append(runs, a.newRun(who, d, p, req, batch.ID))
	}
	if len(runs) == 0 {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "no device in the target can run " + p.fix.ID, "code": "not_applicable", "skipped": skipped})
		return
	}
	ev := a.auditEvent(r, who, "run.batch", target, "ok", map[string]any{"batch": batch.ID, "fix": p.fix.ID, "params": p.params,
		"runs": len(runs), "skipped": len(skipped)})
	if err := a.runs.CreateRuns(r.Context(), batch, runs, ev); err != nil {
		a.internal(w, "create batch", err)
		return
	}
	if a.cfg.DispatchRun != nil {
		for _, run := range runs {
			if _, err := a.cfg.DispatchRun(r.Context(), run); err != nil {
				a.log.Warn("dispatch run", "run", run.ID, "err", err)
			}
		}
	}
	b, err := a.runs.GetRunBatch(r.Context(), batch.ID)
	if err != nil {
		a.internal(w, "read batch", err)
		return
	}
	w.Header().Set("Location", "/api/v1/batches/"+batch.ID)
	writeJSON(w, http.StatusAccepted, map[string]any{"batch": b, "skipped": skipped})
}

func (a *API) getBatch(w http.ResponseWriter, r *http.Request, who Caller) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	b, err := a.runs.GetRunBatch(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no batch "+id)
		return
	}
	if err != nil {
		a.internal(w, "get batch", err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:64] + "…"
}

// pathID reads the {id} of a run or batch route, refusing malformed ids.
func pathID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if err := wire.ValidateRunID(id); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return "", false
	}
	return id, true
}
