// Package server runs tierline-hub: it opens the store, loads or creates the
// CA, and serves agents, the API, health and metrics over one TLS listener.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tierline/tierline/hub/admission"
	"github.com/tierline/tierline/hub/api"
	"github.com/tierline/tierline/hub/auth"
	"github.com/tierline/tierline/hub/console"
	"github.com/tierline/tierline/hub/eventbus"
	"github.com/tierline/tierline/hub/gateway"
	"github.com/tierline/tierline/hub/mailin"
	"github.com/tierline/tierline/hub/pki"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/hub/updates"
	"github.com/tierline/tierline/hub/vendors"
	"github.com/tierline/tierline/shared/instancelock"
	"github.com/tierline/tierline/shared/ratelimit"
	"github.com/tierline/tierline/shared/wire"
)

// Config configures a hub.
type Config struct {
	DataDir string // CA, server certificate and (by default) the SQLite database
	DB      string // PostgreSQL URL; empty: SQLite in DataDir
	Listen  string // host:port
	URL     string // URL agents use to reach the hub; default from Listen
	TLSCert string
	TLSKey  string
	// TierLimits are the per-tier SLA time limits (tier -> limit).
	TierLimits map[int]time.Duration
	// BusinessHours, when set, make SLA clocks count business time only.
	BusinessHours *tickets.BusinessHours
	// SLAEvery is how often the SLA loop looks for due tickets (default 2s).
	SLAEvery time.Duration
	// DeflectionWindow is how long a device must not come back after a Get
	// help session that fixed its problem for it to count as deflected
	// (default 72 h).
	DeflectionWindow time.Duration
	// DeviceBudgets are the per-device budgets of agent message types
	// (nil: gateway.DefaultBudgets).
	DeviceBudgets map[wire.Type]ratelimit.Limit
	// ResponseLimits are the per-tier response limits (none by default).
	ResponseLimits map[int]time.Duration
	// SMTP is the mail server for vendor email; empty Addr: no email.
	SMTP vendors.SMTPConfig
	// Mail is the email intake: the IMAP mailbox that becomes tickets
	// (hub/mailin) and the support address replies come from (hub/mailout,
	// through SMTP). Empty Addr: no email intake.
	Mail mailin.Config
	// SSO is single sign-on and whether passwords may still log in.
	SSO SSOConfig
	// PprofListen, if set, serves Go's profiles on this loopback address
	// (off by default).
	PprofListen string
	// HealthListen, if set, serves /healthz, /readyz and /metrics in
	// plain HTTP on this address as well, outside the admission queue of
	// new connections, so a balancer's checks and Prometheus are answered
	// during a reconnect storm (off by default).
	HealthListen string
	// VendorRetry is the first wait before a failed vendor delivery (or
	// notification email or webhook) is tried again (default 30s,
	// doubling up to 30m).
	VendorRetry time.Duration
	// NotifyLimit notification deliveries per user and channel in
	// NotifyWindow (default 30 per hour); NotifyOfflineAfter is how long a
	// device must be gone before its group's watchers hear (default 10m).
	NotifyLimit        int
	NotifyWindow       time.Duration
	NotifyOfflineAfter time.Duration
	// SessionIdle ends a console session after this long without a request
	// (default 30m).
	SessionIdle time.Duration
	// Retention of raw telemetry and of rollups, and rollup width.
	RawRetention    time.Duration
	RollupRetention time.Duration
	RollupBucket    time.Duration
	RetentionEvery  time.Duration
	// ReplicaLease is how long a replica on PostgreSQL counts as alive
	// after renewing its lease (default 15 s): its devices are marked
	// offline when it has lapsed (hub/replicas).
	ReplicaLease time.Duration
	Logger       *slog.Logger
	// Out receives the lines a person starting the hub needs to see (URL,
	// first admin's credentials).
	Out io.Writer
	// ReadyMinFree is the free space in the data directory below which
	// a hub on the embedded store answers /readyz with 503 (default
	// DefaultReadyMinFree).
	ReadyMinFree uint64
	// Ready, if set, is called once the listener accepts connections.
	Ready func(addr net.Addr)
}

// CheckAndSetDefaults validates c and fills defaults.
func (c *Config) CheckAndSetDefaults() error {
	if c.DataDir == "" {
		return errors.New("--data is required: the directory for the CA, certificates and embedded database")
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8443"
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("--listen %q is not host:port: %w", c.Listen, err)
	}
	if c.URL == "" {
		host, port, _ := net.SplitHostPort(c.Listen)
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		c.URL = "https://" + net.JoinHostPort(host, port)
	}
	u, err := url.Parse(c.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("--url %q must be an https:// URL agents can reach", c.URL)
	}
	if err := c.SSO.check(c.URL); err != nil {
		return err
	}
	if err := checkPprofListen(c.PprofListen); err != nil {
		return err
	}
	if err := checkHealthListen(c.HealthListen); err != nil {
		return err
	}
	if err := CheckDB(c.DB); err != nil {
		return err
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if c.RawRetention <= 0 {
		c.RawRetention = 24 * time.Hour
	}
	if c.RollupRetention <= 0 {
		c.RollupRetention = 30 * 24 * time.Hour
	}
	if c.RollupBucket <= 0 {
		c.RollupBucket = 5 * time.Minute
	}
	if c.RetentionEvery <= 0 {
		c.RetentionEvery = 10 * time.Minute
	}
	if c.ReadyMinFree == 0 {
		c.ReadyMinFree = DefaultReadyMinFree
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Out == nil {
		c.Out = os.Stdout
	}
	return nil
}

// LockFile in the data directory is held by the hub serving it.
const LockFile = "hub.lock"

// DBPath is the embedded database's file in a data directory.
func DBPath(dataDir string) string { return filepath.Join(dataDir, "tierline.db") }

// OpenStore opens the store a hub with this data directory and --db uses,
// creating the embedded database on the first start.
func OpenStore(ctx context.Context, dataDir, db string) (*store.Store, error) {
	if err := CheckDB(db); err != nil {
		return nil, err
	}
	if db == "" {
		if dataDir == "" {
			return nil, errors.New("--data (or --db) is required")
		}
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
		db = DBPath(dataDir)
	}
	return store.Open(ctx, db)
}

// OpenExistingStore opens the store of a hub that has started before, for
// the admin verbs: a --data that holds no hub's database is refused and
// nothing is created in it.
func OpenExistingStore(ctx context.Context, dataDir, db string) (*store.Store, error) {
	if err := CheckDB(db); err != nil {
		return nil, err
	}
	if db == "" {
		if dataDir == "" {
			return nil, errors.New("--data (or --db) is required")
		}
		if _, err := os.Stat(DBPath(dataDir)); err != nil {
			return nil, fmt.Errorf("--data %s is not a hub's data directory (it has no %s): give the directory `tierline-hub serve --data` uses, or start the hub once with it", dataDir, filepath.Base(DBPath(dataDir)))
		}
	}
	return OpenStore(ctx, dataDir, db)
}

// CheckDB checks a --db value: empty (the embedded SQLite database in
// --data) or a PostgreSQL URL.
func CheckDB(db string) error {
	if db == "" {
		return nil
	}
	u, err := url.Parse(db)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return fmt.Errorf("--db %q: give a PostgreSQL URL (postgres://user@host:5432/tierline?sslmode=verify-full), or leave --db out for the embedded SQLite database in --data", wire.Clip(redactURL(db), 80))
	}
	return nil
}

// redactURL hides a password in what an error quotes back.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			return u.Redacted()
		}
	}
	return s
}

// Run serves until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return err
	}
	log := cfg.Logger
	raiseFileLimit(log)
	// One hub per data directory: a second one would reset the first one's
	// device presence (ResetPresence below) and share its database; on
	// PostgreSQL each replica has its own data directory and replica id.
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	lock, err := instancelock.Acquire(cfg.DataDir, LockFile, "tierline-hub")
	if err != nil {
		return err
	}
	defer lock.Release()
	st, err := OpenStore(ctx, cfg.DataDir, cfg.DB)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer st.Close()

	authority, err := loadAuthority(cfg)
	if err != nil {
		return err
	}
	if err := st.PutSetting(ctx, "hub.url", cfg.URL); err != nil {
		return fmt.Errorf("save hub url: %w", err)
	}
	if err := nameReplica(cfg, st); err != nil {
		return err
	}
	observeJobs(st)
	if err := st.ResetPresence(ctx); err != nil {
		return fmt.Errorf("reset device presence: %w", err)
	}
	firstAdmin, err := ensureFirstAdmin(ctx, st, cfg.DataDir)
	if err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(newFleetCollector(st), ticketEvents, changesDropped, jobPasses)

	vendorSender, err := vendors.New(vendors.Config{SMTP: cfg.SMTP, Logger: log})
	if err != nil {
		return err
	}
	// Ticket changes go out on a bus, off the request path and the SLA
	// loop: to the devices (each on its own queue), the console's live
	// pages and the support metrics. A subscriber whose queue is full
	// loses the change (counted, logged): devices hear it again in their
	// catch-up on reconnect, console pages are told to reload, metrics
	// undercount.
	changes := eventbus.New[tickets.Change]()
	ticketSvc, err := tickets.New(tickets.Config{Store: st, Logger: log, Changes: changes,
		Policy:  tickets.Policy{Limits: cfg.TierLimits, Response: cfg.ResponseLimits, Hours: cfg.BusinessHours},
		Vendors: vendorSender, HubURL: cfg.URL, RetryBase: cfg.VendorRetry, ReplyByMail: cfg.Mail.Addr != "",
		DeflectionWindow: cfg.DeflectionWindow})
	if err != nil {
		return fmt.Errorf("tickets: %w", err)
	}
	mail, err := startMail(cfg, st, ticketSvc, vendorSender, log)
	if err != nil {
		return err
	}
	// Devices join the tickets: help requests from agents become tickets,
	// ticket changes go back to the device, fix runs that name a ticket go
	// on its timeline.
	devices := tickets.NewDevices(ticketSvc, st, log, ticketEvents.observeSession)
	ssoSettings, err := cfg.SSO.settings(st, cfg.URL)
	if err != nil {
		return err
	}
	con, err := console.New(console.Config{Store: st, Logger: log, SessionIdle: cfg.SessionIdle, Policy: ticketSvc.Policy,
		Metrics: ticketSvc.Metrics, Mail: mail.status, URL: cfg.URL, SSO: ssoSettings})
	if err != nil {
		return err
	}
	// The console hears about finished runs besides the tickets, to update
	// open pages live; with replicas, the other replicas' pages and API
	// callers waiting for the run hear too.
	var routes deviceRoutes
	onRunFinished := func(r store.Run) {
		devices.RunFinished(r)
		con.PublishRun(r)
		if routes.runFinished != nil {
			routes.runFinished(r)
		}
	}
	// A running run's progress step updates the open pages of this
	// replica and, with replicas, of the others.
	onRunProgress := func(ctx context.Context, id string) {
		if r, err := st.GetRun(ctx, id); err == nil {
			con.PublishRun(r)
		}
		if routes.runProgress != nil {
			routes.runProgress(id)
		}
	}
	// PostgreSQL takes several ingest transactions at once: a lone loop
	// spent most of a steady minute of 16,700 agents waiting on its
	// round trips (docs/benchmarks.md).
	ingestWorkers := 1
	if st.Dialect() == store.DialectPostgres {
		ingestWorkers = 4
	}
	gw, err := gateway.New(gateway.Config{Store: st, Logger: log, Registerer: reg, DeviceDesk: devices, OnRunFinished: onRunFinished,
		OnRunProgress: onRunProgress, Budgets: cfg.DeviceBudgets, Recipes: st, IngestWorkers: ingestWorkers})
	if err != nil {
		return err
	}
	routes = localRoutes(gw, con)
	rep, err := newReplicas(cfg, st, gw, con, log)
	if err != nil {
		return err
	}
	if rep != nil {
		routes = replicaRoutes(rep)
	}
	notifier := tickets.NewDeviceNotifier(routes.notify, log.With("component", "device-notifier"),
		func() { changesDropped.WithLabelValues("device").Inc() })
	dropped := func(name string, also func()) func(tickets.Change) {
		return func(c tickets.Change) {
			changesDropped.WithLabelValues(name).Inc()
			log.Warn("ticket change dropped: a subscriber's queue is full", "subscriber", name, "ticket", c.Ticket.Number)
			if also != nil {
				also()
			}
		}
	}
	for _, name := range []string{"device-notifier", "console", "support-metrics", "assigner", "mail-outbox", "device", "replicas"} {
		changesDropped.WithLabelValues(name) // at zero from the start
	}
	changes.Subscribe(eventbus.Subscriber[tickets.Change]{Name: "device-notifier", Queue: 1024, Handle: notifier.Handle,
		Dropped: dropped("device-notifier", nil)})
	changes.Subscribe(eventbus.Subscriber[tickets.Change]{Name: "console", Queue: 1024, Handle: con.PublishTicket,
		Dropped: dropped("console", func() { con.Publish(console.Notice{Kind: "resync"}) })})
	changes.Subscribe(eventbus.Subscriber[tickets.Change]{Name: "support-metrics", Queue: 1024,
		Handle: ticketEvents.observeChange(st, log), Dropped: dropped("support-metrics", nil)})
	// A ticket whose change was dropped here stays unassigned, in its queue.
	assigner := tickets.NewAssigner(ticketSvc, st, log.With("component", "assigner"))
	changes.Subscribe(eventbus.Subscriber[tickets.Change]{Name: "assigner", Queue: 1024, Handle: assigner.Handle,
		Dropped: dropped("assigner", nil)})
	if rep != nil {
		// The other replicas' console pages; one dropped here is seen
		// there at the next page load.
		changes.Subscribe(eventbus.Subscriber[tickets.Change]{Name: "replicas", Queue: 1024, Handle: rep.TicketChanged,
			Dropped: dropped("replicas", nil)})
	}
	if mail.outbox != nil {
		// A dropped change only delays a reply to the outbox's next
		// round: the reply is queued in the store with its message.
		changes.Subscribe(eventbus.Subscriber[tickets.Change]{Name: "mail-outbox", Queue: 1024, Handle: mail.outbox.Handle,
			Dropped: dropped("mail-outbox", nil)})
	}
	techNotifier, err := startNotify(cfg, st, vendorSender, routes.notified, changes, reg, dropped, log)
	if err != nil {
		return err
	}
	defer func() {
		// On an early return; after a normal shutdown both are closed already.
		_ = changes.Close(context.Background())
		_ = notifier.Close(context.Background())
	}()
	fingerprint := authority.Fingerprint()
	apiHandler, err := api.New(api.Config{
		Store: st, Logger: log, OnRevoke: routes.revoked, IsConnected: routes.isConnected,
		RequestChecks: func(ctx context.Context, id string, names []string) (string, error) {
			rid, err := routes.requestChecks(ctx, id, names)
			if errors.Is(err, gateway.ErrOffline) {
				return "", api.ErrOffline
			}
			return rid, err
		},
		EnrollToken: func(secret string) (string, error) {
			return wire.EnrollToken{HubURL: cfg.URL, CAFingerprint: fingerprint, Secret: secret}.Encode(), nil
		},
		Diagnose:      routes.diagnose,
		DispatchRun:   routes.dispatchRun,
		WaitRun:       gw.WaitRun,
		Tickets:       ticketSvc,
		Session:       con.APISession,
		SSO:           ssoSettings,
		PolicyChanged: routes.policyChanged,
		GroupChanged:  routes.groupChanged,
		// Reading notifications on one page clears the bell on the others.
		NotificationsRead: routes.notificationsRead,
	})
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.HandleFunc(wire.ConnectPath, gw.ServeConnect)
	mux.HandleFunc(wire.EnrollPath, gw.ServeEnroll)
	upd, err := updates.New(updates.Config{Store: st, Logger: log})
	if err != nil {
		return err
	}
	upd.Register(mux)
	mux.Handle("/api/", apiHandler)
	// Liveness (the process answers, the database is reachable) and
	// readiness (the store commits): docs/operations.md. They and the
	// metrics are served on --health-listen too.
	ready := &readiness{store: st, minFree: cfg.ReadyMinFree}
	if cfg.DB == "" {
		ready.dataDir = cfg.DataDir
	}
	health := http.NewServeMux()
	health.Handle("GET /metrics", metricsHandler(reg))
	health.Handle("GET /healthz", liveness(st, gw))
	health.Handle("GET /readyz", ready)
	for _, p := range []string{"GET /metrics", "GET /healthz", "GET /readyz"} {
		mux.Handle(p, health)
	}
	// The web console: /, /login, /logout, /queue, /tickets/{id}, /events,
	// /static/ and its other pages; ServeMux panics here if one collides.
	con.Register(mux)

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (is another hub running there?): %w", cfg.Listen, err)
	}
	sides, err := openSides(
		sideSpec{"--pprof-listen", cfg.PprofListen, "/debug/pprof/", pprofHandler()},
		sideSpec{"--health-listen", cfg.HealthListen, "/readyz", health})
	if err != nil {
		ln.Close()
		return err
	}
	// New connections wait in the kernel for a slot before their TLS
	// handshake (hub/admission).
	ln = admission.NewListener(ln, admission.Config{Slots: admissionSlots, Registerer: reg})
	srv := &http.Server{
		Handler:           admission.Handler(mux, wire.ConnectPath),
		ConnContext:       admission.ConnContext,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		TLSConfig: &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{authority.Certificate},
		},
	}
	countHandshakes(srv.TLSConfig, reg)
	if err := registerReplica(ctx, rep, ln.Addr()); err != nil {
		ln.Close()
		closeSides(sides)
		return err
	}
	useTicketKeys(ctx, st, srv.TLSConfig, log)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(4)
	if mail.collector != nil {
		wg.Add(2)
		go func() { defer wg.Done(); mail.collector.Run(ctx) }()
		go func() { defer wg.Done(); mail.outbox.Run(ctx) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); techNotifier.Run(ctx) }()
	go func() { defer wg.Done(); con.Run(ctx) }()
	go func() { defer wg.Done(); _ = gw.Run(ctx) }()
	go func() { defer wg.Done(); retentionLoop(ctx, st, cfg, log) }()
	go func() { defer wg.Done(); ticketSvc.Loop(ctx, cfg.SLAEvery) }()
	wg.Add(1)
	go func() { defer wg.Done(); keepTicketKeys(ctx, st, srv.TLSConfig, log) }()
	if rep != nil {
		wg.Add(1)
		go func() { defer wg.Done(); rep.Run(ctx) }()
	}
	for _, sd := range sides {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := serveSide(ctx, sd, log); err != nil {
				log.Error("serving apart from the agents", "url", "http://"+sd.ln.Addr().String()+sd.path, "err", err)
			}
		}()
	}

	fmt.Fprintf(cfg.Out, "Tierline hub listening on %s\n", ln.Addr())
	fmt.Fprintf(cfg.Out, "  console/API URL: %s/\n", cfg.URL)
	fmt.Fprintf(cfg.Out, "  CA fingerprint:  %s\n", fingerprint)
	if firstAdmin != "" {
		fmt.Fprintf(cfg.Out, "  first admin:     %s\n", firstAdmin)
	}
	log.Info("hub started", "listen", ln.Addr().String(), "url", cfg.URL, "store", st.Dialect())
	if cfg.Ready != nil {
		cfg.Ready(ln.Addr())
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	shutdownCtx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	_ = srv.Shutdown(shutdownCtx)
	cancel()
	wg.Wait()
	// Nothing publishes ticket changes any more: send what is queued.
	if err := changes.Close(shutdownCtx); err != nil {
		log.Warn("ticket changes not all handled at shutdown", "err", err)
	}
	if err := notifier.Close(shutdownCtx); err != nil {
		log.Warn("ticket updates not all sent to devices at shutdown", "err", err)
	}
	log.Info("hub stopped")
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func loadAuthority(cfg Config) (*pki.Authority, error) {
	if cfg.TLSCert != "" {
		return pki.LoadExternal(cfg.TLSCert, cfg.TLSKey)
	}
	u, _ := url.Parse(cfg.URL)
	hosts := []string{"localhost", "127.0.0.1", "::1", u.Hostname()}
	if h, _, err := net.SplitHostPort(cfg.Listen); err == nil && h != "" && h != "0.0.0.0" && h != "::" {
		hosts = append(hosts, h)
	}
	if hn, err := os.Hostname(); err == nil {
		hosts = append(hosts, hn)
	}
	a, err := pki.LoadOrCreate(cfg.DataDir, dedupe(hosts), time.Now())
	if err != nil {
		return nil, fmt.Errorf("load or create the hub CA in %s: %w", cfg.DataDir, err)
	}
	return a, nil
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		s = strings.Trim(s, "[]")
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// InitialAdminFile holds the first admin's generated credentials.
const InitialAdminFile = "initial-admin.txt"

// ensureFirstAdmin creates the user "admin" with a random password on the
// first start and writes the credentials (owner-only) to the data
// directory. It returns a line describing them, or "" if users exist.
func ensureFirstAdmin(ctx context.Context, st *store.Store, dataDir string) (string, error) {
	n, err := st.CountUsers(ctx)
	if err != nil {
		return "", fmt.Errorf("count users: %w", err)
	}
	path := filepath.Join(dataDir, InitialAdminFile)
	if n > 0 {
		if raw, err := os.ReadFile(path); err == nil {
			return strings.TrimSpace(string(raw)) + " (from " + path + ")", nil
		}
		return "", nil
	}
	password := auth.Secret(12)
	hash, err := auth.HashPassword(password)
	if err != nil {
		return "", err
	}
	if err := st.CreateUser(ctx, store.User{ID: wire.NewID(), Name: "admin", Role: store.RoleAdmin, PasswordHash: hash, CreatedAt: time.Now()}); err != nil {
		return "", fmt.Errorf("create first admin: %w", err)
	}
	line := "name admin, password " + password
	// A file left by another database (the data directory served SQLite,
	// now --db points elsewhere) keeps its credentials: they may still be
	// the only record of that database's admin.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return line + " (not saved: " + path + " holds another database's first admin; note this password now and change it after logging in)", nil
	}
	if err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	_, err = f.WriteString(line + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return line + " (saved in " + path + "; change it after logging in)", nil
}

func retentionLoop(ctx context.Context, st *store.Store, cfg Config, log *slog.Logger) {
	t := time.NewTicker(cfg.RetentionEvery)
	defer t.Stop()
	for {
		var res store.PruneResult
		_, err := st.WithJobLock(ctx, "retention", func(ctx context.Context) error {
			now := time.Now()
			var err error
			res, err = st.Prune(ctx, now.Add(-cfg.RawRetention), now.Add(-cfg.RollupRetention), cfg.RollupBucket)
			return err
		})
		if err != nil && ctx.Err() == nil {
			log.Warn("telemetry retention pass failed; will retry", "err", err)
		} else if res.RawDeleted > 0 || res.RollupsDeleted > 0 {
			log.Info("telemetry retention", "rolled_up", res.RolledUp, "raw_deleted", res.RawDeleted, "rollups_deleted", res.RollupsDeleted)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
