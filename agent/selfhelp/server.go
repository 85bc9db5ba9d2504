// Package selfhelp is the end user's local Get help page: a small HTTP
// server on 127.0.0.1 and a random port, run by the user's tray process (or
// by `tierline-agent gethelp`), serving an embedded page and a JSON backend
// that calls the agent's local socket (agent/localipc) as that user.
//
// The server has no more power than the user who runs it: it only makes
// local socket calls, and the agent's peer-credential check decides what
// they may do (Tier 0 fixes, the user's own tickets). Its own job is to keep
// everybody else out: a web page elsewhere, another origin, a DNS-rebound
// host name, or a request without the one-time link's session. See
// docs/selfhelp.md for the reasoning.
package selfhelp

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/tierline/tierline/agent/execx"
	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/shared/wire"
)

//go:embed web
var webFS embed.FS

// Config configures the page's server.
type Config struct {
	// Socket is the agent's local socket (or named pipe).
	Socket string
	// Logger receives the server's log; nil means slog.Default().
	Logger *slog.Logger
	// LinkTTL is how long a link from URL stays usable before it is opened
	// (default 30 minutes). Once opened it is spent.
	LinkTTL time.Duration
	// CallTimeout bounds local socket calls other than running a fix and
	// filing a ticket (default 30 s).
	CallTimeout time.Duration
	// RunTimeout bounds running one fix (default 10 minutes).
	RunTimeout time.Duration
	// MaxSessions is how many browser sessions may be open at once
	// (default 16); the oldest is dropped beyond that.
	MaxSessions int
}

// CheckAndSetDefaults fills the defaults and refuses a config that cannot
// work.
func (c *Config) CheckAndSetDefaults() error {
	if c.Socket == "" {
		return errors.New("selfhelp: no agent socket given (pass --state DIR or --socket PATH)")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Logger = c.Logger.With("component", "selfhelp")
	if c.LinkTTL <= 0 {
		c.LinkTTL = 30 * time.Minute
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = 30 * time.Second
	}
	if c.RunTimeout <= 0 {
		c.RunTimeout = 10 * time.Minute
	}
	if c.MaxSessions <= 0 {
		c.MaxSessions = 16
	}
	return nil
}

// CookieName is the session cookie's name. Cookies are not scoped by port,
// so the name carries the port: two pages on one machine never share one.
const cookiePrefix = "tierline_selfhelp_"

// CSRFHeader must carry the session's CSRF secret on every request that
// changes something.
const CSRFHeader = "X-Tierline-CSRF"

// maxBody is the largest request body the API takes: a screenshot of
// MaxScreenshot bytes as base64 plus the words.
const maxBody = MaxScreenshot*4/3 + 64<<10

// MaxScreenshot is the largest PNG the page attaches. The agent's local
// socket takes requests of at most 1 MiB, so a screenshot is kept well
// under that once base64-encoded.
const MaxScreenshot = 640 << 10

// Server is a running Get help page.
type Server struct {
	cfg    Config
	agent  *localipc.Client
	log    *slog.Logger
	ln     net.Listener
	srv    *http.Server
	port   string
	static http.Handler
	done   chan struct{}

	mu       sync.Mutex
	links    map[string]time.Time // one-time link token -> expiry
	sessions map[string]*session  // cookie value -> session
	order    []string             // session cookies, oldest first
	closed   bool
}

// Start listens on 127.0.0.1 on a random port and serves the page until
// ctx ends or Close is called.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	// Never another interface: the page is for the person at this machine.
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("selfhelp: listen on 127.0.0.1: %w", err)
	}
	sub, err := fs.Sub(webFS, "web")
	if err != nil {
		ln.Close()
		return nil, err
	}
	s := &Server{cfg: cfg, agent: localipc.NewClient(cfg.Socket), log: cfg.Logger, ln: ln, port: strconv.Itoa(ln.Addr().(*net.TCPAddr).Port),
		static: http.FileServerFS(sub), done: make(chan struct{}),
		links: map[string]time.Time{}, sessions: map[string]*session{}}
	s.srv = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Warn("the Get help page stopped", "err", err)
		}
	}()
	context.AfterFunc(ctx, func() { s.Close() })
	s.log.Info("Get help page listening", "addr", ln.Addr().String())
	return s, nil
}

// Addr is the address the server listens on (127.0.0.1:PORT).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL returns a new one-time link to the page. Each call makes a fresh
// link, usable once within Config.LinkTTL: opening it exchanges the token
// for a session cookie.
func (s *Server) URL() string {
	tok := randomToken()
	s.mu.Lock()
	now := time.Now()
	for t, exp := range s.links {
		if now.After(exp) {
			delete(s.links, t)
		}
	}
	s.links[tok] = now.Add(s.cfg.LinkTTL)
	s.mu.Unlock()
	return "http://127.0.0.1:" + s.port + "/open?token=" + tok
}

// Close stops the server. Sessions still open are recorded with the agent
// as ended without a ticket (unless they filed one).
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	open := make([]*session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		open = append(open, ss)
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		// A fix still running in a request: cut its connection; the agent
		// finishes the fix on its own.
		err = s.srv.Close()
	}
	<-s.done
	for _, ss := range open {
		s.recordSession(ctx, ss)
	}
	return err
}

// Done is closed when the server has stopped.
func (s *Server) Done() <-chan struct{} { return s.done }

func randomToken() string {
	b := make([]byte, 32) // 256 bits
	if _, err := rand.Read(b); err != nil {
		panic("selfhelp: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) cookieName() string { return cookiePrefix + s.port }

// routes is the whole HTTP surface, wrapped in the checks every request
// passes.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /open", s.open)
	api := http.NewServeMux()
	api.HandleFunc("GET /api/session", s.apiSession)
	api.HandleFunc("GET /api/status", s.apiStatus)
	api.HandleFunc("GET /api/diagnose", s.apiDiagnose)
	api.HandleFunc("GET /api/fixes", s.apiFixes)
	api.HandleFunc("POST /api/kb", s.apiKB)
	api.HandleFunc("POST /api/run", s.apiRun)
	api.HandleFunc("POST /api/help", s.apiHelp)
	api.HandleFunc("GET /api/templates", s.apiTemplates)
	api.HandleFunc("GET /api/software", s.apiSoftware)
	api.HandleFunc("GET /api/progress", s.apiProgress)
	api.HandleFunc("GET /api/tickets", s.apiTickets)
	api.HandleFunc("POST /api/reply", s.apiReply)
	api.HandleFunc("POST /api/survey", s.apiSurvey)
	api.HandleFunc("GET /api/consent", s.apiConsentPending)
	api.HandleFunc("POST /api/consent", s.apiConsentAnswer)
	api.HandleFunc("POST /api/leave", s.apiLeave)
	api.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API route: "+r.Method+" "+r.URL.Path)
	})
	mux.Handle("/api/", s.authed(api))
	mux.Handle("GET /{$}", s.authed(http.HandlerFunc(s.page)))
	mux.Handle("GET /app.js", s.authed(s.static))
	mux.Handle("GET /app.css", s.authed(s.static))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not found")
	})
	return s.guard(mux)
}

// guard applies the checks every request passes, before any routing:
// the Host header, the fetch metadata and the response headers.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; "+
			"img-src 'self' data: blob:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		// DNS rebinding: a name that resolves to 127.0.0.1 still carries
		// its own name in Host.
		if !s.hostOK(r.Host) {
			writeError(w, http.StatusMisdirectedRequest, "this page answers only to http://127.0.0.1:"+s.port+
				" or http://localhost:"+s.port+"; open Get help from the Tierline icon")
			return
		}
		// A request another site's page started is refused outright,
		// whatever it carries.
		if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
			writeError(w, http.StatusForbidden, "requests from other web sites are refused")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !s.originOK(r.Header.Get("Origin")) {
				writeError(w, http.StatusForbidden, "requests from other web sites are refused (the Origin header must be this page's)")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) hostOK(host string) bool {
	return host == "127.0.0.1:"+s.port || host == "localhost:"+s.port
}

func (s *Server) originOK(origin string) bool {
	return origin == "http://127.0.0.1:"+s.port || origin == "http://localhost:"+s.port
}

// open exchanges a one-time link token for a session cookie and sends the
// browser on to the page, so the token leaves the address bar.
func (s *Server) open(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	s.mu.Lock()
	exp, ok := s.links[tok]
	if ok {
		delete(s.links, tok) // spent, whatever happens next
	}
	s.mu.Unlock()
	if tok == "" || !ok || time.Now().After(exp) {
		writeError(w, http.StatusForbidden, "this Get help link has been used already or has expired; "+
			"open Get help again from the Tierline icon (or run tierline-agent gethelp)")
		return
	}
	ss := s.newSession()
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: ss.cookie, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

type ctxKey struct{}

// authed admits requests carrying a live session's cookie, and for
// requests that change something also its CSRF secret.
func (s *Server) authed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ss := s.sessionOf(r)
		if ss == nil {
			writeError(w, http.StatusForbidden, "this page needs the link Get help opens: "+
				"open Get help from the Tierline icon (or run tierline-agent gethelp) and use the link it gives")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			got := r.Header.Get(CSRFHeader)
			if subtle.ConstantTimeCompare([]byte(got), []byte(ss.csrf)) != 1 {
				writeError(w, http.StatusForbidden, "missing or wrong "+CSRFHeader+" header: reload the page")
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, ss)))
	})
}

func (s *Server) sessionOf(r *http.Request) *session {
	c, err := r.Cookie(s.cookieName())
	if err != nil || c.Value == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, ss := range s.sessions {
		if subtle.ConstantTimeCompare([]byte(k), []byte(c.Value)) == 1 {
			return ss
		}
	}
	return nil
}

func (s *Server) newSession() *session {
	ss := &session{cookie: randomToken(), csrf: randomToken(), id: wire.NewID(), started: time.Now().UTC()}
	var drop *session
	s.mu.Lock()
	s.sessions[ss.cookie] = ss
	s.order = append(s.order, ss.cookie)
	if len(s.order) > s.cfg.MaxSessions {
		drop = s.sessions[s.order[0]]
		delete(s.sessions, s.order[0])
		s.order = s.order[1:]
	}
	s.mu.Unlock()
	if drop != nil {
		go s.recordSession(context.Background(), drop)
	}
	return ss
}

// page serves index.html.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	b, err := webFS.ReadFile("web/index.html")
	if err != nil {
		writeError(w, http.StatusInternalServerError, "the page is missing from this build")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b)
}

// OnDemand starts the page on first use: url starts it (once) and returns
// its one-time link; stop closes it if it was started. The tray uses it.
func OnDemand(ctx context.Context, cfg Config) (url func(context.Context) (string, error), stop func()) {
	var mu sync.Mutex
	var page *Server
	url = func(context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if page == nil {
			p, err := Start(ctx, cfg)
			if err != nil {
				return "", err
			}
			page = p
		}
		return page.URL(), nil
	}
	stop = func() {
		mu.Lock()
		defer mu.Unlock()
		if page != nil {
			page.Close()
		}
	}
	return url, stop
}

// Open serves the page for the user at a terminal (`tierline-agent
// gethelp`): it prints the one-time link to out, opens it in the user's
// browser when browser is set (a failure is told to errOut; this runs in
// the user's own session, never the service's), and serves until ctx
// ends.
func Open(ctx context.Context, cfg Config, out, errOut io.Writer, browser bool) error {
	srv, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	url := srv.URL()
	fmt.Fprintf(out, "Get help is open at:\n%s\n", url)
	if browser {
		if err := execx.OpenURL(url); err != nil {
			fmt.Fprintf(errOut, "tierline-agent gethelp: could not open a browser (%v); open the link above yourself\n", err)
			fmt.Fprintln(out, "Open the link above in your browser.")
		}
	}
	fmt.Fprintln(out, "Press Ctrl-C to stop.")
	<-ctx.Done()
	return nil
}
