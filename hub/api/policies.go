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
	PutPolicy(ctx context.Context, group, site string, doc policy.Document, by string, at time.Time) (store.Policy, error)
	GetPolicy(ctx context.Context, group, site string, version int64) (store.Policy, error)
	ListPolicies(ctx context.Context) ([]store.Policy, error)
	PolicyVersions(ctx context.Context, group, site string) ([]store.Policy, error)
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

// policyGroup reads the group of a policy route and its ?site= ("" or
// none: the group's policy shared by every site).
func (a *API) policyGroup(w http.ResponseWriter, r *http.Request) (string, string, bool) {
	g := r.PathValue("group")
	if err := store.ValidateGroup(g); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "group: "+err.Error())
		return "", "", false
	}
	site := r.URL.Query().Get("site")
	if site != "" {
		if err := store.ValidateSite(site); err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", err.Error()+"; leave site out for the policy shared by every site")
			return "", "", false
		}
	}
	return g, site, true
}

// policyName names a group's policy of site in messages.
func policyName(g, site string) string {
	if site == "" {
		return "group " + g + "'s shared policy"
	}
	return "group " + g + "'s policy for site " + site
}

// getPolicy answers a group's newest policy, or ?version=N.
func (a *API) getPolicy(w http.ResponseWriter, r *http.Request, who Caller) {
	g, site, ok := a.policyGroup(w, r)
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
	p, err := a.policies.GetPolicy(r.Context(), g, site, version)
	if errors.Is(err, store.ErrNotFound) {
		msg := "there is no " + policyName(g, site) + " (its devices get the next in line: docs/policy.md, Sites)"
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
	g, site, ok := a.policyGroup(w, r)
	if !ok {
		return
	}
	vs, err := a.policies.PolicyVersions(r.Context(), g, site)
	if err != nil {
		a.internal(w, "policy versions", err)
		return
	}
	if vs == nil {
		vs = []store.Policy{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"group": g, "site": site, "versions": vs})
}

// putPolicy saves the body as the group's next policy version (?site=S:
// kept to the group's devices of site S), audits it and sends it to the
// group's connected devices. An admin limited to some sites may save only
// policies kept to one of them.
func (a *API) putPolicy(w http.ResponseWriter, r *http.Request, who Caller) {
	g, site, ok := a.policyGroup(w, r)
	if !ok {
		return
	}
	if who.Sites != nil && (site == "" || !store.SeesSite(who.Sites, site)) {
		a.audit(r, who, "policy.set", g, "denied", map[string]any{"site": site, "reason": "site-limited caller"})
		writeError(w, http.StatusForbidden, "site_limited", "you may save only policies kept to your sites ("+joinSites(who.Sites)+"): add ?site=NAME")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, policy.MaxSize))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "a policy is at most "+strconv.Itoa(policy.MaxSize)+" bytes")
		return
	}
	p, refused, err := a.savePolicy(r, who, g, site, body)
	switch {
	case refused != nil:
		writeJSON(w, http.StatusBadRequest, refused)
	case err != nil:
		a.internal(w, "save policy", err)
	default:
		writeJSON(w, http.StatusOK, p)
	}
}

func (a *API) savePolicy(r *http.Request, who Caller, g, site string, body []byte) (store.Policy, *policyError, error) {
	doc, err := policy.Decode(body)
	if err != nil {
		refused := &policyError{Error: err.Error(), Code: "invalid_policy"}
		var ve *policy.ValidationError
		if errors.As(err, &ve) {
			refused.Problems = ve.Problems
		}
		a.audit(r, who, "policy.set", g, "refused", map[string]any{"site": site, "error": err.Error()})
		return store.Policy{}, refused, nil
	}
	p, err := a.policies.PutPolicy(r.Context(), g, site, doc, who.Name, a.cfg.Now())
	if err != nil {
		return p, nil, err
	}
	a.audit(r, who, "policy.set", g, "ok", map[string]any{"site": site, "version": p.Version, "checks": doc.CheckNames()})
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
