// Package console serves the hub's web console: server-rendered pages for
// technicians and admins, on the hub's TLS listener next to the API.
//
// # Adding a page
//
// A page is one Go file and one template, both named after the page:
// hub/console/fleet.go and hub/console/templates/fleet.html (several pages of
// one area: fleet_checks.go, templates/fleet_checks.html, ...).
//
// The Go file registers the page from init():
//
//	func init() {
//		Register(Page{
//			Pattern: "GET /fleet",        // http.ServeMux pattern
//			Role:    store.RoleAdmin,     // least role; checked on the server before Handle runs
//			Nav:     "Fleet", NavOrder: 30, // optional top-nav entry, shown only to that role and up
//			Handle:  fleetPage,
//		})
//	}
//
//	// fleetStore is what the fleet page reads from the store.
//	type fleetStore interface {
//		FleetHealth(ctx context.Context, from, to time.Time, topProblems int) (store.FleetHealth, error)
//	}
//
//	func fleetPage(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
//		h, err := c.fleet.FleetHealth(r.Context(), c.Now().AddDate(0, 0, -30), c.Now(), 10)
//		if err != nil {
//			c.Fail(w, r, req, err) // logs it, renders a 500 page
//			return
//		}
//		c.Render(w, r, req, http.StatusOK, "fleet.html", View{Title: "Fleet health", Scripts: []string{"fleet.js"}, Data: h})
//	}
//
// Handle runs only for a logged-in user whose role is at least Role; others
// are sent to /login or get a 403 page. req.User is the user, req.Can(role)
// tells what else they may do (hide buttons with it; the API still checks).
// c.Error(w, r, req, status, msg) renders an error page with a message.
//
// A page reads what it shows from the store through an interface declared
// in its own file, named after its area, that lists the store methods it
// calls (fleetStore in fleet.go, queueStore in queue.go, ticketStore in
// ticket.go), and the Console's field of that type (c.fleet, c.queue,
// c.tickets). When a page needs one more method, add it to its area's
// interface with the store's signature. A new area adds its interface to
// Store, and a field for it to Console and New. Store is the union of the
// areas' interfaces, so the hub passes one value (its *store.Store) while
// each file says exactly what it reads.
//
// The template defines "content" (and may define "title"); the layout around
// it (templates/layout.html) gives the nav, the user menu and the CSRF meta
// tag. In the template, .Data is View.Data, .User the user, .Can "tier2" a
// role test, .CSRF the token. Helpers: {{ago .T}}, {{when .T}}, {{iso .T}},
// {{bytes .N}}, {{pct .F}}. Never use template.HTML on data; html/template
// escapes everything else.
//
// Scripts and styles live in static/ and load as /static/NAME; View.Scripts
// names extra scripts for a page. The Content-Security-Policy forbids inline
// scripts, inline styles and on* attributes: put behaviour in a static .js
// file (read data from data-* attributes, write with textContent, never
// innerHTML with data) and styles in static/console.css.
//
// Changes go through the JSON API from the page's JS: console.js exports
// window.tierline.api(method, path, body), which sends the session cookie,
// the X-CSRF-Token header and JSON, and rejects with the API's error text.
// The API checks the role of every route. A page registered for POST (or
// another unsafe method) gets the same CSRF and origin checks before its
// Handle runs. Live updates: subscribe with
// window.tierline.events(fn) (server-sent events from /events; see Publish).
//
// Tests: add to hub/console/*_test.go (newTestConsole gives a console on a
// real SQLite store with users of every role and a logged-in client).
package console

import (
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/tierline/tierline/hub/sso"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/tickets"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Page is one console page.
type Page struct {
	Pattern  string     // http.ServeMux pattern, e.g. "GET /fleet" or "GET /devices/{id}"
	Role     store.Role // least role allowed; checked before Handle
	Nav      string     // label in the top nav; "" for none
	NavPath  string     // nav link; default: the pattern's path
	NavOrder int        // nav position, ascending
	Handle   func(c *Console, w http.ResponseWriter, r *http.Request, req *Request)
}

var (
	registryMu sync.Mutex
	registry   []Page
)

// Register adds a page; call it from init(). A second page with the same
// pattern panics.
func Register(p Page) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if p.Pattern == "" || p.Handle == nil || !p.Role.Valid() {
		panic("console: page needs a pattern, a handler and a valid role: " + p.Pattern)
	}
	for _, q := range registry {
		if q.Pattern == p.Pattern {
			panic("console: page registered twice: " + p.Pattern)
		}
	}
	registry = append(registry, p)
}

func pages() []Page {
	registryMu.Lock()
	defer registryMu.Unlock()
	return slices.Clone(registry)
}

// Store is everything the console reads and writes in the store: the union
// of what each area declares next to its code. The hub passes its
// *store.Store.
type Store interface {
	sessionStore      // session.go: login, logout, session checks
	secondFactorStore // secondfactor.go: codes at login, the account page
	ssoStore          // sso.go: single sign-on
	passkeyStore      // passkeys.go: passkeys as a second factor
	liveStore         // events.go: the live stream
	queueStore        // queue.go
	ticketStore       // ticket.go
	deviceStore       // device.go
	fleetStore        // fleet.go
	kbStore           // kb.go
	adminStore        // admin.go
	softwareStore     // software.go
	requestsStore     // request_templates.go
	problemsStore     // problems.go
	recipeStore       // recipes.go
	inboxStore        // notifications.go
	policyStore       // policies.go
	sitesStore        // admin_sites.go
	// AppendAudit is where the default Config.Audit writes.
	AppendAudit(ctx context.Context, e store.AuditEvent) error
}

// The hub's store keeps satisfying every area's interface.
var _ Store = (*store.Store)(nil)

// Config configures the console.
type Config struct {
	Store  Store
	Logger *slog.Logger
	Now    func() time.Time
	// SessionIdle ends a session after this long without a request
	// (default 30 minutes); SessionMax ends it this long after login
	// whatever the activity (default 12 hours).
	SessionIdle time.Duration
	SessionMax  time.Duration
	// Audit records security events (logins, lockouts, logouts); default:
	// the store's audit log.
	Audit func(e store.AuditEvent)
	// Policy is the SLA policy in force, for the countdowns (default: the
	// tickets package's default limits).
	Policy func() tickets.Policy
	// TelemetryEvery is how often watched devices are checked for new
	// telemetry to push to pages (default 5s).
	TelemetryEvery time.Duration
	// Metrics computes the support metrics of a period (the ticket
	// service's); without it the reports page says it is not available.
	Metrics func(ctx context.Context, from, to time.Time) (tickets.Metrics, error)
	// Mail, if set, tells the admin page how email intake is set up.
	Mail func() MailStatus
	// URL is the hub's own address (https://NAME:PORT); its host name is
	// the passkeys' relying party. Without one, or with an IP address,
	// passkeys are off.
	URL string
	// SSO, if set, says how people log in now: single sign-on offered on
	// the login page, password logins off but for a break-glass admin
	// (an sso.State, or the hub's sso.Settings, which an admin changes).
	SSO SSOSource
}

// SSOSource is how people log in now.
type SSOSource interface {
	Current(ctx context.Context) (sso.State, error)
}

// CheckAndSetDefaults validates c and fills defaults.
func (c *Config) CheckAndSetDefaults() error {
	if c.Store == nil {
		return errors.New("console: no store")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Logger = c.Logger.With("component", "console")
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.SessionIdle == 0 {
		c.SessionIdle = 30 * time.Minute
	}
	if c.SessionIdle < time.Minute {
		return fmt.Errorf("--session-idle %s is too short: use at least 1m", c.SessionIdle)
	}
	if c.SessionMax == 0 {
		c.SessionMax = 12 * time.Hour
	}
	if c.SessionMax < c.SessionIdle {
		c.SessionMax = c.SessionIdle
	}
	if c.TelemetryEvery <= 0 {
		c.TelemetryEvery = 5 * time.Second
	}
	if c.Policy == nil {
		c.Policy = func() tickets.Policy { return tickets.Policy{Limits: tickets.DefaultLimits()} }
	}
	if c.Audit == nil {
		st, log := c.Store, c.Logger
		c.Audit = func(e store.AuditEvent) {
			if err := st.AppendAudit(context.Background(), e); err != nil {
				log.Error("append audit event", "action", e.Action, "err", err)
			}
		}
	}
	return nil
}

// Console is the web console.
type Console struct {
	cfg    Config
	log    *slog.Logger
	tmpl   map[string]*template.Template
	pages  []Page
	static http.Handler
	broker *Broker
	counts countsCache
	logins loginGate
	// webauthn is the passkey relying party, nil (passkeysOff says why)
	// when the hub's URL cannot have passkeys.
	webauthn    *webauthn.WebAuthn
	passkeysOff string
	// pingEvery is how often a live stream is pinged and its session
	// checked again.
	pingEvery time.Duration

	// The store, once per area, typed by what that area calls on it.
	// A page uses its own area's field and no other.
	sessions sessionStore      // session.go
	factors  secondFactorStore // secondfactor.go
	ids      ssoStore          // sso.go
	passkeys passkeyStore      // passkeys.go
	live     liveStore         // events.go
	queue    queueStore        // queue.go
	tickets  ticketStore       // ticket.go
	devices  deviceStore       // device.go
	fleet    fleetStore        // fleet.go
	kb       kbStore           // kb.go
	admin    adminStore        // admin.go
	software softwareStore     // software.go
	requests requestsStore     // request_templates.go
	problems problemsStore     // problems.go
	recipes  recipeStore       // recipes.go
	inbox    inboxStore        // notifications.go
	policies policyStore       // policies.go
	sites    sitesStore        // admin_sites.go
}

// New builds the console and parses its templates.
func New(cfg Config) (*Console, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	st := cfg.Store
	c := &Console{log: cfg.Logger, pages: pages(), logins: newLoginGate(), pingEvery: 20 * time.Second,
		sessions: st, factors: st, ids: st, passkeys: st, live: st, queue: st, tickets: st, devices: st, fleet: st, kb: st, admin: st, software: st,
		requests: st, problems: st, recipes: st, inbox: st, policies: st, sites: st}
	// Pages reach the store only through their area's field above.
	cfg.Store = nil
	c.cfg = cfg
	c.broker = newBroker(c)
	c.webauthn, c.passkeysOff = newWebAuthn(cfg.URL)
	if err := c.parseTemplates(); err != nil {
		return nil, err
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	c.static = http.StripPrefix("/static/", http.FileServerFS(sub))
	slices.SortStableFunc(c.pages, func(a, b Page) int { return cmp.Compare(a.NavOrder, b.NavOrder) })
	return c, nil
}

// Logger is the console's logger.
func (c *Console) Logger() *slog.Logger { return c.log }

// Now is the console's clock.
func (c *Console) Now() time.Time { return c.cfg.Now() }

// Mux is where the console registers its routes; *http.ServeMux fits.
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// Register adds the console's routes to mux: /, /login, /logout, /events,
// /static/ and every registered page. It panics (as http.ServeMux does) if a
// pattern collides with one already there.
func (c *Console) Register(mux Mux) {
	mux.Handle("GET /{$}", c.secure(http.HandlerFunc(c.root)))
	mux.Handle("GET /login", c.secure(http.HandlerFunc(c.loginPage)))
	mux.Handle("POST /login", c.secure(c.sameOrigin(http.HandlerFunc(c.login))))
	mux.Handle("GET /logout", c.secure(c.page(Page{Role: store.RoleTier1, Handle: logoutPage})))
	mux.Handle("POST /logout", c.secure(c.sameOrigin(http.HandlerFunc(c.logout))))
	c.registerSecondFactor(mux)
	c.registerSSO(mux)
	c.registerPasskeyLogin(mux)
	mux.Handle("GET /events", c.secure(http.HandlerFunc(c.events)))
	mux.Handle("GET /static/", c.secureStatic(c.static))
	for _, p := range c.pages {
		mux.Handle(p.Pattern, c.secure(c.page(p)))
	}
}

// Handler returns the console on its own mux, for tests and benchmarks.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	c.Register(mux)
	return mux
}

// ContentSecurityPolicy is sent with every console response.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

// secure sets the security headers of a page response.
func (c *Console) secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w.Header())
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

func (c *Console) secureStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w.Header())
		w.Header().Set("Cache-Control", "private, max-age=300")
		h.ServeHTTP(w, r)
	})
}

// Request is what a page handler knows about the request's user.
type Request struct {
	User    store.User
	Session store.Session
}

// Can reports whether the user has role or a higher one.
func (q *Request) Can(role store.Role) bool { return q.User.Role.Rank() >= role.Rank() }

// CSRF is the session's CSRF token.
func (q *Request) CSRF() string { return q.Session.CSRF }

// page wraps a page handler with the session and role checks. A page
// registered for an unsafe method (POST, PUT, ...) runs only for a request
// from this origin that carries the session's CSRF token (X-CSRF-Token
// header or csrf form field); others get a 403.
func (c *Console) page(p Page) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := c.session(r)
		if err != nil {
			if !errors.Is(err, errNoSession) && !errors.Is(err, store.ErrSessionExpired) && !errors.Is(err, store.ErrNotFound) {
				c.log.Error("look up session", "err", err)
				http.Error(w, "could not check your session; try again, and look at the hub's log if it persists", http.StatusInternalServerError)
				return
			}
			clearSessionCookie(w)
			if r.Method != http.MethodGet {
				http.Error(w, "your session has ended; log in again", http.StatusUnauthorized)
				return
			}
			q := url.Values{"next": {r.URL.RequestURI()}}
			if errors.Is(err, store.ErrSessionExpired) {
				q.Set("expired", "1")
			}
			http.Redirect(w, r, "/login?"+q.Encode(), http.StatusSeeOther)
			return
		}
		if !safeMethod(r.Method) && (!originOK(r) || !csrfOK(r, req.Session)) {
			// Every state-changing page needs the session's CSRF token
			// from this origin; the page's JS sends it (tierline.api).
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "refused: missing CSRF token or another origin; reload the page"})
			return
		}
		if !req.Can(p.Role) {
			c.Error(w, r, req, http.StatusForbidden, "This page needs the "+string(p.Role)+" role or higher; you are "+string(req.User.Role)+". Ask an admin if you need it.")
			return
		}
		if !c.siteAllows(w, r, req, p) {
			return
		}
		// The store keeps what the page reads to the user's sites.
		r = r.WithContext(store.WithSites(r.Context(), req.User.Sites))
		p.Handle(c, w, r, req)
	})
}

func (c *Console) root(w http.ResponseWriter, r *http.Request) {
	if _, err := c.session(r); err != nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/queue", http.StatusSeeOther)
}

// NavItem is one entry of the top nav.
type NavItem struct {
	Label, Path string
	Active      bool
}

// View is what a page handler passes to Render.
type View struct {
	Title string
	// Refresh, if set, sends the browser on to this path of the console
	// at once (a page, not a redirect, so the browser counts the next
	// request as the console's own and sends its SameSite=Strict cookie).
	Refresh string
	Scripts []string // extra scripts from static/, e.g. "queue.js"
	Data    any
}

// Layout is the data templates see: the View plus the user and nav.
type Layout struct {
	View
	User store.User
	CSRF string
	Nav  []NavItem
	Now  time.Time
	req  *Request

	// Unread is the user's unread notifications, on the bell.
	Unread int
}

// Can reports whether the user has role or a higher one.
func (l Layout) Can(role string) bool { return l.req != nil && l.req.Can(store.Role(role)) }

func (c *Console) nav(r *http.Request, req *Request) []NavItem {
	var out []NavItem
	for _, p := range c.pages {
		if p.Nav == "" || req == nil || !req.Can(p.Role) {
			continue
		}
		link := p.NavPath
		if link == "" {
			_, link, _ = strings.Cut(p.Pattern, " ")
			if link == "" {
				link = p.Pattern
			}
		}
		out = append(out, NavItem{Label: p.Nav, Path: link, Active: r.URL.Path == link || strings.HasPrefix(r.URL.Path, strings.TrimSuffix(link, "/")+"/")})
	}
	return out
}

// Render renders the page template name (a file in templates/) inside the
// layout with status.
func (c *Console) Render(w http.ResponseWriter, r *http.Request, req *Request, status int, name string, v View) {
	t, ok := c.tmpl[name]
	if !ok {
		c.log.Error("no such template", "name", name)
		http.Error(w, "console page template missing: "+name, http.StatusInternalServerError)
		return
	}
	l := Layout{View: v, Now: c.cfg.Now(), req: req, Nav: c.nav(r, req)}
	if req != nil {
		l.User, l.CSRF = req.User, req.Session.CSRF
		if n, err := c.inbox.UnreadNotifications(r.Context(), req.User.ID); err == nil {
			l.Unread = n
		} else {
			c.log.Warn("count unread notifications for the bell", "user", req.User.Name, "err", err)
		}
	}
	var buf strings.Builder
	if err := t.ExecuteTemplate(&buf, "layout", l); err != nil {
		c.log.Error("render page", "template", name, "err", err)
		http.Error(w, "could not render this page; the hub's log has the details", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}

// Error renders an error page with a message saying what to do next.
func (c *Console) Error(w http.ResponseWriter, r *http.Request, req *Request, status int, msg string) {
	c.Render(w, r, req, status, "error.html", View{Title: http.StatusText(status), Data: msg})
}

// Fail logs err and renders a 500 page, or a 404 page for store.ErrNotFound.
func (c *Console) Fail(w http.ResponseWriter, r *http.Request, req *Request, err error) {
	if errors.Is(err, store.ErrNotFound) {
		c.Error(w, r, req, http.StatusNotFound, "Not found: it may have been deleted, or the link is wrong.")
		return
	}
	c.log.Error("console page", "path", r.URL.Path, "err", err)
	c.Error(w, r, req, http.StatusInternalServerError, "Something went wrong on the hub while building this page; the hub's log has the details. Try again.")
}

func (c *Console) parseTemplates() error {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	base, err := template.New("base").Funcs(funcs).Funcs(template.FuncMap{"ago": c.agoFunc}).ParseFS(templateFS, "templates/layout.html", "templates/charts.html")
	if err != nil {
		return fmt.Errorf("console: parse layout: %w", err)
	}
	c.tmpl = map[string]*template.Template{}
	for _, n := range names {
		name := path.Base(n)
		if name == "layout.html" || name == "charts.html" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return fmt.Errorf("console: parse %s: %w", name, err)
		}
		c.tmpl[name] = t
	}
	return nil
}
