package console

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/policy"
)

// policyStore is what the policy pages read from the store.
type policyStore interface {
	ListPolicies(ctx context.Context) ([]store.Policy, error)
	GetPolicy(ctx context.Context, group, site string, version int64) (store.Policy, error)
	PolicyVersions(ctx context.Context, group, site string) ([]store.Policy, error)
	ListSites(ctx context.Context) ([]string, error)
	DeviceGroups(ctx context.Context) ([]string, error)
	FailingChecks(ctx context.Context) ([]store.FailingCheck, error)
	DevicePolicyState(ctx context.Context, id, group string) (store.DevicePolicyState, error)
}

// Device policies: every technician reads them (they say what the agents
// check); admins edit them in a form whose script saves through
// PUT /api/v1/policies/{group}, which validates, versions and audits.
func init() {
	Register(Page{Pattern: "GET /policies", Role: store.RoleTier1, Nav: "Policies", NavOrder: 80, Handle: policiesPage})
	Register(Page{Pattern: "GET /policies/{group}", Role: store.RoleTier1, Handle: policyPage})
}

// policyCheckRow is a declarative check with where it fails.
type policyCheckRow struct {
	policy.Check
	Kind             string
	Failing, Warning int
}

type policyRow struct {
	store.Policy
	Checks []policyCheckRow
}

type policiesData struct {
	Policies []policyRow
	// Groups are device groups without a shared policy of their own.
	Groups []string
}

// checkRows lists doc's checks with the devices where each fails.
func checkRows(doc policy.Document, failing []store.FailingCheck) []policyCheckRow {
	var out []policyCheckRow
	for _, c := range doc.Checks {
		r := policyCheckRow{Check: c, Kind: c.Kind()}
		if i := slices.IndexFunc(failing, func(f store.FailingCheck) bool { return f.Name == c.Name }); i >= 0 {
			r.Failing, r.Warning = failing[i].Failing, failing[i].Warning
		}
		out = append(out, r)
	}
	return out
}

func policiesPage(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	ctx := r.Context()
	ps, err := c.policies.ListPolicies(ctx)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	failing, err := c.policies.FailingChecks(ctx)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	groups, err := c.policies.DeviceGroups(ctx)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	var d policiesData
	for _, p := range ps {
		d.Policies = append(d.Policies, policyRow{Policy: p, Checks: checkRows(p.Doc, failing)})
	}
	for _, g := range append(groups, store.DefaultGroup) {
		if !slices.ContainsFunc(ps, func(p store.Policy) bool { return p.Group == g && p.Site == "" }) && !slices.Contains(d.Groups, g) {
			d.Groups = append(d.Groups, g)
		}
	}
	c.Render(w, r, req, http.StatusOK, "policies.html", View{Title: "Policies", Data: d})
}

type policyData struct {
	Group string
	// Site is the site the policy is kept to ("" shared by every site);
	// Sites are the caller's, to open the group's policy of another;
	// CanSave: the caller may save this one (an admin, and of every site
	// for a shared policy).
	Site     string
	Sites    []string
	CanSave  bool
	New      bool
	Policy   store.Policy
	Versions []store.Policy
	Checks   []policyCheckRow
	// Doc is the document as JSON, which the form's script fills the form
	// from; Kinds, Fixes and Problems are the form's choices.
	Doc   string
	Kinds []string
	Fixes []catalog.Fix
}

// policyPage shows a group's policy (?version=N: an older one) as a form;
// only admins can save it.
func policyPage(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	g := r.PathValue("group")
	if err := store.ValidateGroup(g); err != nil {
		c.Error(w, r, req, http.StatusNotFound, "No such group: "+err.Error())
		return
	}
	ctx := r.Context()
	site := r.URL.Query().Get("site")
	if site != "" {
		if err := store.ValidateSite(site); err != nil {
			c.Error(w, r, req, http.StatusBadRequest, err.Error()+" Leave the site out for the policy every site shares.")
			return
		}
		if !store.SeesSite(req.User.Sites, site) {
			c.Error(w, r, req, http.StatusNotFound, "No such site among yours.")
			return
		}
	}
	d := policyData{Group: g, Site: site, Kinds: policy.Kinds, Fixes: catalog.All(),
		CanSave: req.Can(store.RoleAdmin) && (req.User.Sites == nil || site != "")}
	var version int64
	if v := r.URL.Query().Get("version"); v != "" {
		if err := json.Unmarshal([]byte(v), &version); err != nil || version < 1 {
			c.Error(w, r, req, http.StatusBadRequest, "The version is a number from 1.")
			return
		}
	}
	p, err := c.policies.GetPolicy(ctx, g, site, version)
	switch {
	case errors.Is(err, store.ErrNotFound) && version == 0:
		d.New = true
	case err != nil:
		c.Fail(w, r, req, err)
		return
	}
	if version > 0 {
		d.Site = p.Site
	}
	d.Policy = p
	b, err := json.Marshal(p.Doc)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	d.Doc = string(b)
	failing, err := c.policies.FailingChecks(ctx)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	d.Checks = checkRows(p.Doc, failing)
	if d.Versions, err = c.policies.PolicyVersions(ctx, g, d.Site); err != nil {
		c.Fail(w, r, req, err)
		return
	}
	if d.Sites, err = c.policies.ListSites(ctx); err != nil {
		c.Fail(w, r, req, err)
		return
	}
	c.Render(w, r, req, http.StatusOK, "policy.html", View{Title: "Policy " + g, Scripts: []string{"policy.js"}, Data: d})
}

// devicePolicyView is the policy line of a device page.
type devicePolicyView struct {
	store.DevicePolicyState
	Problem string
}

func loadDevicePolicy(ctx context.Context, c *Console, id, group string) (devicePolicyView, error) {
	st, err := c.policies.DevicePolicyState(ctx, id, group)
	v := devicePolicyView{DevicePolicyState: st}
	if st.Applied != nil && st.Applied.Error != "" {
		v.Problem = strings.TrimSpace(st.Applied.Error)
	}
	return v, err
}
