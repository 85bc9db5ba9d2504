// Package daemon is the running agent: it connects to the enrolled hub,
// sends telemetry, inventory and health checks, runs the fixes the hub
// asks for, serves the local socket for the tray and the Get help page,
// and takes signed updates. agent/cmd/tierline-agent parses the `run`
// flags into a Config and calls New and Run.
package daemon

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/tierline/tierline/agent/cmdline"
	"github.com/tierline/tierline/agent/collect"
	"github.com/tierline/tierline/agent/crashes"
	"github.com/tierline/tierline/agent/fixes"
	"github.com/tierline/tierline/agent/gethelp"
	"github.com/tierline/tierline/agent/health"
	"github.com/tierline/tierline/agent/history"
	"github.com/tierline/tierline/agent/hubpolicy"
	"github.com/tierline/tierline/agent/identity"
	"github.com/tierline/tierline/agent/inventory"
	"github.com/tierline/tierline/agent/link"
	"github.com/tierline/tierline/agent/localapi"
	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/agent/recipes"
	"github.com/tierline/tierline/agent/spool"
	"github.com/tierline/tierline/agent/version"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/instancelock"
	"github.com/tierline/tierline/shared/wire"
)

// Config is how the agent runs; the `run` flags fill it.
type Config struct {
	// State is the state directory written by enrollment.
	State string
	// Interval is the telemetry sample interval. Zero values take the
	// defaults of DefaultConfig.
	Interval time.Duration
	// SpoolMaxBytes caps the spool (default spool.DefaultMaxBytes).
	SpoolMaxBytes int64
	// Backoff is the reconnect backoff (defaults: link's).
	Backoff link.Backoff
	// PingInterval and PingTimeout: a half-open connection (the hub or the
	// path gone without a FIN or RST) is noticed within PingInterval: the
	// agent pings once the hub has been quiet for PingInterval-PingTimeout
	// and drops the connection when no pong comes within PingTimeout
	// (defaults: link's, 30 s and 10 s).
	PingInterval, PingTimeout time.Duration
	// CheckEvery is how often the health checks run (default 1 min).
	CheckEvery time.Duration
	// InventoryEvery is how often the inventory is read again (default 1 h).
	InventoryEvery time.Duration
	// WatchServices are the services the service-stopped check watches.
	WatchServices []string
	// DNSNames are names dns-resolution asks every resolver for besides
	// the hub's: the company's and public ones the admin lists.
	DNSNames []string
	// ResolvConf, when set, is the resolver configuration dns-resolution
	// reads instead of /etc/resolv.conf.
	ResolvConf string
	// PrintStuckAfter is how long a print job may wait before
	// print-jobs-stuck calls it stuck (default 10 min).
	PrintStuckAfter time.Duration
	// PolicyFile is the device fix policy (default STATE/policy.json).
	PolicyFile string
	// Socket is the local socket (default: SocketPath(State)).
	Socket string
	// ConsentWait bounds how long a fix waits for the user's consent
	// (default 2 min).
	ConsentWait time.Duration
	// ServiceManaged: a service manager started the agent and starts it
	// again when it exits; otherwise (in the foreground on Unix) a restart
	// into another version replaces this process in place.
	ServiceManaged bool
	Logger         *slog.Logger
	// Limits bound the local socket's callers (DefaultConfig: the
	// defaults; zero: none).
	Limits Limits
}

// AddCheckFlags registers the `run` flags of the health checks' settings.
func (c *Config) AddCheckFlags(fs *flag.FlagSet) {
	fs.Var(cmdline.List{L: &c.WatchServices}, "watch-services", "comma-separated services the service-stopped check watches")
	fs.Var(cmdline.List{L: &c.DNSNames}, "dns-names", "comma-separated names (company and public) the dns-resolution check asks every resolver for, besides the hub's")
	fs.StringVar(&c.ResolvConf, "resolv-conf", "", "resolver configuration the dns-resolution check reads (default /etc/resolv.conf)")
	fs.Var(cmdline.Duration{D: &c.PrintStuckAfter}, "print-stuck-after", "how long a print job may wait before the print-jobs-stuck check calls it stuck")
}

// DefaultConfig is the Config with every default filled in, for the flags
// to show and change.
func DefaultConfig() Config {
	return Config{Interval: 10 * time.Second, SpoolMaxBytes: spool.DefaultMaxBytes,
		Backoff:      link.Backoff{Base: link.DefaultBackoffBase, Max: link.DefaultBackoffMax},
		PingInterval: link.DefaultPingInterval, PingTimeout: link.DefaultPingTimeout,
		CheckEvery: time.Minute, InventoryEvery: time.Hour, ConsentWait: 2 * time.Minute, PrintStuckAfter: 10 * time.Minute,
		Limits: Limits{Help: gethelp.DefaultHelpPerUser, HelpDevice: gethelp.DefaultHelpPerDevice, Fix: localapi.DefaultFixPerUser}}
}

// SocketPath is where the agent listens without Config.Socket: the state
// directory's socket, or the service's named pipe on Windows.
func SocketPath(state string) string {
	if runtime.GOOS == "windows" {
		return localipc.DefaultSocket()
	}
	return filepath.Join(state, localipc.SocketName)
}

// ConfigError is a Config the agent cannot run with (a usage error).
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// RevokedError: the hub revoked this device; the agent stops and must be
// enrolled again.
type RevokedError struct {
	// State is the state directory to enroll again into.
	State string
}

func (e *RevokedError) Error() string {
	return "the hub revoked this device; enroll it again: tierline-agent enroll --force --token ... --state " + e.State
}

// Unwrap makes errors.Is(err, link.ErrRevoked) hold.
func (e *RevokedError) Unwrap() error { return link.ErrRevoked }

// RestartError: Run stopped because a signed update (or its rollback) put
// another binary in place, which the service manager must now start
// (exit status 75: systemd's Restart=on-failure, launchd's KeepAlive and
// the Windows service recovery actions all restart on it).
type RestartError struct {
	// Executable is the binary to start.
	Executable string
	// Reason says why, for the log.
	Reason string
}

func (e *RestartError) Error() string {
	return fmt.Sprintf("restart into %s: %s", e.Executable, e.Reason)
}

// Agent is the running agent.
type Agent struct {
	cfg Config
	log *slog.Logger
	// local is the machine's own fix policy (its file and flags); policy
	// is local narrowed by the hub's policy (hub).
	local   fixes.Policy
	hub     hubpolicy.Applied
	policy  fixes.Policy
	id      *identity.Identity
	journal *fixes.Journal
	recipes *recipes.Store
	hubAddr string
	lock    *instancelock.Lock
}

// LockFile in the state directory is held by the agent running on it.
const LockFile = "agent.lock"

// New checks cfg and loads what the agent cannot start without: the fix
// policy, the identity and the fixes journal.
func New(cfg Config) (*Agent, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	def := DefaultConfig()
	for _, d := range []struct{ v, def *time.Duration }{{&cfg.Interval, &def.Interval}, {&cfg.Backoff.Base, &def.Backoff.Base},
		{&cfg.Backoff.Max, &def.Backoff.Max}, {&cfg.CheckEvery, &def.CheckEvery}, {&cfg.InventoryEvery, &def.InventoryEvery},
		{&cfg.ConsentWait, &def.ConsentWait}, {&cfg.PingInterval, &def.PingInterval}, {&cfg.PingTimeout, &def.PingTimeout}} {
		if *d.v <= 0 {
			*d.v = *d.def
		}
	}
	if cfg.SpoolMaxBytes <= 0 {
		cfg.SpoolMaxBytes = def.SpoolMaxBytes
	}
	if cfg.PolicyFile == "" {
		cfg.PolicyFile = filepath.Join(cfg.State, fixes.PolicyFile)
	}
	if cfg.Socket == "" {
		cfg.Socket = SocketPath(cfg.State)
	}
	a := &Agent{cfg: cfg, log: cfg.Logger}
	// A policy the agent cannot apply stops it before anything else.
	var err error
	if a.policy, err = fixes.LoadPolicy(cfg.PolicyFile); err != nil {
		return nil, err
	}
	// The services the admin watches may be restarted unless the policy
	// file says otherwise.
	a.policy.Watched = cfg.WatchServices
	a.local = a.policy
	// The hub's policy last accepted applies before the hub is reached; a
	// cache this agent cannot read is dropped, not fatal: the hub sends
	// the policy again at connection.
	if a.hub, err = hubpolicy.Cached(cfg.State, a.local); err != nil {
		a.log.Warn("ignoring the cached hub policy", "err", err)
	}
	a.policy = a.hub.Fixes
	if a.id, err = identity.Load(cfg.State); err != nil {
		return nil, err
	}
	// One agent per state directory: two would take turns on the hub
	// connection and share the fixes journal and the spool.
	if a.lock, err = instancelock.Acquire(cfg.State, LockFile, "tierline-agent"); err != nil {
		return nil, err
	}
	// The services the admin watches may be restarted unless the policy
	// file says otherwise.
	a.policy.Watched = cfg.WatchServices
	if a.journal, err = fixes.OpenJournal(filepath.Join(cfg.State, fixes.JournalDir), fixes.JournalOptions{Logger: a.log.With("component", "fixes")}); err != nil {
		a.lock.Release()
		return nil, err
	}
	if a.recipes, err = recipes.Open(cfg.State, a.log.With("component", "recipes")); err != nil {
		return nil, err
	}
	if u, err := url.Parse(a.id.HubURL); err == nil {
		a.hubAddr = u.Host
	}
	return a, nil
}

// Run runs the agent until ctx ends (nil), the hub revokes the device
// (*RevokedError), the link fails for good, or an update needs the
// service manager to restart it (*RestartError). In the foreground on
// Unix an update restarts in place: Run does not return then.
func (a *Agent) Run(ctx context.Context) error {
	cfg, log := a.cfg, a.log
	if os.Getenv("GOGC") == "" {
		// The agent's heap is small and steady; collecting a little earlier
		// keeps its resident memory under its 15 MB budget.
		debug.SetGCPercent(50)
	}
	if os.Getenv("GOMAXPROCS") == "" {
		// One P: each P caches a partly used span of every size class, and
		// the agent, idle between samples, gains nothing from running Go
		// code in parallel (blocking system calls still run beside it).
		// Measured side by side: a little less resident memory and no more
		// CPU per interval (docs/benchmarks.md, "where the memory goes").
		runtime.GOMAXPROCS(1)
	}
	// Signed updates: ctx ends when the agent must restart into another version.
	ctx, upd := startUpdates(ctx, cfg.State, a.id, log)
	err := a.run(ctx, upd)
	upd.stop()
	// Before a restart in place starts the next agent on this directory.
	a.lock.Release()
	if err != nil {
		return err
	}
	// After everything run opened is closed.
	return upd.restart(cfg.ServiceManaged || runtime.GOOS == "windows")
}

func (a *Agent) run(ctx context.Context, upd *agentUpdates) error {
	cfg, log := a.cfg, a.log
	sp, err := spool.Open(filepath.Join(cfg.State, identity.SpoolDir), spool.Options{MaxBytes: cfg.SpoolMaxBytes, Logger: log.With("component", "spool")})
	if err != nil {
		return err
	}
	defer sp.Close()
	host := identity.LocalHostInfo(ctx)
	// Check requests from the hub queue here; the main loop answers them.
	checkRequests := make(chan wire.CheckRequest, 8)
	// Signed recipes from the hub are checked off the link's read loop,
	// in order, and what was accepted and refused is reported back.
	recipeMsgs := make(chan wire.Recipes, 4)
	// Policies from the hub queue here; the main loop applies them.
	policyUpdates := make(chan policyUpdate, 4)
	// Fix requests go to the runner, which works through them one at a
	// time on its own goroutine and spools each result like telemetry.
	var l *link.Link
	var checks *health.Runner
	var desk *gethelp.Desk
	hubOffset := func() (time.Duration, bool) {
		st := l.State()
		return st.HubOffset, st.HubOffsetKnown
	}
	consent := gethelp.NewConsentBroker(cfg.ConsentWait)
	// A software install that succeeded has the inventory read again at
	// once, so the hub shows the package without waiting for the hour.
	inventoryNow := make(chan struct{}, 1)
	installed := func() {
		select {
		case inventoryNow <- struct{}{}:
		default:
		}
	}
	runner, err := fixes.New(fixes.Config{
		Software: a.recipes,
		Consent:  consent.Ask,
		Journal:  a.journal, Policy: &a.policy, Logger: log.With("component", "fixes"), Recipes: a.recipes,
		Exec: &fixes.Local{Hostname: host.Hostname},
		Verify: func(ctx context.Context, after time.Time, names ...string) []diag.CheckResult {
			return checks.RunAfter(ctx, after, names...)
		},
		HubOffset: hubOffset,
		// Progress is not spooled: a step lost while offline is old news
		// once the next one or the result arrives.
		Progress: func(p wire.RunProgress) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := l.Notify(ctx, p); err != nil && !errors.Is(err, link.ErrOffline) {
				log.Debug("reporting a run's progress failed; the next step or the result follows", "run", p.RunID, "err", err)
			}
		},
		Deliver: func(res wire.RunResult) {
			if res.Fix == catalog.InstallSoftware && res.Outcome == wire.OutcomeSucceeded && !res.Replayed {
				installed()
			}
			// Not the run's context: a result of a run stopped by shutdown
			// must still reach the spool.
			if _, err := l.Send(context.Background(), res); err != nil {
				log.Error("spooling a fix result failed", "run", res.RunID, "err", err)
			}
		},
	})
	if err != nil {
		return err
	}
	l, err = link.New(link.Config{
		URL: a.id.ConnectURL(), TLS: a.id.TLSConfig(),
		DeviceID: a.id.DeviceID, Key: a.id.Key, AgentVersion: version.Version,
		Hostname: host.Hostname, OS: host.OS, Arch: host.Arch, Platform: host.Platform,
		Spool: sp, Logger: log.With("component", "link"),
		Backoff:      cfg.Backoff,
		PingInterval: cfg.PingInterval, PingTimeout: cfg.PingTimeout,
		OnConnect: upd.connected,
		OnCheckRequest: func(req wire.CheckRequest) {
			select {
			case checkRequests <- req:
			default:
				log.Warn("dropping a check request from the hub: too many pending", "request", req.RequestID)
			}
		},
		OnRunRequest: runner.Submit,
		OnPolicyUpdate: func(u wire.PolicyUpdate, err error) {
			select {
			case policyUpdates <- policyUpdate{u, err}:
			default:
				log.Warn("dropping a policy from the hub: too many pending; it is sent again at the next connection")
			}
		},
		Fixes:          fixes.Supported(runtime.GOOS, a.policy),
		OnHelpReceipt:  func(r wire.HelpReceipt) { desk.Receipt(r) },
		OnTicketUpdate: func(u wire.TicketUpdate) { desk.Update(u) },
		OnRecipes: func(rs wire.Recipes) {
			select {
			case recipeMsgs <- rs:
			default:
				log.Warn("dropping a recipes message: the one before is still being checked; the hub sends them again at the next connection")
			}
		},
	})
	if err != nil {
		return err
	}
	hist := history.New(history.Config{Interval: cfg.Interval})
	crashRecord := crashes.NewTracker(crashes.Config{Sources: crashes.DefaultSources("/")})
	defer crashRecord.Close()
	// lastUpdates is the OS update status of the latest inventory, for the
	// security-updates check (the package manager runs with the
	// inventory, not per check).
	var lastUpdates atomic.Pointer[diag.UpdateStatus]
	col := collect.New()
	var lastPackages atomic.Pointer[health.Packages]
	baseChecks := health.Config{HubAddr: a.hubAddr, WatchedServices: cfg.WatchServices,
		SampleWait: 3 * cfg.Interval, DNSNames: cfg.DNSNames, ResolvConf: cfg.ResolvConf,
		PrintJobStuckAfter: cfg.PrintStuckAfter}
	checks, err = health.NewRunner(baseChecks, health.Env{
		Latest: hist.Latest, Recent: hist.Recent, HubOffset: hubOffset,
		RecentProcs: hist.RecentProcs, WaitSample: hist.WaitAfter, Crashes: crashRecord,
		Updates: func() (*diag.UpdateStatus, bool) { u := lastUpdates.Load(); return u, u != nil },
		Packages: func() (health.Packages, bool) {
			if p := lastPackages.Load(); p != nil {
				return *p, true
			}
			return health.Packages{}, false
		},
		ProcessNames: col.ProcessNames,
	})
	if err != nil {
		return &ConfigError{Err: fmt.Errorf("health checks: %w", err)}
	}
	checkEvery := cfg.CheckEvery
	if a.hub.Version > 0 {
		if err := checks.Reconfigure(a.hub.HealthConfig(baseChecks), a.hub.Checks); err != nil {
			log.Error("the cached hub policy's checks cannot apply; the machine's own settings do", "err", err)
		}
		checkEvery = a.hub.CheckEvery(cfg.CheckEvery)
	}
	st := sp.Stats()
	log.Info("agent starting", "version", version.Version, "device_id", a.id.DeviceID, "hub", a.id.HubURL,
		"interval", cfg.Interval.String(), "spool_depth", st.Depth, "spool_last_seq", st.LastSeq,
		"policy", a.policy.SourceName(), "fixes", len(fixes.Supported(runtime.GOOS, a.policy)))

	linkCtx, stopLink := context.WithCancel(context.Background())
	defer stopLink()
	linkDone := make(chan error, 1)
	go func() { linkDone <- l.Run(linkCtx) }()

	// The local socket: the tray, the Get help page and `tierline-agent
	// help` reach the running agent through it.
	tpls := gethelp.OpenTemplateCache(filepath.Join(cfg.State, gethelp.TemplatesFile), log.With("component", "templates"))
	desk = gethelp.NewDesk(gethelp.Config{Link: l, Checks: checks, History: hist, Crashes: crashRecord, Logger: log.With("component", "help"), Dir: cfg.State,
		Limits: gethelp.Limits{PerUser: cfg.Limits.Help, PerDevice: cfg.Limits.HelpDevice}, Templates: tpls})
	firstSample := desk.ExpectSamples() // before the socket opens: filing reads it
	consent.SetOwner(desk.Owner)        // set before the runner starts, so no run asks without it
	api := localapi.New(localapi.Config{Link: l, Checks: checks, Runner: runner, Policy: a.policy, Recipes: a.recipes, Software: a.recipes, Installed: installed, Desk: desk, Consent: consent, Crashes: crashRecord,
		KB: gethelp.OpenKBCache(filepath.Join(cfg.State, gethelp.KBCacheFile), log.With("component", "kb")), Templates: tpls,
		Hub: a.hubAddr, Hostname: host.Hostname, Logger: log.With("component", "ipc"), FixLimit: cfg.Limits.Fix})
	ipcCtx, stopIPC := context.WithCancel(context.Background())
	defer stopIPC()
	if ipc, err := localipc.Listen(cfg.Socket, log.With("component", "ipc")); err != nil {
		// Telemetry and fixes do not need it; say what is missing.
		log.Error("local socket unavailable: the tray and `tierline-agent help` cannot reach this agent", "err", err)
	} else {
		api.Register(ipc)
		go ipc.Serve(ipcCtx)
	}

	go func() {
		for {
			select {
			case rs := <-recipeMsgs:
				st := a.recipes.Apply(rs)
				log.Info("recipes from the hub checked", "accepted", len(st.Accepted), "refused", len(st.Refused), "key", st.Key)
				if err := l.Notify(ctx, st); err != nil && ctx.Err() == nil {
					log.Warn("reporting the recipe status failed; it goes again at the next connection", "err", err)
				}
			case <-ctx.Done():
				return
			}
		}
	}()

	runnerCtx, stopRunner := context.WithCancel(context.Background())
	defer stopRunner()
	runner.Start(runnerCtx)
	defer runner.Stop()

	var lastCheck time.Time
	var inventoryHash string
	sendInventory := func() {
		inv, err := inventory.CollectWithConfig(ctx, inventory.Config{
			FixesNotApplicable: func() map[string]string { return fixes.NotApplicable(fixes.LocalMachine()) }})
		if err != nil {
			log.Warn("inventory incomplete", "err", err)
		}
		if inv.Updates != nil {
			lastUpdates.Store(inv.Updates)
		}
		pkgs := health.PackagesOf(inv.Software)
		lastPackages.Store(&pkgs)
		desk.SetInventory(inv)
		if inv.Hash == "" || inv.Hash == inventoryHash {
			return
		}
		if _, err := l.Send(ctx, wire.Inventory{Inventory: inv}); err != nil && ctx.Err() == nil {
			log.Error("spooling inventory failed", "err", err)
			return
		}
		inventoryHash = inv.Hash
	}
	sample := func() {
		sctx, cancel := context.WithTimeout(ctx, cfg.Interval)
		s, err := col.Sample(sctx)
		cancel()
		if err != nil {
			log.Warn("telemetry sample incomplete", "err", err)
		}
		if s.Time.IsZero() {
			return
		}
		hist.Add(s)
		firstSample()
		var results []diag.CheckResult
		if time.Since(lastCheck) >= checkEvery {
			results = checks.Run(ctx)
			lastCheck = time.Now()
			api.SetChecks(results)
		}
		if _, err := l.Send(ctx, wire.Telemetry{Sample: s, Checks: results}); err != nil && ctx.Err() == nil {
			log.Error("spooling telemetry failed", "err", err)
		}
	}
	// The inventory runs the package manager, which takes seconds: it is
	// read on its own, so the first sample and checks reach the hub at
	// once and telemetry never pauses for it. The security-updates check
	// says unknown until the first inventory is in.
	go func() {
		for {
			sendInventory()
			releaseJSONBuffers()
			select {
			case <-time.After(cfg.InventoryEvery):
			case <-inventoryNow:
			case <-ctx.Done():
				return
			}
		}
	}()
	sample()
	tick := time.NewTicker(cfg.Interval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			sample()
		case pu := <-policyUpdates:
			if a.applyPolicy(ctx, pu, policyDeps{link: l, checks: checks, base: baseChecks, runner: runner, api: api}) {
				checkEvery = a.hub.CheckEvery(cfg.CheckEvery)
				lastCheck = time.Time{} // judge the machine by the new policy at the next sample
			}
		case req := <-checkRequests:
			results := checks.Run(health.Fresh(ctx), req.Names...)
			if _, err := l.Send(ctx, wire.Health{Checks: results, RequestID: req.RequestID}); err != nil && ctx.Err() == nil {
				log.Error("spooling requested health checks failed", "err", err)
			}
		case err := <-linkDone:
			if errors.Is(err, link.ErrRevoked) {
				log.Error("stopping: device revoked",
					"hint", "tierline-agent enroll --force --token ... --state "+cfg.State)
				return &RevokedError{State: cfg.State}
			}
			return fmt.Errorf("hub link stopped: %w", err)
		case <-ctx.Done():
			log.Info("shutting down")
			tick.Stop()
			// Give messages already on the wire a moment to be acknowledged,
			// so they are not sent twice after a restart (harmless, but noisy).
			for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
				if st := l.State(); !st.Connected || st.InFlight == 0 {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			// A fix in progress is stopped and its result spooled before
			// the link goes.
			runner.Stop()
			stopLink() // closes the WebSocket with a normal closure
			select {
			case <-linkDone:
			case <-time.After(10 * time.Second):
				log.Warn("hub connection did not close in time")
			}
			st := sp.Stats()
			log.Info("stopped", "spool_depth", st.Depth, "spool_last_seq", st.LastSeq)
			return nil
		}
	}
}

// releaseJSONBuffers frees the buffer the inventory's JSON grew to. Every
// json.Marshal takes an encoder, buffer included, from a sync.Pool and puts
// it back, so after the inventory the telemetry marshalled each interval
// keeps taking the one grown to the inventory's size (hundreds of KB) and
// it is never freed. A pool's entries outlive one collection and are
// dropped at the next: two collections in a row free it (unless JSON is
// written between them, then the next inventory's try does), the second
// returning the pages to the OS at once. Two collections an hour, about a
// millisecond of CPU each at this heap's size (docs/benchmarks.md, "where
// the memory goes").
func releaseJSONBuffers() {
	runtime.GC()
	debug.FreeOSMemory()
}
