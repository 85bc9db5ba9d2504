// Package health runs the agent's health checks: small named checks that
// each say ok, warning, failing or unknown, with the evidence they saw and,
// for a problem, the catalog fix that addresses it.
//
// Checks look only where they must: network checks go to the hub (and to
// targets an admin configured), never to a built-in address; the gateway
// check reads the kernel's route and neighbour tables instead of sending
// packets.
package health

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/tierline/tierline/agent/collect"
	"github.com/tierline/tierline/agent/history"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/policy"
)

// Check is one health check. Name is kebab-case and stable: the hub keys
// check state and transitions by it.
type Check interface {
	Name() string
	Run(ctx context.Context) diag.CheckResult
}

// Config holds the thresholds and targets of the checks. Zero fields take
// the defaults listed with them.
type Config struct {
	// Root is where /proc, /sys, /etc and /var are read; tests use fixture
	// trees. Default "/".
	Root string

	// HubAddr is the hub's host:port. The dns-resolution and hub-reachable
	// checks target it and nothing else unless Targets/DNSNames add more.
	// Empty: those checks report unknown.
	HubAddr string
	// Targets are extra host:port an admin wants reachable.
	Targets []string
	// DNSNames are extra names an admin wants resolvable.
	DNSNames []string
	// ResolvConf, when set, makes dns-resolution query the name servers in
	// this file (resolv.conf format) instead of the system resolver.
	ResolvConf string
	// DNSPort is the port used with ResolvConf's servers. Default 53.
	DNSPort int
	// DialTimeout bounds one DNS lookup or TCP connect. Default 3 s.
	DialTimeout time.Duration
	// CheckTimeout bounds each check in Runner.Run. Default 10 s.
	CheckTimeout time.Duration
	// SampleWait bounds how long RunAfter waits for a fresh telemetry
	// sample. Default 30 s (three sample intervals).
	SampleWait time.Duration

	// DiskPaths, when set, are the paths whose filesystems disk-almost-full
	// looks at; default all real filesystems.
	DiskPaths []string
	// Disk usage: warning at DiskWarnPct (85), failing at DiskFailPct (95).
	DiskWarnPct, DiskFailPct float64
	// Inode usage: warning at InodeWarnPct (90), failing at InodeFailPct (98).
	InodeWarnPct, InodeFailPct float64
	// TempDirs and HomeRoots, when set, replace the OS's temporary folders
	// and the folders holding users' homes, where a filling disk's largest
	// consumers are looked for (tests use their own).
	TempDirs, HomeRoots []string
	// That walk stops after WalkMaxEntries entries (20000) or WalkMaxTime
	// (300 ms), and is reused for 10 minutes while the filesystem's use
	// moves less than 1% of its size.
	WalkMaxEntries int
	WalkMaxTime    time.Duration
	// Memory in use: warning at MemWarnPct (90), failing at MemFailPct (97).
	MemWarnPct, MemFailPct float64
	// SwapWarnPct: swap in use that adds a warning (80).
	SwapWarnPct float64
	// CPU: busy at CPUBusyPct (90) for CPUWarnFor (5 min) warns, for
	// CPUFailFor (15 min) fails.
	CPUBusyPct             float64
	CPUWarnFor, CPUFailFor time.Duration
	// CPUPinPct: one process at or above this share of one core (90) for
	// CPUWarnFor / CPUFailFor is a runaway (process-cpu-runaway).
	CPUPinPct float64
	// Memory stalls (PSI, memory-stall): "full" over the last minute warns
	// at MemStallWarnPct (5), fails at MemStallFailPct (20); "some" warns
	// at MemStallSomeWarnPct (30).
	MemStallWarnPct, MemStallFailPct, MemStallSomeWarnPct float64
	// Pages swapped in per second: warning at SwapInWarn (256, 1 MiB/s),
	// failing at SwapInFail (2560).
	SwapInWarn, SwapInFail float64
	// OOM kills: any within OOMWindow (1 h) warns, OOMFailCount (3) fail.
	OOMWindow    time.Duration
	OOMFailCount int
	// Tasks against their limits (pid_max, threads-max, a cgroup's
	// pids.max): warning at TasksWarnPct (85), failing at TasksFailPct (95).
	TasksWarnPct, TasksFailPct float64
	// Clock offset against the hub: warning at ClockWarn (1 min), failing at
	// ClockFail (5 min, where Kerberos gives up).
	ClockWarn, ClockFail time.Duration
	// Battery health (full over design capacity): warning under
	// BatteryWarnPct (60), failing under BatteryFailPct (40).
	BatteryWarnPct, BatteryFailPct float64
	// UptimeWarn: uptime that warns (30 days).
	UptimeWarn time.Duration
	// WatchedServices are services that must be running (systemd unit or
	// Windows service names).
	WatchedServices []string
	// SecurityUpdateMaxAge: how long security updates may wait before
	// security-updates warns (14 days); twice as long fails.
	SecurityUpdateMaxAge time.Duration
	// PrintJobStuckAfter: a print job waiting this long is stuck
	// (print-jobs-stuck; 10 min).
	PrintJobStuckAfter time.Duration
}

// CheckAndSetDefaults fills zero fields with defaults and validates.
func (c *Config) CheckAndSetDefaults() error {
	setF := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	setD := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	if c.Root == "" {
		c.Root = "/"
	}
	if c.DNSPort == 0 {
		c.DNSPort = 53
	}
	setD(&c.DialTimeout, 3*time.Second)
	setD(&c.CheckTimeout, 10*time.Second)
	setD(&c.SampleWait, 30*time.Second)
	setF(&c.DiskWarnPct, 85)
	setF(&c.DiskFailPct, 95)
	setF(&c.InodeWarnPct, 90)
	setF(&c.InodeFailPct, 98)
	if c.WalkMaxEntries <= 0 {
		c.WalkMaxEntries = 20000
	}
	setD(&c.WalkMaxTime, 300*time.Millisecond)
	setF(&c.MemWarnPct, 90)
	setF(&c.MemFailPct, 97)
	setF(&c.SwapWarnPct, 80)
	setF(&c.CPUBusyPct, 90)
	setD(&c.CPUWarnFor, 5*time.Minute)
	setD(&c.CPUFailFor, 15*time.Minute)
	setF(&c.CPUPinPct, 90)
	setF(&c.MemStallWarnPct, 5)
	setF(&c.MemStallFailPct, 20)
	setF(&c.MemStallSomeWarnPct, 30)
	setF(&c.SwapInWarn, 256)
	setF(&c.SwapInFail, 2560)
	setD(&c.OOMWindow, time.Hour)
	if c.OOMFailCount <= 0 {
		c.OOMFailCount = 3
	}
	setF(&c.TasksWarnPct, 85)
	setF(&c.TasksFailPct, 95)
	setD(&c.ClockWarn, time.Minute)
	setD(&c.ClockFail, 5*time.Minute)
	setF(&c.BatteryWarnPct, 60)
	setF(&c.BatteryFailPct, 40)
	setD(&c.UptimeWarn, 30*24*time.Hour)
	setD(&c.SecurityUpdateMaxAge, 14*24*time.Hour)
	setD(&c.PrintJobStuckAfter, defaultPrintJobStuckAfter)
	if c.PrintJobStuckAfter < 0 {
		return fmt.Errorf("print jobs stuck after %s: must be positive", c.PrintJobStuckAfter)
	}
	if c.HubAddr != "" {
		if _, _, err := net.SplitHostPort(c.HubAddr); err != nil {
			return fmt.Errorf("hub address %q: %w", c.HubAddr, err)
		}
	}
	for _, t := range c.Targets {
		if _, _, err := net.SplitHostPort(t); err != nil {
			return fmt.Errorf("target %q: %w", t, err)
		}
	}
	if c.DiskWarnPct > c.DiskFailPct || c.MemWarnPct > c.MemFailPct || c.ClockWarn > c.ClockFail ||
		c.BatteryWarnPct < c.BatteryFailPct || c.CPUWarnFor > c.CPUFailFor || c.InodeWarnPct > c.InodeFailPct ||
		c.MemStallWarnPct > c.MemStallFailPct || c.SwapInWarn > c.SwapInFail || c.TasksWarnPct > c.TasksFailPct {
		return fmt.Errorf("health thresholds: warning must come before failing")
	}
	return nil
}

func (c *Config) path(p string) string { return filepath.Join(c.Root, p) }

// Env is what checks learn from the rest of the agent. Nil fields mean "not
// known": checks that need them report unknown.
type Env struct {
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Latest returns the latest telemetry sample.
	Latest func() (diag.Sample, bool)
	// Recent returns full-resolution history points since a time.
	Recent func(since time.Time) []diag.Point
	// HubOffset returns the hub's clock minus ours, as last measured.
	HubOffset func() (time.Duration, bool)
	// RecentProcs returns each full-resolution history point's busiest
	// processes since a time (history.History.RecentProcs).
	RecentProcs func(since time.Time) []history.ProcPoint
	// WaitSample waits until a telemetry sample newer than a time exists
	// (history.History.WaitAfter); RunAfter uses it.
	WaitSample func(ctx context.Context, after time.Time) error
	// Updates returns the OS update status the last inventory read.
	Updates func() (*diag.UpdateStatus, bool)
	// Crashes is the record of application crashes (agent/crashes).
	Crashes CrashRecord
	// Getenv reads the agent's environment. Default os.Getenv.
	Getenv func(string) string
	// Packages returns the installed software the last inventory read
	// (declarative package checks look in it).
	Packages func() (Packages, bool)
	// ProcessNames returns the process names the last telemetry sample saw
	// (collect.Collector.ProcessNames); declarative process checks read
	// them. Nil: they list processes themselves.
	ProcessNames func() (collect.ProcessNames, bool)
}

// checkFunc adapts a function to Check.
type checkFunc struct {
	name string
	run  func(ctx context.Context) diag.CheckResult
	// sampled: the check judges telemetry samples, so it sees a change
	// only once a sample taken after the change exists.
	sampled bool
}

// sampledCheck is a Check that judges telemetry samples.
type sampledCheck interface{ judgesSamples() bool }

func (c checkFunc) judgesSamples() bool { return c.sampled }

// sampledFunc makes a Check that judges telemetry samples (see RunAfter).
func sampledFunc(name string, run func(ctx context.Context) diag.CheckResult) Check {
	return checkFunc{name: name, run: run, sampled: true}
}

func (c checkFunc) Name() string                             { return c.name }
func (c checkFunc) Run(ctx context.Context) diag.CheckResult { return c.run(ctx) }

var _ Check = checkFunc{}

// Func makes a Check from a name and a function.
func Func(name string, run func(ctx context.Context) diag.CheckResult) Check {
	return checkFunc{name: name, run: run}
}

// Checks returns the built-in checks, in report order.
func Checks(cfg Config, env Env) []Check {
	if env.Now == nil {
		env.Now = time.Now
	}
	c := &cfg
	ps := newPerfState(c)
	cc := &consumerCache{}
	pr := &printReader{read: readPrinting(c)}
	sr := &syncReader{read: readTimeSync}
	lr := newLinkReader(c.Root)
	pf := &proxyFiles{}
	sw := newServiceWatch()
	return []Check{
		Func("disk-almost-full", func(ctx context.Context) diag.CheckResult { return checkDisk(ctx, c, env, cc) }),
		Func("memory-pressure", func(ctx context.Context) diag.CheckResult { return checkMemory(ctx, c) }),
		sampledFunc("cpu-saturated", func(ctx context.Context) diag.CheckResult { return checkCPU(ctx, c, env) }),
		Func("dns-resolution", func(ctx context.Context) diag.CheckResult { return checkDNS(ctx, c) }),
		Func("default-route", func(ctx context.Context) diag.CheckResult { return checkRoute(ctx, c) }),
		Func("network-interface", func(ctx context.Context) diag.CheckResult { return checkLinks(ctx, lr) }),
		Func("wifi-signal", func(ctx context.Context) diag.CheckResult { return checkWiFi(ctx, c, lr) }),
		Func("dhcp-lease", func(ctx context.Context) diag.CheckResult { return checkDHCP(ctx, c, lr, env.Now()) }),
		Func("hub-reachable", func(ctx context.Context) diag.CheckResult { return checkReachable(ctx, c) }),
		Func("proxy-unreachable", func(ctx context.Context) diag.CheckResult { return checkProxies(ctx, c, env, pf) }),
		Func("clock-skew", func(ctx context.Context) diag.CheckResult { return checkClock(ctx, c, env, sr) }),
		Func("time-sync", func(ctx context.Context) diag.CheckResult { return checkTimeSync(ctx, sr) }),
		Func("pending-reboot", func(ctx context.Context) diag.CheckResult { return checkReboot(ctx, c) }),
		Func("service-stopped", func(ctx context.Context) diag.CheckResult { return checkServices(ctx, c, sw, env.Now()) }),
		Func("printer-stopped", func(ctx context.Context) diag.CheckResult { return checkPrinters(ctx, pr) }),
		Func("print-jobs-stuck", func(ctx context.Context) diag.CheckResult { return checkPrintJobs(ctx, c, pr, env.Now()) }),
		Func("battery-worn", func(ctx context.Context) diag.CheckResult { return checkBattery(ctx, c) }),
		Func("uptime-long", func(ctx context.Context) diag.CheckResult { return checkUptime(ctx, c, env) }),
		sampledFunc("process-cpu-runaway", func(ctx context.Context) diag.CheckResult { return checkRunaway(ctx, c, env) }),
		Func("memory-stall", func(ctx context.Context) diag.CheckResult { return checkMemStall(ctx, c, env) }),
		Func("oom-kills", func(ctx context.Context) diag.CheckResult { return checkOOM(ctx, c, env, ps) }),
		Func("process-limits", func(ctx context.Context) diag.CheckResult { return checkLimits(ctx, c) }),
		Func("swap-thrashing", func(ctx context.Context) diag.CheckResult { return checkSwap(ctx, c, env, ps) }),
		Func("security-updates", func(ctx context.Context) diag.CheckResult { return checkUpdates(ctx, c, env) }),
		Func("app-crashing", func(ctx context.Context) diag.CheckResult { return checkCrashes(ctx, env) }),
	}
}

// Runner runs a set of checks in parallel, each under a timeout.
type Runner struct {
	env  Env
	wait func(ctx context.Context, after time.Time) error

	mu     sync.RWMutex
	cfg    Config
	checks []Check
}

// NewRunner returns a Runner of the built-in checks.
func NewRunner(cfg Config, env Env) (*Runner, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	return &Runner{cfg: cfg, env: env, checks: Checks(cfg, env), wait: env.WaitSample}, nil
}

// NewRunnerOf returns a Runner of the given checks.
func NewRunnerOf(timeout time.Duration, checks ...Check) *Runner {
	return &Runner{cfg: Config{CheckTimeout: timeout}, checks: checks}
}

// Reconfigure replaces the Runner's checks with the built-in ones under
// cfg followed by the declarative checks of specs (the hub's policy
// changed). Runs in progress finish with the checks they started with; the
// built-in checks start their memory afresh (restart counts, CPU history).
func (r *Runner) Reconfigure(cfg Config, specs []policy.Check) error {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return err
	}
	checks := append(Checks(cfg, r.env), Declared(cfg, r.env, specs)...)
	r.mu.Lock()
	r.cfg, r.checks = cfg, checks
	r.mu.Unlock()
	return nil
}

// Checks lists the Runner's checks.
func (r *Runner) Checks() []Check {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.checks
}

// Run runs all checks (or only those named) in parallel and returns their
// results in check order. A check that outlives the timeout is reported as
// unknown; it is left to finish in the background. Checks named, and runs
// under Fresh, run even declarative checks whose interval has not passed.
func (r *Runner) Run(ctx context.Context, names ...string) []diag.CheckResult {
	if len(names) > 0 {
		ctx = Fresh(ctx)
	}
	return r.run(ctx, r.selected(names), nil)
}

type freshKey struct{}

// Fresh marks ctx as asking for results taken now: declarative checks
// run whatever their interval (Get help, a technician's request).
func Fresh(ctx context.Context) context.Context { return context.WithValue(ctx, freshKey{}, true) }

func isFresh(ctx context.Context) bool { f, _ := ctx.Value(freshKey{}).(bool); return f }

// RunAfter is Run for verifying a change made at t (a fix): checks that
// judge telemetry samples first wait, up to Config.SampleWait, for a
// sample taken after t, so that they judge the machine as it is now and
// not the sample from before the change. A check whose fresh sample does
// not come in time reports unknown.
func (r *Runner) RunAfter(ctx context.Context, t time.Time, names ...string) []diag.CheckResult {
	ctx = Fresh(ctx)
	sel := r.selected(names)
	need := false
	for _, c := range sel {
		if sc, ok := c.(sampledCheck); ok && sc.judgesSamples() {
			need = true
		}
	}
	if !need || r.wait == nil {
		return r.run(ctx, sel, nil)
	}
	sampleWait := r.config().SampleWait
	wctx, cancel := context.WithTimeout(ctx, sampleWait)
	err := r.wait(wctx, t)
	cancel()
	if err == nil {
		return r.run(ctx, sel, nil)
	}
	stale := unknown("No new telemetry sample came after the change to judge it by.",
		ev("waited", "%s for a sample taken after %s", sampleWait, t.UTC().Format(time.RFC3339)))
	return r.run(ctx, sel, &stale)
}

func (r *Runner) config() Config {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.cfg
}

func (r *Runner) selected(names []string) []Check {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var sel []Check
	for _, c := range r.Checks() {
		if len(want) == 0 || want[c.Name()] {
			sel = append(sel, c)
		}
	}
	return sel
}

// run runs sel in parallel; with stale set, checks that judge samples
// report it instead of running.
func (r *Runner) run(ctx context.Context, sel []Check, stale *diag.CheckResult) []diag.CheckResult {
	timeout := r.config().CheckTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	out := make([]diag.CheckResult, len(sel))
	ctx = withRun(ctx)
	var wg sync.WaitGroup
	var queued []int // declarative checks to run
	for i, c := range sel {
		if lc, ok := c.(interface {
			lastResult(ctx context.Context) (diag.CheckResult, bool)
		}); ok {
			if res, ok := lc.lastResult(ctx); ok {
				out[i] = res // within its interval: no goroutine, no timer
				continue
			}
			queued = append(queued, i)
			continue
		}
		wg.Add(1)
		if sc, ok := c.(sampledCheck); ok && sc.judgesSamples() && stale != nil {
			res := *stale
			res.Name, res.Time = c.Name(), time.Now().UTC()
			out[i] = res
			wg.Done()
			continue
		}
		go func() {
			defer wg.Done()
			out[i] = runOne(ctx, c, timeout)
		}()
	}
	runQueued(ctx, sel, queued, out, timeout)
	wg.Wait()
	return out
}

// runQueued runs the declarative checks sel[queued] on declaredAtOnce
// goroutines, not one each: a policy's fifty checks would otherwise start
// a hundred goroutines, whose records and stacks the runtime keeps for
// reuse (docs/benchmarks.md). They share the run's timeout, as when each
// waited for its turn: one that has not started when it passes reports so.
func runQueued(ctx context.Context, sel []Check, queued []int, out []diag.CheckResult, timeout time.Duration) {
	if len(queued) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	next := make(chan int, len(queued))
	for _, i := range queued {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range min(len(queued), declaredAtOnce) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if ctx.Err() != nil {
					res := unknown("The check did not get to run in time.", ev("timeout", "%s", timeout))
					res.Name, res.Time = sel[i].Name(), time.Now().UTC()
					out[i] = res
					continue
				}
				out[i] = runOne(ctx, sel[i], timeout)
			}
		}()
	}
	wg.Wait()
}

func runOne(ctx context.Context, c Check, timeout time.Duration) diag.CheckResult {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	done := make(chan diag.CheckResult, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- unknown("The check crashed.", ev("panic", "%v", r))
			}
		}()
		done <- c.Run(ctx)
	}()
	var res diag.CheckResult
	select {
	case res = <-done:
	case <-ctx.Done():
		res = unknown("The check did not finish in time.", ev("timeout", "%s", timeout))
	}
	res.Name = c.Name()
	if res.Time.IsZero() { // a declarative check's result carries its own
		res.Time = start.UTC()
		res.Micros = time.Since(start).Microseconds()
	}
	if res.Status == diag.StatusOK || res.Status == diag.StatusUnknown {
		res.Fix = ""
	}
	return res
}

func result(st diag.Status, fix, summary string, evidence ...diag.Evidence) diag.CheckResult {
	return diag.CheckResult{Status: st, Fix: fix, Summary: summary, Evidence: evidence}
}

func ok(summary string, evidence ...diag.Evidence) diag.CheckResult {
	return result(diag.StatusOK, "", summary, evidence...)
}

func unknown(summary string, evidence ...diag.Evidence) diag.CheckResult {
	return result(diag.StatusUnknown, "", summary, evidence...)
}

func ev(label, format string, args ...any) diag.Evidence {
	return diag.Evidence{Label: label, Value: fmt.Sprintf(format, args...)}
}

// grade returns failing at or above fail, warning at or above warn.
func grade(v, warn, fail float64) diag.Status {
	switch {
	case v >= fail:
		return diag.StatusFailing
	case v >= warn:
		return diag.StatusWarning
	}
	return diag.StatusOK
}

func worse(a, b diag.Status) diag.Status {
	return diag.Worst([]diag.CheckResult{{Status: a}, {Status: b}})
}
