package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/updates"
)

// updatesStore is what the agent update routes call on the store.
type updatesStore interface {
	ListReleases(ctx context.Context) ([]store.Release, error)
	AddRelease(ctx context.Context, r store.Release, content []byte) error
	DeleteRelease(ctx context.Context, version, goos, arch string) error
	RolloutProgress(ctx context.Context) ([]store.RolloutProgress, error)
	SetRollout(ctx context.Context, r store.Rollout) error
	DeleteRollout(ctx context.Context, group string) error
	UpdateStatus(ctx context.Context, group string) ([]store.DeviceUpdate, error)
}

// maxReleaseUpload bounds an uploaded release (manifest, signature, binary).
const maxReleaseUpload = 512 << 20

func (a *API) listReleases(w http.ResponseWriter, r *http.Request, who Caller) {
	rs, err := a.updates.ListReleases(r.Context())
	if err != nil {
		a.internal(w, "list releases", err)
		return
	}
	if rs == nil {
		rs = []store.Release{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"releases": rs})
}

// formFile reads one part of a multipart upload.
func formFile(r *http.Request, name string, limit int64) ([]byte, error) {
	f, _, err := r.FormFile(name)
	if err != nil {
		return nil, errors.New("multipart field " + name + " is missing")
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}

// addRelease takes a multipart form with the fields manifest, signature and
// binary, the three files `scripts/release sign` writes.
func (a *API) addRelease(w http.ResponseWriter, r *http.Request, who Caller) {
	r.Body = http.MaxBytesReader(w, r.Body, maxReleaseUpload)
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "want a multipart form with manifest, signature and binary: "+err.Error())
		return
	}
	defer r.MultipartForm.RemoveAll()
	manifest, err1 := formFile(r, "manifest", 64<<10)
	sig, err2 := formFile(r, "signature", 4<<10)
	bin, err3 := formFile(r, "binary", maxReleaseUpload)
	if err := errors.Join(err1, err2, err3); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	rel, err := updates.PrepareRelease(manifest, string(sig), bin, a.cfg.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	err = a.updates.AddRelease(r.Context(), rel, bin)
	if errors.Is(err, store.ErrExists) {
		writeError(w, http.StatusConflict, "exists", err.Error())
		return
	}
	if err != nil {
		a.internal(w, "add release", err)
		return
	}
	a.audit(r, who, "release.add", rel.Version+" "+rel.OS+"/"+rel.Arch, "ok", map[string]any{"sha256": rel.SHA256, "size": rel.Size})
	writeJSON(w, http.StatusCreated, rel)
}

func (a *API) deleteRelease(w http.ResponseWriter, r *http.Request, who Caller) {
	v, goos, arch := r.PathValue("version"), r.PathValue("os"), r.PathValue("arch")
	err := a.updates.DeleteRelease(r.Context(), v, goos, arch)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", err.Error())
		return
	}
	if err != nil {
		a.internal(w, "delete release", err)
		return
	}
	a.audit(r, who, "release.delete", v+" "+goos+"/"+arch, "ok", nil)
	w.WriteHeader(http.StatusNoContent)
}

// listRollouts shows each group's rollout with its progress: devices by
// version and by the outcome of their update to the rollout's version.
func (a *API) listRollouts(w http.ResponseWriter, r *http.Request, who Caller) {
	ps, err := a.updates.RolloutProgress(r.Context())
	if err != nil {
		a.internal(w, "rollout progress", err)
		return
	}
	if ps == nil {
		ps = []store.RolloutProgress{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"rollouts": ps})
}

func (a *API) setRollout(w http.ResponseWriter, r *http.Request, who Caller) {
	var body struct {
		Version string `json:"version"`
		Percent *int   `json:"percent"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	if body.Version == "" {
		writeError(w, http.StatusBadRequest, "bad_request", `want {"version": "1.4.0", "percent": 10}`)
		return
	}
	pct := 100
	if body.Percent != nil {
		pct = *body.Percent
	}
	if pct < 0 || pct > 100 {
		writeError(w, http.StatusBadRequest, "bad_request", "percent must be 0 to 100")
		return
	}
	ro := store.Rollout{Group: r.PathValue("group"), Version: body.Version, Percent: pct, UpdatedAt: a.cfg.Now(), UpdatedBy: who.Name}
	err := a.updates.SetRollout(r.Context(), ro)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", err.Error())
		return
	}
	if err != nil {
		a.internal(w, "set rollout", err)
		return
	}
	a.audit(r, who, "rollout.set", ro.Group, "ok", map[string]any{"version": ro.Version, "percent": pct})
	writeJSON(w, http.StatusOK, ro)
}

func (a *API) deleteRollout(w http.ResponseWriter, r *http.Request, who Caller) {
	g := r.PathValue("group")
	err := a.updates.DeleteRollout(r.Context(), g)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", err.Error())
		return
	}
	if err != nil {
		a.internal(w, "delete rollout", err)
		return
	}
	a.audit(r, who, "rollout.delete", g, "ok", nil)
	w.WriteHeader(http.StatusNoContent)
}

// updateStatus lists devices with their version and latest update outcome.
func (a *API) updateStatus(w http.ResponseWriter, r *http.Request, who Caller) {
	ds, err := a.updates.UpdateStatus(r.Context(), r.URL.Query().Get("group"))
	if err != nil {
		a.internal(w, "update status", err)
		return
	}
	if ds == nil {
		ds = []store.DeviceUpdate{}
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(len(ds)))
	writeJSON(w, http.StatusOK, map[string]any{"devices": ds})
}
