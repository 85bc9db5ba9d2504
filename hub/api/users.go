package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/tierline/tierline/hub/auth"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/wire"
)

// usersStore is what the user and API-token routes call on the store.
type usersStore interface {
	ListUsers(ctx context.Context) ([]store.User, error)
	CreateUser(ctx context.Context, u store.User) error
	GetUser(ctx context.Context, id string) (store.User, error)
	SetUserRole(ctx context.Context, id string, role store.Role) error
	SetUserDisabled(ctx context.Context, id string, at time.Time) error
	SetUserPassword(ctx context.Context, id, hash string) error
	ListAPITokens(ctx context.Context, userID string) ([]store.APIToken, error)
	GetUserByName(ctx context.Context, name string) (store.User, error)
	CreateAPIToken(ctx context.Context, t store.APIToken, hash []byte) error
	RevokeAPIToken(ctx context.Context, id string, at time.Time) error
	SetUserAvailable(ctx context.Context, id string, available bool) error
}

// User and API token administration: admins only. Passwords and token
// secrets are never stored or returned except a new token's secret, once,
// in the answer that creates it. Every change is audited.
func (a *API) userRoutes() []Route {
	return []Route{
		{"GET /api/v1/users", store.RoleAdmin, a.listUsers},
		{"POST /api/v1/users", store.RoleAdmin, a.createUser},
		{"POST /api/v1/users/{id}/role", store.RoleAdmin, a.setUserRole},
		{"POST /api/v1/users/{id}/disable", store.RoleAdmin, a.disableUser},
		{"POST /api/v1/users/{id}/password", store.RoleAdmin, a.resetPassword},
		{"GET /api/v1/apitokens", store.RoleAdmin, a.listAPITokens},
		{"POST /api/v1/apitokens", store.RoleAdmin, a.createAPIToken},
		{"POST /api/v1/apitokens/{id}/revoke", store.RoleAdmin, a.revokeAPIToken},
		{"PUT /api/v1/me/availability", store.RoleTier1, a.setAvailability},
	}
}

// setAvailability says whether new tickets of the caller's tier may be
// assigned to them automatically: {"available": true}.
func (a *API) setAvailability(w http.ResponseWriter, r *http.Request, who Caller) {
	var req struct {
		Available *bool `json:"available"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Available == nil {
		writeError(w, http.StatusBadRequest, "bad_request", `send {"available": true} or {"available": false}`)
		return
	}
	if err := a.users.SetUserAvailable(r.Context(), who.UserID, *req.Available); err != nil {
		a.internal(w, "set availability", err)
		return
	}
	a.audit(r, who, "user.availability", who.UserID, "ok", map[string]any{"available": *req.Available})
	writeJSON(w, http.StatusOK, map[string]any{"id": who.UserID, "name": who.Name, "available": *req.Available})
}

// ValidUserName reports whether s is a user name the hub accepts: 1-64
// letters, digits, '.', '_', '-' or '@' (as `tierline-hub user add`).
func ValidUserName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-@", r)) {
			return false
		}
	}
	return true
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request, who Caller) {
	us, err := a.users.ListUsers(r.Context())
	if err != nil {
		a.internal(w, "list users", err)
		return
	}
	if us == nil {
		us = []store.User{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": us})
}

// CreateUserRequest is the body of POST /api/v1/users.
type CreateUserRequest struct {
	Name     string     `json:"name"`
	Role     store.Role `json:"role"`
	Password string     `json:"password"`
	// Sites the user works; none: every site.
	Sites []string `json:"sites,omitempty"`
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request, who Caller) {
	var req CreateUserRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if !ValidUserName(req.Name) {
		writeError(w, http.StatusBadRequest, "bad_request", "name must be 1-64 letters, digits, '.', '_', '-' or '@'")
		return
	}
	if !req.Role.Valid() {
		writeError(w, http.StatusBadRequest, "bad_request", "role must be tier1, tier2, tier3 or admin")
		return
	}
	sites, err := store.CheckSites(req.Sites)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "sites: "+err.Error())
		return
	}
	hash, err := auth.HashPassword(req.Password)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	u := store.User{ID: wire.NewID(), Name: req.Name, Role: req.Role, PasswordHash: hash, CreatedAt: a.cfg.Now(), Sites: sites}
	err = a.users.CreateUser(r.Context(), u)
	if errors.Is(err, store.ErrExists) {
		writeError(w, http.StatusConflict, "conflict", "a user named "+req.Name+" already exists; pick another name or change that user's role")
		return
	}
	if err != nil {
		a.internal(w, "create user", err)
		return
	}
	a.audit(r, who, "user.create", u.Name, "ok", map[string]any{"role": u.Role, "id": u.ID, "sites": joinSites(u.Sites)})
	writeJSON(w, http.StatusCreated, u)
}

// user loads the user named by the {id} path value.
func (a *API) user(w http.ResponseWriter, r *http.Request) (store.User, bool) {
	id := r.PathValue("id")
	u, err := a.users.GetUser(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no user with id "+id+"; list users with GET /api/v1/users")
		return u, false
	}
	if err != nil {
		a.internal(w, "get user", err)
		return u, false
	}
	return u, true
}

func (a *API) userChangeError(w http.ResponseWriter, what string, err error) {
	switch {
	case errors.Is(err, store.ErrLastAdmin):
		writeError(w, http.StatusConflict, "last_admin", store.ErrLastAdmin.Error())
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "the user no longer exists")
	default:
		a.internal(w, what, err)
	}
}

func (a *API) setUserRole(w http.ResponseWriter, r *http.Request, who Caller) {
	var req struct {
		Role store.Role `json:"role"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if !req.Role.Valid() {
		writeError(w, http.StatusBadRequest, "bad_request", "role must be tier1, tier2, tier3 or admin")
		return
	}
	u, ok := a.user(w, r)
	if !ok {
		return
	}
	if err := a.users.SetUserRole(r.Context(), u.ID, req.Role); err != nil {
		a.userChangeError(w, "set user role", err)
		return
	}
	a.audit(r, who, "user.role", u.Name, "ok", map[string]any{"role": req.Role, "was": u.Role})
	u.Role = req.Role
	writeJSON(w, http.StatusOK, u)
}

// disableUser disables a user ({"disabled": true}, the default) or enables
// one again ({"disabled": false}). A disabled user's sessions and API
// tokens stop working at once.
func (a *API) disableUser(w http.ResponseWriter, r *http.Request, who Caller) {
	var req struct {
		Disabled *bool `json:"disabled"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	u, ok := a.user(w, r)
	if !ok {
		return
	}
	disable := req.Disabled == nil || *req.Disabled
	if disable && u.ID == who.UserID {
		writeError(w, http.StatusConflict, "self", "you cannot disable your own account; another admin can")
		return
	}
	at, action := a.cfg.Now(), "user.disable"
	if !disable {
		at, action = time.Time{}, "user.enable"
	}
	if err := a.users.SetUserDisabled(r.Context(), u.ID, at); err != nil {
		a.userChangeError(w, "disable user", err)
		return
	}
	a.audit(r, who, action, u.Name, "ok", nil)
	u.DisabledAt = nil
	if disable {
		u.DisabledAt = &at
	}
	writeJSON(w, http.StatusOK, u)
}

// resetPassword sets a new password for a user: {"password": "..."}.
func (a *API) resetPassword(w http.ResponseWriter, r *http.Request, who Caller) {
	var req struct {
		Password string `json:"password"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	u, ok := a.user(w, r)
	if !ok {
		return
	}
	hash, err := auth.HashPassword(req.Password)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if err := a.users.SetUserPassword(r.Context(), u.ID, hash); err != nil {
		a.userChangeError(w, "reset password", err)
		return
	}
	a.audit(r, who, "user.password", u.Name, "ok", nil)
	writeJSON(w, http.StatusOK, map[string]any{"id": u.ID, "name": u.Name, "password_reset": true})
}

// APITokenInfo is an API token with its owner's name and role.
type APITokenInfo struct {
	store.APIToken
	User string     `json:"user"`
	Role store.Role `json:"role"`
}

func (a *API) listAPITokens(w http.ResponseWriter, r *http.Request, who Caller) {
	us, err := a.users.ListUsers(r.Context())
	if err != nil {
		a.internal(w, "list users", err)
		return
	}
	byID := map[string]store.User{}
	for _, u := range us {
		byID[u.ID] = u
	}
	ts, err := a.users.ListAPITokens(r.Context(), "")
	if err != nil {
		a.internal(w, "list API tokens", err)
		return
	}
	out := make([]APITokenInfo, 0, len(ts))
	for _, t := range ts {
		u := byID[t.UserID]
		out = append(out, APITokenInfo{APIToken: t, User: u.Name, Role: u.Role})
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
}

// CreateAPITokenRequest is the body of POST /api/v1/apitokens.
type CreateAPITokenRequest struct {
	User    string `json:"user"`    // user name
	Expires string `json:"expires"` // Go duration, default 2160h (90 days)
	Note    string `json:"note"`
	// ReadOnly tokens may only read: every POST, PUT or DELETE is refused.
	ReadOnly bool `json:"read_only"`
	// Sites narrow the token to these of its user's sites; none: the
	// user's. A site the user does not work is refused.
	Sites []string `json:"sites,omitempty"`
}

func (a *API) createAPIToken(w http.ResponseWriter, r *http.Request, who Caller) {
	var req CreateAPITokenRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if !ValidUserName(req.User) {
		writeError(w, http.StatusBadRequest, "bad_request", "user must name an existing user")
		return
	}
	d := 90 * 24 * time.Hour
	if req.Expires != "" {
		var err error
		if d, err = time.ParseDuration(req.Expires); err != nil || d <= 0 || d > 366*24*time.Hour {
			writeError(w, http.StatusBadRequest, "bad_request", "expires must be a duration from 1s to 8784h, such as 720h")
			return
		}
	}
	if len(req.Note) > 200 || strings.ContainsAny(req.Note, "\r\n") {
		writeError(w, http.StatusBadRequest, "bad_request", "note must be one line of at most 200 characters")
		return
	}
	u, err := a.users.GetUserByName(r.Context(), req.User)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no user named "+req.User+"; create the user first")
		return
	}
	if err != nil {
		a.internal(w, "get user", err)
		return
	}
	if u.DisabledAt != nil {
		writeError(w, http.StatusConflict, "disabled", "user "+u.Name+" is disabled; enable the user first")
		return
	}
	sites, err := store.CheckSites(req.Sites)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "sites: "+err.Error())
		return
	}
	t, secret := NewAPIToken(u.ID, req.Note, a.cfg.Now(), d)
	t.ReadOnly, t.Sites = req.ReadOnly, sites
	err = a.users.CreateAPIToken(r.Context(), t, auth.HashSecret(secret))
	if errors.Is(err, store.ErrSitesExceedUser) {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if err != nil {
		a.internal(w, "create API token", err)
		return
	}
	a.audit(r, who, "apitoken.create", t.ID, "ok", map[string]any{"user": u.Name, "expires_at": t.ExpiresAt, "read_only": t.ReadOnly, "sites": joinSites(store.NarrowSites(u.Sites, t.Sites))})
	writeJSON(w, http.StatusCreated, map[string]any{"token": APITokenInfo{APIToken: t, User: u.Name, Role: u.Role}, "secret": secret})
}

// NewAPIToken makes an API token for a user, valid for ttl from now, and
// its secret (shown once; the store keeps only its hash). The API and
// `tierline-hub apitoken create` both mint tokens with it.
func NewAPIToken(userID, note string, now time.Time, ttl time.Duration) (store.APIToken, string) {
	return store.APIToken{ID: wire.NewID()[:12], UserID: userID, Note: note, CreatedAt: now, ExpiresAt: now.Add(ttl)},
		auth.APITokenPrefix + auth.Secret(32)
}

func (a *API) revokeAPIToken(w http.ResponseWriter, r *http.Request, who Caller) {
	id := r.PathValue("id")
	err := a.users.RevokeAPIToken(r.Context(), id, a.cfg.Now())
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no API token "+id+"; list them with GET /api/v1/apitokens")
		return
	}
	if err != nil {
		a.internal(w, "revoke API token", err)
		return
	}
	a.audit(r, who, "apitoken.revoke", id, "ok", nil)
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "revoked": true})
}
