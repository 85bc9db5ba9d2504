package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/tierline/tierline/agent/collect"
	"github.com/tierline/tierline/agent/fixes"
	"github.com/tierline/tierline/agent/health"
	"github.com/tierline/tierline/agent/history"
	"github.com/tierline/tierline/agent/identity"
	"github.com/tierline/tierline/agent/inventory"
	"github.com/tierline/tierline/agent/link"
	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/agent/spool"
	"github.com/tierline/tierline/agent/version"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

func init() {
	register("run", "run the agent in the foreground (connect to the hub, stream telemetry)", runRun)
}

// byteSize parses a byte count with an optional KiB/MiB/GiB suffix.
type byteSize struct{ n *int64 }

func (b byteSize) String() string {
	if b.n == nil {
		return ""
	}
	return strconv.FormatInt(*b.n, 10)
}

func (b byteSize) Set(s string) error {
	mult := int64(1)
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30} {
		if len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix {
			s, mult = s[:len(s)-len(suffix)], m
			break
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return errors.New("want a positive byte count, e.g. 67108864 or 64MiB")
	}
	*b.n = v * mult
	return nil
}

func runRun(ctx context.Context, args []string) int {
	fs := newFlags("run", "[--state DIR] [flags]",
		"Run the agent in the foreground: connect to the enrolled hub, send a telemetry sample\n"+
			"every --interval, and keep unsent messages in the on-disk spool. Stops cleanly on\n"+
			"SIGINT/SIGTERM. Exit status 3 means the hub revoked this device.")
	state := fs.String("state", defaultStateDir(), "state directory written by `tierline-agent enroll`")
	interval := 10 * time.Second
	fs.Var(durationFlag{&interval}, "interval", "telemetry sample interval")
	spoolMax := int64(spool.DefaultMaxBytes)
	fs.Var(byteSize{&spoolMax}, "spool-max-bytes", "spool size cap; above it the oldest telemetry is dropped")
	backoffBase := link.DefaultBackoffBase
	fs.Var(durationFlag{&backoffBase}, "backoff-base", "reconnect backoff base (delay is random in [0, min(max, base*2^attempt)))")
	backoffMax := link.DefaultBackoffMax
	fs.Var(durationFlag{&backoffMax}, "backoff-max", "reconnect backoff cap")
	checkEvery := time.Minute
	fs.Var(durationFlag{&checkEvery}, "check-interval", "how often health checks run (results travel with telemetry)")
	inventoryEvery := time.Hour
	fs.Var(durationFlag{&inventoryEvery}, "inventory-interval", "how often the inventory is re-read (sent only when it changed)")
	watch := fs.String("watch-services", "", "comma-separated services the service-stopped check watches")
	policyFile := fs.String("policy", "", "device fix policy file (JSON; default STATE/policy.json; absent means the defaults)")
	socket := fs.String("socket", "", "local socket for the tray, the Get help page and the help command (default STATE/agent.sock; "+
		"the packaged service uses "+localipc.DefaultSocket()+")")
	consentWait := 2 * time.Minute
	fs.Var(durationFlag{&consentWait}, "consent-wait", "how long a fix that needs the user's consent waits for the answer from the tray")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	logFormat := fs.String("log-format", "text", "log format on stderr: text or json")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	log, err := newLogger(*logLevel, *logFormat)
	if err != nil {
		fmt.Fprintf(stderr, "tierline-agent run: %v\n", err)
		return exitUsage
	}
	if os.Getenv("GOGC") == "" {
		// The agent's heap is small and steady; collecting a little earlier
		// keeps its resident memory under its 15 MB budget.
		debug.SetGCPercent(50)
	}
	// A policy the agent cannot apply stops it before anything else.
	if *policyFile == "" {
		*policyFile = filepath.Join(*state, fixes.PolicyFile)
	}
	policy, err := fixes.LoadPolicy(*policyFile)
	if err != nil {
		fmt.Fprintf(stderr, "tierline-agent run: %v\n", err)
		return exitError
	}
	id, err := identity.Load(*state)
	if err != nil {
		fmt.Fprintf(stderr, "tierline-agent run: %v\n", err)
		return exitError
	}
	journal, err := fixes.OpenJournal(filepath.Join(*state, fixes.JournalDir), fixes.JournalOptions{Logger: log.With("component", "fixes")})
	if err != nil {
		fmt.Fprintf(stderr, "tierline-agent run: %v\n", err)
		return exitError
	}
	// Signed updates: ctx ends when the agent must restart into another version.
	ctx, upd := startUpdates(ctx, *state, id, log)
	defer upd.reexec()
	sp, err := spool.Open(filepath.Join(*state, identity.SpoolDir), spool.Options{MaxBytes: spoolMax, Logger: log.With("component", "spool")})
	if err != nil {
		fmt.Fprintf(stderr, "tierline-agent run: %v\n", err)
		return exitError
	}
	defer sp.Close()
	host := identity.LocalHostInfo(ctx)
	// Check requests from the hub queue here; the main loop answers them.
	checkRequests := make(chan wire.CheckRequest, 8)
	// Fix requests go to the runner, which works through them one at a
	// time on its own goroutine and spools each result like telemetry.
	var l *link.Link
	var checks *health.Runner
	var desk *helpDesk
	consent := newConsentBroker(consentWait)
	runner, err := fixes.New(fixes.Config{
		Consent: consent.ask,
		Journal: journal, Policy: &policy, Logger: log.With("component", "fixes"),
		Exec: &fixes.Local{Hostname: host.Hostname},
		Verify: func(ctx context.Context, names ...string) []diag.CheckResult {
			return checks.Run(ctx, names...)
		},
		HubOffset: func() (time.Duration, bool) {
			st := l.State()
			return st.HubOffset, st.HubOffsetKnown
		},
		Deliver: func(res wire.RunResult) {
			// Not the run's context: a result of a run stopped by shutdown
			// must still reach the spool.
			if _, err := l.Send(context.Background(), res); err != nil {
				log.Error("spooling a fix result failed", "run", res.RunID, "err", err)
			}
		},
	})
	if err != nil {
		fmt.Fprintf(stderr, "tierline-agent run: %v\n", err)
		return exitError
	}
	l, err = link.New(link.Config{
		URL: id.ConnectURL(), TLS: id.TLSConfig(),
		DeviceID: id.DeviceID, Key: id.Key, AgentVersion: version.Version,
		Hostname: host.Hostname, OS: host.OS, Arch: host.Arch, Platform: host.Platform,
		Spool: sp, Logger: log.With("component", "link"),
		Backoff:   link.Backoff{Base: backoffBase, Max: backoffMax},
		OnConnect: upd.connected,
		OnCheckRequest: func(req wire.CheckRequest) {
			select {
			case checkRequests <- req:
			default:
				log.Warn("dropping a check request from the hub: too many pending", "request", req.RequestID)
			}
		},
		OnRunRequest:   runner.Submit,
		Fixes:          fixes.Supported(runtime.GOOS, policy),
		OnHelpReceipt:  func(r wire.HelpReceipt) { desk.receipt(r) },
		OnTicketUpdate: func(u wire.TicketUpdate) { desk.update(u) },
	})
	if err != nil {
		fmt.Fprintf(stderr, "tierline-agent run: %v\n", err)
		return exitError
	}
	st := sp.Stats()
	log.Info("agent starting", "version", version.Version, "device_id", id.DeviceID, "hub", id.HubURL,
		"interval", interval.String(), "spool_depth", st.Depth, "spool_last_seq", st.LastSeq,
		"policy", policySource(policy), "fixes", len(fixes.Supported(runtime.GOOS, policy)))

	linkCtx, stopLink := context.WithCancel(context.Background())
	defer stopLink()
	linkDone := make(chan error, 1)
	go func() { linkDone <- l.Run(linkCtx) }()

	hist := history.New(history.Config{Interval: interval})
	hubAddr := ""
	if u, err := url.Parse(id.HubURL); err == nil {
		hubAddr = u.Host
	}
	hcfg := health.Config{HubAddr: hubAddr}
	if *watch != "" {
		hcfg.WatchedServices = strings.Split(*watch, ",")
	}
	checks, err = health.NewRunner(hcfg, health.Env{
		Latest: hist.Latest, Recent: hist.Recent,
		HubOffset: func() (time.Duration, bool) {
			st := l.State()
			return st.HubOffset, st.HubOffsetKnown
		},
	})
	if err != nil {
		fmt.Fprintf(stderr, "tierline-agent run: health checks: %v\n", err)
		return exitUsage
	}

	// The local socket: the tray, the Get help page and `tierline-agent
	// help` reach the running agent through it.
	desk = newHelpDesk(l, checks, hist, log.With("component", "help"), filepath.Join(*state, "tickets.json"))
	firstSample := desk.expectSamples() // before the socket opens: filing reads it
	consent.owner = desk.owner          // set before the runner starts, so no run asks without it
	ops := &localOps{link: l, checks: checks, runner: runner, policy: policy, desk: desk, consent: consent,
		kb:  openKBCache(filepath.Join(*state, "kb-cache.json"), log.With("component", "kb")),
		hub: hubAddr, hostname: host.Hostname, log: log.With("component", "ipc"), kbWait: 3 * time.Second}
	ipcCtx, stopIPC := context.WithCancel(context.Background())
	defer stopIPC()
	if *socket == "" {
		*socket = serviceSocket(*state)
	}
	if ipc, err := localipc.Listen(*socket, log.With("component", "ipc")); err != nil {
		// Telemetry and fixes do not need it; say what is missing.
		log.Error("local socket unavailable: the tray and `tierline-agent help` cannot reach this agent", "err", err)
	} else {
		desk.register(ipc)
		ops.register(ipc)
		go ipc.Serve(ipcCtx)
	}

	runnerCtx, stopRunner := context.WithCancel(context.Background())
	defer stopRunner()
	runner.Start(runnerCtx)
	defer runner.Stop()

	col := collect.New()
	var lastCheck, lastInventory time.Time
	var inventoryHash string
	sendInventory := func() {
		inv, err := inventory.Collect(ctx)
		if err != nil {
			log.Warn("inventory incomplete", "err", err)
		}
		lastInventory = time.Now()
		desk.setInventory(inv)
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
		sctx, cancel := context.WithTimeout(ctx, interval)
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
			ops.setChecks(results)
		}
		if _, err := l.Send(ctx, wire.Telemetry{Sample: s, Checks: results}); err != nil && ctx.Err() == nil {
			log.Error("spooling telemetry failed", "err", err)
		}
		if time.Since(lastInventory) >= inventoryEvery {
			sendInventory()
		}
	}
	sendInventory()
	sample()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			sample()
		case req := <-checkRequests:
			results := checks.Run(ctx, req.Names...)
			if _, err := l.Send(ctx, wire.Health{Checks: results, RequestID: req.RequestID}); err != nil && ctx.Err() == nil {
				log.Error("spooling requested health checks failed", "err", err)
			}
		case err := <-linkDone:
			if errors.Is(err, link.ErrRevoked) {
				log.Error("stopping: device revoked",
					"hint", "tierline-agent enroll --force --token ... --state "+*state)
				return exitRevoked
			}
			log.Error("hub link stopped", "err", err)
			return exitError
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
			return upd.exitCode(exitOK)
		}
	}
}

func policySource(p fixes.Policy) string {
	if p.Source == "" {
		return "defaults"
	}
	return p.Source
}
