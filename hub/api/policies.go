package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/policy"
)

// policiesStore is what the policy routes call on the store.
type policiesStore interface {
	PutPolicy(ctx context.Context, group string, doc policy.Document, by string, at time.Time) (store.Policy, error)
	GetPolicy(ctx context.Context, group string, version int64) (store.Policy, error)
	PolicyFor(ctx context.Context, group string) (store.Policy, error)
	ListPolicies(ctx context.Context) ([]store.Policy, error)
	PolicyVersions(ctx context.Context, group string) ([]store.Policy, error)
	DevicePolicyState(ctx context.Context, id, group string) (store.DevicePolicyState, error)
}

// policyError is the body of a refused policy: the usual error and code,
// and each problem with its field path.
type policyError struct {
	Error    string           `json:"error"`
	Code     string           `json:"code"`
	Problems []policy.Problem `json:"problems"`
}

func (a *API) listPolicies(w http.ResponseWriter, r *http.Request, who Caller) {
	ps, err := a.policies.ListPolicies(r.Context())
	if err != nil {
		a.internal(w, "list policies", err)
		return
	}
	if ps == nil {
		ps = []store.Policy{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"policies": ps})
}

func (a *API) policyGroup(w http.ResponseWriter, r *http.Request) (string, bool) {
	g := r.PathValue("group")
	if err := store.ValidateGroup(g); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "group: "+err.Error())
		return "", false
	}
	return g, true
}

// getPolicy answers a group's newest policy, or ?version=N.
func (a *API) getPolicy(w http.ResponseWriter, r *http.Request, who Caller) {
	g, ok := a.policyGroup(w, r)
	if !ok {
		return
	}
	var version int64
	if s := r.URL.Query().Get("version"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "bad_request", "version must be a number from 1")
			return
		}
		version = n
	}
	p, err := a.policies.GetPolicy(r.Context(), g, version)
	if errors.Is(err, store.ErrNotFound) {
		msg := "group " + g + " has no policy (its devices get the default group's, if any)"
		if version > 0 {
			msg = "group " + g + " has no policy version " + strconv.FormatInt(version, 10)
		}
		writeError(w, http.StatusNotFound, "not_found", msg)
		return
	}
	if err != nil {
		a.internal(w, "get policy", err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (a *API) policyVersions(w http.ResponseWriter, r *http.Request, who Caller) {
	g, ok := a.policyGroup(w, r)
	if !ok {
		return
	}
	vs, err := a.policies.PolicyVersions(r.Context(), g)
	if err != nil {
		a.internal(w, "policy versions", err)
		return
	}
	if vs == nil {
		vs = []store.Policy{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"group": g, "versions": vs})
}

// putPolicy saves the body as the group's next policy version, audits it
// and sends it to the group's connected devices.
func (a *API) putPolicy(w http.ResponseWriter, r *http.Request, who Caller) {
	g, ok := a.policyGroup(w, r)
	if !ok {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, policy.MaxSize))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "a policy is at most "+strconv.Itoa(policy.MaxSize)+" bytes")
		return
	}
	p, refused, err := a.savePolicy(r, who, g, body)
	switch {
	case refused != nil:
		writeJSON(w, http.StatusBadRequest, refused)
	case err != nil:
		a.internal(w, "save policy", err)
	default:
		writeJSON(w, http.StatusOK, p)
	}
}

func (a *API) savePolicy(r *http.Request, who Caller, g string, body []byte) (store.Policy, *policyError, error) {
	doc, err := policy.Decode(body)
	if err != nil {
		refused := &policyError{Error: err.Error(), Code: "invalid_policy"}
		var ve *policy.ValidationError
		if errors.As(err, &ve) {
			refused.Problems = ve.Problems
		}
		a.audit(r, who, "policy.set", g, "refused", map[string]any{"error": err.Error()})
		return store.Policy{}, refused, nil
	}
	p, err := a.policies.PutPolicy(r.Context(), g, doc, who.Name, a.cfg.Now())
	if err != nil {
		return p, nil, err
	}
	a.audit(r, who, "policy.set", g, "ok", map[string]any{"version": p.Version, "checks": doc.CheckNames()})
	if a.cfg.PolicyChanged != nil {
		// The devices get it in the background; a slow device does not
		// hold up the save.
		go a.cfg.PolicyChanged(context.WithoutCancel(r.Context()), g)
	}
	return p, nil, nil
}

// devicePolicy answers which policy a device applies and whether it is
// its group's current one.
func (a *API) devicePolicy(w http.ResponseWriter, r *http.Request, who Caller) {
	d, ok := a.device(w, r)
	if !ok {
		return
	}
	st, err := a.policies.DevicePolicyState(r.Context(), d.ID, d.Group)
	if err != nil {
		a.internal(w, "device policy", err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// declaredChecks lists the declarative checks of every group's newest
// policy.
func (a *API) declaredChecks(ctx context.Context) ([]string, error) {
	ps, err := a.policies.ListPolicies(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range ps {
		for _, n := range p.Doc.CheckNames() {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out, nil
}
