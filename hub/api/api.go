// Package api serves the hub's JSON HTTP API under /api/v1. Every route
// declares the least role allowed to call it; the check runs on the server
// for every request.
//
// # Areas and the store
//
// Each area of the API is one file (devices.go, runs.go, tickets.go, ...)
// holding its routes, its handlers and an interface named after it
// (devicesStore, runsStore, ticketsStore, ...) that lists the store methods
// those handlers call, and nothing else. The API keeps the store once per
// area, typed by that interface (a.devices, a.runs, a.tickets), and a
// handler calls the store only through its own area's field. So a file
// says what it needs from the store, and when a handler needs one more
// method the compiler points at its area's interface: add the method
// there, with the store's signature.
//
// Store, which Config takes, is the union of the area interfaces: the hub
// wires one value (its *store.Store) and New hands it to every area. A new
// area adds its interface to Store and a field to API.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tierline/tierline/hub/auth"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/shared/ratelimit"
	"github.com/tierline/tierline/shared/wire"
)

// Store is everything the API reads and writes in the store: the union of
// the per-area interfaces (see the package doc). The hub passes its
// *store.Store.
type Store interface {
	callerStore       // api.go
	auditStore        // audit.go
	devicesStore      // devices.go
	tokensStore       // tokens.go
	fleetStore        // fleet.go
	runsStore         // runs.go
	ticketsStore      // tickets.go
	problemsStore     // problems.go
	kbStore           // kb.go
	vendorsStore      // vendors.go
	usersStore        // users.go
	updatesStore      // updates.go
	softwareStore     // software.go
	attachmentsStore  // attachments.go
	secondFactorStore // secondfactor.go
	templatesStore    // templates.go
	recipesStore      // recipes.go
	notifyStore       // notifications.go
	policiesStore     // policies.go
	sitesStore        // sites.go
}

// The hub's store keeps satisfying every area's interface.
var _ Store = (*store.Store)(nil)

// callerStore is what every request needs from the store: the user behind
// an API token.
type callerStore interface {
	LookupAPIToken(ctx context.Context, hash []byte, now time.Time) (store.APIToken, store.User, error)
	NoteAPITokenAddress(ctx context.Context, id, addr string) (bool, error)
}

// Config configures the API.
type Config struct {
	// Store is the hub's store; New hands it to each area as that area's
	// interface.
	Store  Store
	Logger *slog.Logger
	Now    func() time.Time
	// OnRevoke is called after a device is revoked, to cut its connection.
	OnRevoke func(deviceID string)
	// IsConnected reports whether a device, as just read from the store,
	// is connected (to this hub, or to another live replica), when known.
	IsConnected func(d store.Device) bool
	// RequestChecks asks a connected device to run health checks now and
	// returns the request id; ErrOffline when it is not connected.
	RequestChecks func(ctx context.Context, deviceID string, names []string) (string, error)
	// Diagnose runs a connected device's checks now and returns them, for
	// a ticket a technician files for its user (the gateway).
	Diagnose tickets.Diagnoser
	// EnrollToken renders a new enrollment token for a secret.
	EnrollToken func(secret string) (string, error)
	// DispatchRun sends a stored run to its device if it is connected and
	// reports whether it went out; otherwise the run waits in the queue.
	DispatchRun func(ctx context.Context, r store.Run) (bool, error)
	// WaitRun returns a channel closed when run id's result is stored.
	WaitRun func(id string) (<-chan struct{}, func())
	// Tickets works tickets; without it the ticket routes answer 503.
	Tickets *tickets.Service
	// Session, if set, authenticates a request without an Authorization
	// header by its console session cookie (hub/console). It returns
	// ErrNoSession when the request carries none, a *SessionError to refuse
	// it (expired session, missing CSRF token, another origin).
	Session func(r *http.Request) (Caller, error)
	// NotificationsRead, if set, hears a user's unread count after they
	// marked notifications read (the console updates their other pages'
	// bells).
	NotificationsRead func(user string, unread int)
	// PolicyChanged sends a group's new policy to its connected devices;
	// GroupChanged sends a device moved to another group that group's.
	PolicyChanged func(ctx context.Context, group string)
	GroupChanged  func(ctx context.Context, deviceID, group string)
	// SSO, if set, is the single sign-on settings the admin changes.
	SSO SSOSettings
}

// ErrNoSession is what Config.Session returns for a request without a
// console session.
var ErrNoSession = errors.New("no console session")

// SessionError refuses a console session request with an HTTP status.
type SessionError struct {
	Status    int
	Code, Msg string
}

func (e *SessionError) Error() string { return e.Msg }

// API is the HTTP handler for /api/v1.
type API struct {
	cfg Config
	mux *http.ServeMux
	log *slog.Logger
	// refusedTokens bounds the audit events of refused API tokens.
	refusedTokens *ratelimit.Keyed

	// The store, once per area, typed by what that area calls on it.
	// A handler uses its own area's field and no other.
	callers     callerStore       // api.go
	auditLog    auditStore        // audit.go
	devices     devicesStore      // devices.go
	tokens      tokensStore       // tokens.go
	fleet       fleetStore        // fleet.go
	runs        runsStore         // runs.go
	tickets     ticketsStore      // tickets.go
	problems    problemsStore     // problems.go
	kb          kbStore           // kb.go
	vendors     vendorsStore      // vendors.go
	users       usersStore        // users.go
	updates     updatesStore      // updates.go
	software    softwareStore     // software.go
	attachments attachmentsStore  // attachments.go
	factors     secondFactorStore // secondfactor.go
	templates   templatesStore    // templates.go
	recipes     recipesStore      // recipes.go
	notifyPrefs notifyStore       // notifications.go
	policies    policiesStore     // policies.go
	sites       sitesStore        // sites.go
}

// New builds the API.
func New(cfg Config) (*API, error) {
	if cfg.Store == nil {
		return nil, errors.New("api: no store")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.OnRevoke == nil {
		cfg.OnRevoke = func(string) {}
	}
	st := cfg.Store
	a := &API{mux: http.NewServeMux(), log: cfg.Logger.With("component", "api"), refusedTokens: ratelimit.NewKeyed(tokenRefusalAudits),
		callers: st, auditLog: st, devices: st, tokens: st, fleet: st, runs: st, tickets: st,
		problems: st, kb: st, vendors: st, users: st, updates: st, software: st, attachments: st, factors: st,
		templates: st, recipes: st, notifyPrefs: st, policies: st, sites: st}
	// Handlers reach the store only through their area's field above.
	cfg.Store = nil
	a.cfg = cfg
	a.routes()
	return a, nil
}

// Route is one API route with its least allowed role.
type Route struct {
	Pattern string // method and path, as http.ServeMux takes it
	Role    store.Role
	handler func(w http.ResponseWriter, r *http.Request, who Caller)
}

// Routes lists every route; tests walk it to check roles.
func (a *API) Routes() []Route { return a.routeTable() }

func (a *API) routeTable() []Route {
	return append([]Route{
		{"GET /api/v1/me", store.RoleTier1, a.me},
		{"GET /api/v1/devices", store.RoleTier1, a.listDevices},
		{"GET /api/v1/devices/{id}", store.RoleTier1, a.getDevice},
		{"GET /api/v1/devices/{id}/telemetry", store.RoleTier1, a.deviceTelemetry},
		{"GET /api/v1/devices/{id}/health/history", store.RoleTier1, a.healthHistory},
		{"POST /api/v1/devices/{id}/checks", store.RoleTier1, a.requestChecks},
		{"POST /api/v1/devices/{id}/revoke", store.RoleAdmin, a.revokeDevice},
		{"POST /api/v1/devices/{id}/group", store.RoleAdmin, a.setDeviceGroup},
		{"GET /api/v1/tokens", store.RoleAdmin, a.listTokens},
		{"POST /api/v1/tokens", store.RoleAdmin, a.createToken},
		{"POST /api/v1/tokens/{id}/revoke", store.RoleAdmin, a.revokeToken},
		{"GET /api/v1/audit", store.RoleAdmin, a.listAudit},
		{"GET /api/v1/updates/releases", store.RoleTier1, a.listReleases},
		{"POST /api/v1/updates/releases", store.RoleAdmin, a.addRelease},
		{"DELETE /api/v1/updates/releases/{version}/{os}/{arch}", store.RoleAdmin, a.deleteRelease},
		{"GET /api/v1/updates/rollouts", store.RoleTier1, a.listRollouts},
		{"PUT /api/v1/updates/rollouts/{group}", store.RoleAdmin, a.setRollout},
		{"DELETE /api/v1/updates/rollouts/{group}", store.RoleAdmin, a.deleteRollout},
		{"GET /api/v1/updates/devices", store.RoleTier1, a.updateStatus},
		{"GET /api/v1/policies", store.RoleTier1, a.listPolicies},
		{"GET /api/v1/policies/{group}", store.RoleTier1, a.getPolicy},
		{"PUT /api/v1/policies/{group}", store.RoleAdmin, a.putPolicy},
		{"GET /api/v1/policies/{group}/versions", store.RoleTier1, a.policyVersions},
		{"GET /api/v1/devices/{id}/policy", store.RoleTier1, a.devicePolicy},
		{"GET /api/v1/devices/{id}/recipes", store.RoleTier1, a.deviceRecipes},
		// Fix runs: the route admits tier1 and up; each fix's own tier is
		// checked against the caller's role in the handler.
		{"GET /api/v1/catalog", store.RoleTier1, a.getCatalog},
		{"GET /api/v1/recipes", store.RoleTier1, a.listRecipes},
		{"POST /api/v1/recipes", store.RoleAdmin, a.publishRecipe},
		{"DELETE /api/v1/recipes/{id}", store.RoleAdmin, a.deleteRecipe},
		{"POST /api/v1/devices/{id}/runs", store.RoleTier1, a.createRun},
		{"GET /api/v1/devices/{id}/runs", store.RoleTier1, a.listRuns},
		{"GET /api/v1/runs", store.RoleTier1, a.listRuns},
		{"GET /api/v1/runs/{id}", store.RoleTier1, a.getRun},
		{"POST /api/v1/runs/{id}/cancel", store.RoleTier1, a.cancelRun},
		{"GET /api/v1/runs/{id}/bundle", store.RoleTier2, a.runBundle},
		{"POST /api/v1/batches", store.RoleTier2, a.createBatch},
		{"GET /api/v1/batches/{id}", store.RoleTier2, a.getBatch},
	}, slices.Concat(a.siteRoutes(), a.ticketRoutes(), a.problemRoutes(), a.articleRoutes(), a.vendorRoutes(), a.settingsRoutes(), a.fleetRoutes(), a.userRoutes(), a.softwareRoutes(), a.attachmentRoutes(), a.secondFactorRoutes(), a.templateRoutes(), a.notificationRoutes(), a.ssoRoutes())...)
}

func (a *API) routes() {
	for _, rt := range a.routeTable() {
		rt := rt
		a.mux.HandleFunc(rt.Pattern, func(w http.ResponseWriter, r *http.Request) {
			who, ok := a.authenticate(w, r)
			if !ok {
				return
			}
			if who.Role.Rank() < rt.Role.Rank() {
				a.audit(r, who, "api.deny", r.URL.Path, "denied", map[string]any{"route": rt.Pattern})
				writeError(w, http.StatusForbidden, "forbidden", "this needs the "+string(rt.Role)+" role or higher; you are "+string(who.Role))
				return
			}
			r, ok = a.checkSite(w, r, who, rt.Pattern)
			if !ok {
				return
			}
			rt.handler(w, r, who)
		})
	}
	a.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such API route: "+r.Method+" "+r.URL.Path)
	})
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	a.mux.ServeHTTP(w, r)
}

// ErrOffline is what Config.RequestChecks returns for a device that is not
// connected.
var ErrOffline = errors.New("device is not connected")

// Caller is the authenticated user behind a request.
type Caller struct {
	UserID string
	Name   string
	Role   store.Role
	// Sites are the sites the caller may see and work (its user's,
	// narrowed by its API token's); nil: every site.
	Sites []string
}

func (a *API) authenticate(w http.ResponseWriter, r *http.Request) (Caller, bool) {
	h := r.Header.Get("Authorization")
	if h == "" && a.cfg.Session != nil {
		who, err := a.cfg.Session(r)
		var se *SessionError
		switch {
		case err == nil:
			return who, true
		case errors.As(err, &se):
			writeError(w, se.Status, se.Code, se.Msg)
			return Caller{}, false
		case !errors.Is(err, ErrNoSession):
			a.log.Error("check console session", "err", err)
			writeError(w, http.StatusInternalServerError, "internal", "could not check the console session; try again")
			return Caller{}, false
		}
	}
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tierline"`)
		writeError(w, http.StatusUnauthorized, "unauthenticated", "send an API token as `Authorization: Bearer <token>` (create one with `tierline-hub apitoken create --user NAME`)")
		return Caller{}, false
	}
	t, u, err := a.callers.LookupAPIToken(r.Context(), auth.HashSecret(strings.TrimSpace(tok)), a.cfg.Now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		a.auditTokenRefused(r, "unknown token, or its user is disabled")
		writeError(w, http.StatusUnauthorized, "unauthenticated", "API token is not valid")
		return Caller{}, false
	case errors.Is(err, store.ErrAPITokenExpired), errors.Is(err, store.ErrAPITokenRevoked):
		a.auditTokenRefused(r, err.Error())
		writeError(w, http.StatusUnauthorized, "unauthenticated", err.Error()+"; create a new one with `tierline-hub apitoken create`")
		return Caller{}, false
	case err != nil:
		a.log.Error("look up API token", "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "could not check the API token")
		return Caller{}, false
	}
	who := Caller{UserID: u.ID, Name: u.Name, Role: u.Role, Sites: store.NarrowSites(u.Sites, t.Sites)}
	a.noteTokenAddress(r, who, t)
	if t.ReadOnly && r.Method != http.MethodGet && r.Method != http.MethodHead {
		a.audit(r, who, "api.deny", r.URL.Path, "denied", map[string]any{"reason": "read-only token", "token": t.ID})
		writeError(w, http.StatusForbidden, "read_only_token", "API token "+t.ID+" is read-only: it may only read (GET); create a read-write token to change things")
		return Caller{}, false
	}
	return who, true
}

// auditTokenRefused audits a refused API token, at most
// tokenRefusalAudits a minute from one address, so a flood of guesses
// cannot flood the audit log.
func (a *API) auditTokenRefused(r *http.Request, reason string) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ok, _ := a.refusedTokens.Allow(host, a.cfg.Now()); !ok {
		return
	}
	a.audit(r, Caller{}, "apitoken.use", r.URL.Path, "denied", map[string]any{"reason": reason})
}

// tokenRefusalAudits is how many refused API tokens a minute one address
// puts in the audit log.
var tokenRefusalAudits = ratelimit.Limit{N: 10, Per: time.Minute}

// noteTokenAddress audits a token's use from an address it was not last
// used from (its first use too), so a stolen token used elsewhere shows.
func (a *API) noteTokenAddress(r *http.Request, who Caller, t store.APIToken) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if host == t.LastAddress {
		return
	}
	changed, err := a.callers.NoteAPITokenAddress(r.Context(), t.ID, host)
	if err != nil {
		a.log.Error("note API token address", "err", err)
		return
	}
	if changed {
		a.audit(r, who, "apitoken.use", t.ID, "new_address", map[string]any{"from": t.LastAddress, "to": host})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, wire.APIError{Error: msg, Code: code})
}

// decodeBody reads a JSON request body of at most 1 MiB into v; an empty
// body leaves v at its zero value.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, "bad_request", "request body: "+err.Error())
		return false
	}
	return true
}
