package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/wire"
)

// secondFactorStore is what the second-factor routes call on the store.
type secondFactorStore interface {
	SecondFactorRoles(ctx context.Context) (map[store.Role]bool, error)
	SetSecondFactorRoles(ctx context.Context, roles map[store.Role]bool) error
	SecondFactorUsers(ctx context.Context) (map[string]bool, error)
	ClearSecondFactor(ctx context.Context, userID string) error
}

// Second factors: which roles must log in with one, which users have one,
// and an admin's reset for a user who lost theirs (they set it up again at
// their next login when their role requires it). Users set their own up
// in the console (/account), never through the API.
func (a *API) secondFactorRoutes() []Route {
	return []Route{
		{"GET /api/v1/settings/second-factor", store.RoleAdmin, a.getSecondFactor},
		{"PUT /api/v1/settings/second-factor", store.RoleAdmin, a.putSecondFactor},
		{"POST /api/v1/users/{id}/second-factor/reset", store.RoleAdmin, a.resetSecondFactor},
	}
}

// SecondFactorSettings is the answer of GET /api/v1/settings/second-factor:
// for each role whether it must log in with a second factor, and the
// names of the users who have one.
type SecondFactorSettings struct {
	Required map[store.Role]bool `json:"required"`
	Users    []string            `json:"users"`
}

func (a *API) getSecondFactor(w http.ResponseWriter, r *http.Request, who Caller) {
	a.writeSecondFactor(w, r)
}

func (a *API) writeSecondFactor(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	roles, err := a.factors.SecondFactorRoles(ctx)
	if err != nil {
		a.internal(w, "second factor roles", err)
		return
	}
	ids, err := a.factors.SecondFactorUsers(ctx)
	if err != nil {
		a.internal(w, "second factor users", err)
		return
	}
	us, err := a.users.ListUsers(ctx)
	if err != nil {
		a.internal(w, "list users", err)
		return
	}
	out := SecondFactorSettings{Required: map[store.Role]bool{}, Users: []string{}}
	for _, role := range store.Roles {
		out.Required[role] = roles[role]
	}
	for _, u := range us {
		if ids[u.ID] {
			out.Users = append(out.Users, u.Name)
		}
	}
	slices.Sort(out.Users)
	writeJSON(w, http.StatusOK, out)
}

// putSecondFactor takes the roles that must log in with a second factor,
// each role by name: {"admin": true, "tier3": true, "tier1": false}. A role
// left out keeps its setting.
func (a *API) putSecondFactor(w http.ResponseWriter, r *http.Request, who Caller) {
	var req map[string]json.RawMessage
	if !decodeBody(w, r, &req) {
		return
	}
	roles, err := a.factors.SecondFactorRoles(r.Context())
	if err != nil {
		a.internal(w, "second factor roles", err)
		return
	}
	names := make([]string, len(store.Roles))
	for i, role := range store.Roles {
		names[i] = string(role)
	}
	detail := map[string]any{}
	for k, v := range req {
		role := store.Role(k)
		var on bool
		if !role.Valid() {
			writeError(w, http.StatusBadRequest, "bad_request", "unknown role "+strconv.Quote(wire.Clip(k, 40))+"; the roles are "+strings.Join(names, ", "))
			return
		}
		if err := json.Unmarshal(v, &on); err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", "role "+k+": want true or false")
			return
		}
		roles[role] = on
		detail[k] = on
	}
	if err := a.factors.SetSecondFactorRoles(r.Context(), roles); err != nil {
		a.internal(w, "set second factor roles", err)
		return
	}
	a.audit(r, who, "settings.second_factor", "second_factor", "ok", detail)
	a.writeSecondFactor(w, r)
}

func (a *API) resetSecondFactor(w http.ResponseWriter, r *http.Request, who Caller) {
	u, ok := a.user(w, r)
	if !ok {
		return
	}
	if err := a.factors.ClearSecondFactor(r.Context(), u.ID); err != nil {
		a.internal(w, "reset second factor", err)
		return
	}
	a.audit(r, who, "user.second_factor.reset", u.Name, "ok", nil)
	writeJSON(w, http.StatusOK, map[string]any{"id": u.ID, "name": u.Name, "second_factor_reset": true})
}
