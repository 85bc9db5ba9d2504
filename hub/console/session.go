package console

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tierline/tierline/hub/api"
	"github.com/tierline/tierline/hub/auth"
	"github.com/tierline/tierline/hub/store"
)

// sessionStore is what login, logout and the session checks call on the store.
type sessionStore interface {
	LookupSession(ctx context.Context, hash []byte, now time.Time, idle, touchEvery time.Duration) (store.Session, store.User, error)
	LoginFailures(ctx context.Context, name string) (int, time.Time, error)
	GetUserByName(ctx context.Context, name string) (store.User, error)
	RecordLoginFailure(ctx context.Context, name string, at time.Time) (int, error)
	ClearLoginFailures(ctx context.Context, name string) error
	DeleteSession(ctx context.Context, hash []byte) error
	CreateSession(ctx context.Context, se store.Session) error
}

// CookieName is the session cookie. The __Host- prefix makes browsers
// insist on Secure, Path=/ and no Domain, so no other host can set it.
const CookieName = "__Host-tierline_session"

// Lockout: after LockoutAfter failed logins in a row for a name, each
// further attempt must wait LockoutBase doubled for every failure past the
// limit, at most LockoutMax. Unknown names are counted the same way, so the
// answers do not tell which names exist.
const (
	LockoutAfter = 5
	LockoutBase  = 30 * time.Second
	LockoutMax   = time.Hour
)

// loginGate bounds the work logins can cause. Each password check is an
// argon2id hash of 64 MiB: slots caps how many run at once (a flood of
// logins waits, then gets 503, instead of taking the hub's memory), and
// one lock per name (striped) makes attempts on the same name take turns,
// so each sees the failures before it and a burst cannot get past the
// lockout.
type loginGate struct {
	slots chan struct{}
	names [64]sync.Mutex
}

// loginSlotWait is how long a login waits for a free password check.
const loginSlotWait = 5 * time.Second

func newLoginGate() loginGate {
	return loginGate{slots: make(chan struct{}, max(2, 2*runtime.GOMAXPROCS(0)))}
}

func (g *loginGate) lockName(name string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(name)))
	return &g.names[h.Sum32()%uint32(len(g.names))]
}

// acquire takes a password-check slot; false when none came free in time.
func (g *loginGate) acquire(ctx context.Context) bool {
	t := time.NewTimer(loginSlotWait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

func (g *loginGate) release() { <-g.slots }

// touchEvery limits how often a session's last activity is written.
const touchEvery = 30 * time.Second

var errNoSession = errors.New("no console session")

// session finds the request's session.
func (c *Console) session(r *http.Request) (*Request, error) {
	ck, err := r.Cookie(CookieName)
	if err != nil || ck.Value == "" {
		return nil, errNoSession
	}
	if len(ck.Value) > 128 {
		return nil, errNoSession
	}
	se, u, err := c.sessions.LookupSession(r.Context(), auth.HashSecret(ck.Value), c.cfg.Now(), c.cfg.SessionIdle, touchEvery)
	if err != nil {
		return nil, err
	}
	return &Request{User: u, Session: se}, nil
}

func setSessionCookie(w http.ResponseWriter, id string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: id, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: int(maxAge / time.Second)})
}

func clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// originOK reports whether a request comes from the console's own origin.
// Sec-Fetch-Site, which browsers set and pages cannot, decides when
// present: same-origin, or none (typed into the address bar). Without it
// (older browsers, other clients) Origin, when present, must be this host.
// Origin alone is not enough for browsers: with Referrer-Policy no-referrer
// they send "Origin: null" on the console's own form posts.
func originOK(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	case "":
		o := r.Header.Get("Origin")
		return o == "" || o == "https://"+r.Host
	default:
		return false
	}
}

// sameOrigin refuses a state-changing request from another origin.
func (c *Console) sameOrigin(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !originOK(r) {
			http.Error(w, "refused: this request came from another site (Origin "+strconv.Quote(r.Header.Get("Origin"))+
				"); use the console at https://"+r.Host+"/ directly", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// csrfOK checks the request's CSRF token (X-CSRF-Token header, or the
// csrf form field) against the session's.
func csrfOK(r *http.Request, se store.Session) bool {
	tok := r.Header.Get("X-CSRF-Token")
	if tok == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		tok = r.PostFormValue("csrf")
	}
	return tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(se.CSRF)) == 1
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// APISession authenticates an API request by its console session cookie;
// it is api.Config.Session. State-changing methods also need the session's
// CSRF token in X-CSRF-Token and a same-origin request.
func (c *Console) APISession(r *http.Request) (api.Caller, error) {
	if ck, err := r.Cookie(CookieName); err != nil || ck.Value == "" {
		return api.Caller{}, api.ErrNoSession
	}
	req, err := c.session(r)
	switch {
	case errors.Is(err, store.ErrSessionExpired):
		return api.Caller{}, &api.SessionError{Status: http.StatusUnauthorized, Code: "session_expired", Msg: "your console session has expired; log in again"}
	case errors.Is(err, store.ErrNotFound), errors.Is(err, errNoSession):
		return api.Caller{}, &api.SessionError{Status: http.StatusUnauthorized, Code: "unauthenticated", Msg: "your console session is not valid; log in again"}
	case err != nil:
		return api.Caller{}, err
	}
	if !safeMethod(r.Method) {
		if !originOK(r) {
			return api.Caller{}, &api.SessionError{Status: http.StatusForbidden, Code: "cross_origin", Msg: "refused: this request came from another site; use the console directly"}
		}
		if !csrfOK(r, req.Session) {
			return api.Caller{}, &api.SessionError{Status: http.StatusForbidden, Code: "csrf", Msg: "refused: missing or wrong CSRF token; send the page's csrf-token meta value as X-CSRF-Token (reload the page if it is old)"}
		}
	}
	return api.Caller{UserID: req.User.ID, Name: req.User.Name, Role: req.User.Role, Sites: req.User.Sites}, nil
}

// lockoutWait is how long a name with n failures in a row must wait after
// its last failure.
func lockoutWait(n int) time.Duration {
	if n < LockoutAfter {
		return 0
	}
	exp := n - LockoutAfter
	if exp > 20 {
		return LockoutMax
	}
	d := time.Duration(float64(LockoutBase) * math.Pow(2, float64(exp)))
	return min(d, LockoutMax)
}

type loginData struct {
	Name    string
	Next    string
	Message string
	Expired bool
	// SSO offers single sign-on (the provider's address); PasswordOff hides
	// the password form behind "break-glass admin".
	SSO         string
	PasswordOff bool
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, err := c.session(r); err == nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	c.Render(w, r, nil, http.StatusOK, "login.html", View{Title: "Log in", Data: c.loginView(r.Context(), loginData{
		Next: safeNext(r.URL.Query().Get("next")), Expired: r.URL.Query().Get("expired") != ""})})
}

// dummyHash is checked for unknown names so that they cost as much time
// as known ones.
var dummyHash = func() string {
	h, err := auth.HashPassword(auth.Secret(16))
	if err != nil {
		panic(err)
	}
	return h
}()

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	name := strings.TrimSpace(r.PostFormValue("name"))
	password := r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	ctx := r.Context()
	fail := func(status int, msg string) { c.loginFailed(w, r, name, next, status, msg) }
	if name == "" || password == "" {
		fail(http.StatusBadRequest, "Enter your name and password.")
		return
	}
	if msg := c.passwordLoginRefused(r.Context(), name); msg != "" {
		c.cfg.Audit(store.AuditEvent{Time: c.cfg.Now(), Actor: name, Action: "user.login", Target: name, Outcome: "denied",
			Detail: map[string]any{"reason": "password logins are off"}, Remote: r.RemoteAddr})
		fail(http.StatusForbidden, msg)
		return
	}
	mu := c.logins.lockName(name)
	mu.Lock()
	defer mu.Unlock()
	if !c.logins.acquire(ctx) {
		w.Header().Set("Retry-After", "2")
		fail(http.StatusServiceUnavailable, "The hub is busy checking other logins; try again in a few seconds.")
		return
	}
	defer c.logins.release()
	now := c.cfg.Now() // after the wait
	n, last, err := c.sessions.LoginFailures(ctx, name)
	if err != nil {
		c.log.Error("login failures", "err", err)
		fail(http.StatusInternalServerError, "The hub could not check your login; try again.")
		return
	}
	if until := last.Add(lockoutWait(n)); n >= LockoutAfter && now.Before(until) {
		c.locked(w, r, name, next, until, now)
		return
	}
	u, err := c.sessions.GetUserByName(ctx, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		c.log.Error("get user", "err", err)
		fail(http.StatusInternalServerError, "The hub could not check your login; try again.")
		return
	}
	hash := dummyHash
	if err == nil {
		hash = u.PasswordHash
	}
	good := auth.CheckPassword(hash, password) && err == nil && u.DisabledAt == nil
	if !good {
		n, err := c.sessions.RecordLoginFailure(ctx, name, now)
		if err != nil {
			c.log.Error("record login failure", "err", err)
		}
		c.cfg.Audit(store.AuditEvent{Time: now, Actor: name, Action: "user.login", Target: name, Outcome: "denied",
			Detail: map[string]any{"failures": n}, Remote: r.RemoteAddr})
		if n >= LockoutAfter {
			c.locked(w, r, name, next, now.Add(lockoutWait(n)), now)
			return
		}
		fail(http.StatusUnauthorized, "Wrong name or password.")
		return
	}
	c.passwordAccepted(w, r, u, next, now)
}

// loginFailed shows the login page again with what went wrong.
func (c *Console) loginFailed(w http.ResponseWriter, r *http.Request, name, next string, status int, msg string) {
	c.Render(w, r, nil, status, "login.html", View{Title: "Log in", Data: c.loginView(r.Context(), loginData{Name: name, Next: next, Message: msg})})
}

// loginView adds how this hub logs people in to the login page's data.
func (c *Console) loginView(ctx context.Context, d loginData) loginData {
	st := c.ssoState(ctx)
	if st.Provider != nil {
		d.SSO = st.Provider.Issuer()
	}
	d.PasswordOff = st.PasswordLoginOff
	return d
}

// startSession ends a login that passed every step: a new session, and
// the browser sent where it was going.
func (c *Console) startSession(w http.ResponseWriter, r *http.Request, u store.User, next string, now time.Time) {
	if c.openSession(w, r, u, now) {
		http.Redirect(w, r, next, http.StatusSeeOther)
	}
}

// openSession clears the name's failed logins, starts a session and sets
// its cookie; false (the error page written) when it could not.
func (c *Console) openSession(w http.ResponseWriter, r *http.Request, u store.User, now time.Time) bool {
	ctx := r.Context()
	if err := c.sessions.ClearLoginFailures(ctx, u.Name); err != nil {
		c.log.Error("clear login failures", "err", err)
	}
	// A new id on every login: a session id planted before login is useless.
	if old, err := r.Cookie(CookieName); err == nil && old.Value != "" && len(old.Value) <= 128 {
		_ = c.sessions.DeleteSession(ctx, auth.HashSecret(old.Value))
	}
	id := auth.Secret(32)
	se := store.Session{IDHash: auth.HashSecret(id), UserID: u.ID, CSRF: auth.Secret(32), CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(c.cfg.SessionMax)}
	if err := c.sessions.CreateSession(ctx, se); err != nil {
		c.log.Error("create session", "err", err)
		c.loginFailed(w, r, u.Name, "", http.StatusInternalServerError, "The hub could not start your session; try again.")
		return false
	}
	c.cfg.Audit(store.AuditEvent{Time: now, Actor: u.Name, Action: "user.login", Target: u.Name, Outcome: "ok", Remote: r.RemoteAddr})
	setSessionCookie(w, id, c.cfg.SessionMax)
	return true
}

func (c *Console) locked(w http.ResponseWriter, r *http.Request, name, next string, until, now time.Time) {
	wait := max(until.Sub(now).Round(time.Second), time.Second)
	c.cfg.Audit(store.AuditEvent{Time: now, Actor: name, Action: "user.login", Target: name, Outcome: "locked",
		Detail: map[string]any{"until": until.UTC().Format(time.RFC3339)}, Remote: r.RemoteAddr})
	w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)))
	c.loginFailed(w, r, name, next, http.StatusTooManyRequests,
		fmt.Sprintf("Too many failed logins for this name. Try again in %s (after %s UTC), or ask an admin to reset your password.",
			wait, until.UTC().Format("15:04:05")))
}

func logoutPage(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	c.Render(w, r, req, http.StatusOK, "logout.html", View{Title: "Log out"})
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	req, err := c.session(r)
	if err != nil {
		clearSessionCookie(w)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if !csrfOK(r, req.Session) {
		c.Error(w, r, req, http.StatusForbidden, "Refused: the form's CSRF token is missing or wrong. Reload the page and try again.")
		return
	}
	if err := c.sessions.DeleteSession(r.Context(), req.Session.IDHash); err != nil {
		c.log.Error("delete session", "err", err)
	}
	c.cfg.Audit(store.AuditEvent{Time: c.cfg.Now(), Actor: req.User.Name, Action: "user.logout", Target: req.User.Name, Outcome: "ok", Remote: r.RemoteAddr})
	clearSessionCookie(w)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a post-login redirect on this site: a path on this host
// and nothing a browser could read as another host. Browsers drop tabs
// and newlines from URLs and treat a backslash as a slash, so "/\t/evil"
// would become "//evil": any control character or backslash is refused.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) ||
		strings.HasPrefix(next, "/login") || strings.HasPrefix(next, "/logout") {
		return "/queue"
	}
	return next
}
