// Command fleetsim simulates a fleet of Tierline agents against a hub, for
// load tests and benchmarks (docs/benchmarks.md).
//
// It enrolls N devices with one enrollment token (the token needs N uses),
// connects them all through agent/link with in-memory spools, sends a
// synthetic telemetry sample from each every --interval (each agent with a
// random phase), and prints a JSON report on stdout at the end. Connections
// are spread over several loopback source addresses (--source-ips) so that
// more than one address's worth of ephemeral ports is available.
//
//	fleetsim --token tl1.... --agents 50000 --interval 60s --duration 10m \
//	         --source-ips 127.0.0.2-127.0.0.40 --identities /tmp/fleet.json
//
// Per agent it keeps one goroutine (the link's read/reconnect loop) and a few
// hundred bytes of state besides the WebSocket's buffers.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tierline/tierline/agent/identity"
	"github.com/tierline/tierline/agent/link"
	"github.com/tierline/tierline/agent/spool"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

type options struct {
	token       string
	agents      int
	interval    time.Duration
	duration    time.Duration
	sourceIPs   string
	enrollConc  int
	sendWorkers int
	ramp        time.Duration
	backoffBase time.Duration
	backoffMax  time.Duration
	identities  string
	progress    time.Duration
	spoolMax    int64
	logLevel    string
	settle      time.Duration
	hubAddrs    string
	enrollOnly  bool
	windowFile  string
	pprofListen string
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func envDefault(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// lockedWriter serialises writes from the progress printer and the logger.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func run(args []string, stdout, stderr io.Writer) int {
	stderr = &lockedWriter{w: stderr}
	var o options
	fs := flag.NewFlagSet("fleetsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.token, "token", envDefault("TIERLINE_TOKEN", ""), "enrollment token with at least --agents uses [TIERLINE_TOKEN]")
	fs.IntVar(&o.agents, "agents", 100, "number of simulated agents")
	fs.DurationVar(&o.interval, "interval", 60*time.Second, "telemetry interval per agent")
	fs.DurationVar(&o.duration, "duration", 5*time.Minute, "how long to run after enrollment")
	fs.StringVar(&o.sourceIPs, "source-ips", "127.0.0.1", "loopback source addresses: a range 127.0.0.2-127.0.0.40 or a comma list")
	fs.IntVar(&o.enrollConc, "enroll-concurrency", 32, "parallel enrollments")
	fs.IntVar(&o.sendWorkers, "send-workers", 32, "goroutines that hand telemetry to the links")
	fs.DurationVar(&o.ramp, "ramp", 0, "spread the agents' first connections over this long (0: all at once)")
	fs.DurationVar(&o.backoffBase, "backoff-base", link.DefaultBackoffBase, "reconnect backoff base")
	fs.DurationVar(&o.backoffMax, "backoff-max", link.DefaultBackoffMax, "reconnect backoff cap")
	fs.StringVar(&o.identities, "identities", "", "file to load enrolled identities from, or to save them to after enrolling (reuse across runs)")
	fs.DurationVar(&o.progress, "progress", 5*time.Second, "progress line interval on stderr")
	fs.Int64Var(&o.spoolMax, "spool-max-bytes", 1<<20, "in-memory spool cap per agent")
	fs.StringVar(&o.logLevel, "log-level", "error", "link log level (debug, info, warn, error)")
	fs.StringVar(&o.hubAddrs, "hub-addrs", "", "connect agent i to the i-th of these loopback host:port addresses (hub replicas), round robin, moving to the next when a dial fails; default the token's hub")
	fs.BoolVar(&o.enrollOnly, "enroll-only", false, "enroll (saving --identities) and exit without connecting")
	fs.StringVar(&o.windowFile, "window-file", "", "on SIGUSR1, write the acknowledgement latencies (ms, one a line) recorded since the last SIGUSR1 to FILE.N (N = 1, 2, ...)")
	fs.StringVar(&o.pprofListen, "pprof-listen", "", "serve Go's profiles (/debug/pprof/) on this loopback host:port, to see where the simulator's own CPU goes")
	fs.DurationVar(&o.settle, "settle", 10*time.Second, "at the end, wait up to this long for outstanding acks")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || o.agents <= 0 || o.interval <= 0 || o.duration <= 0 || o.enrollConc <= 0 || o.sendWorkers <= 0 {
		fmt.Fprintln(stderr, "fleetsim: bad arguments; see fleetsim -h")
		return 2
	}
	ips, err := parseSourceIPs(o.sourceIPs)
	if err != nil {
		fmt.Fprintf(stderr, "fleetsim: --source-ips: %v\n", err)
		return 2
	}
	hubAddrs, err := parseHubAddrs(o.hubAddrs)
	if err != nil {
		fmt.Fprintf(stderr, "fleetsim: --hub-addrs: %v\n", err)
		return 2
	}
	if o.pprofListen != "" {
		if err := servePprof(o.pprofListen); err != nil {
			fmt.Fprintf(stderr, "fleetsim: --pprof-listen: %v\n", err)
			return 2
		}
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(o.logLevel)); err != nil {
		fmt.Fprintf(stderr, "fleetsim: --log-level: %v\n", err)
		return 2
	}
	if n, err := raiseNoFile(); err != nil {
		fmt.Fprintf(stderr, "fleetsim: raise RLIMIT_NOFILE: %v\n", err)
	} else if n > 0 && n < uint64(o.agents)+256 {
		fmt.Fprintf(stderr, "fleetsim: warning: open file limit %d is below --agents %d; raise the hard limit (ulimit -Hn)\n", n, o.agents)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sim := &sim{o: o, ips: ips, hubAddrs: hubAddrs, stderr: stderr,
		log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lv}))}
	rep, err := sim.run(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "fleetsim: %v\n", err)
		if rep == nil {
			return 1
		}
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.Encode(rep)
	if err != nil {
		return 1
	}
	return 0
}

func parseSourceIPs(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := netip.ParseAddr(lo)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = netip.ParseAddr(hi); err != nil {
				return nil, err
			}
		}
		if b.Less(a) {
			return nil, fmt.Errorf("range %s is backwards", part)
		}
		for x := a; ; x = x.Next() {
			if !x.IsLoopback() {
				return nil, fmt.Errorf("%s is not a loopback address; fleetsim only sends traffic over loopback", x)
			}
			out = append(out, x)
			if len(out) > 65536 {
				return nil, errors.New("too many addresses")
			}
			if x == b {
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no addresses")
	}
	return out, nil
}

// agent is one simulated device.
type agent struct {
	idx   int
	id    string
	key   ed25519.PrivateKey
	link  *link.Link
	mu    sync.Mutex
	pend  []pending // sent, not yet acked, in seq order
	acked uint64    // highest ack seen
	phase time.Duration
}

type pending struct {
	seq uint64
	at  time.Time
}

type sim struct {
	o        options
	ips      []netip.Addr
	hubAddrs []string // empty: the token's hub
	stderr   io.Writer
	log      *slog.Logger

	hubURL string
	ca     *x509.Certificate
	agents []*agent

	sent, acked, sendErrs atomic.Uint64
	// runs counts fix runs answered.
	runs atomic.Uint64
	// tlsFull and tlsResumed count the agents' TLS handshakes.
	tlsFull, tlsResumed atomic.Uint64
	latMu               sync.Mutex
	lat                 []float32 // ack latencies in ms
}

func (s *sim) dialer(i int) func(ctx context.Context, network, addr string) (net.Conn, error) {
	ip := s.ips[i%len(s.ips)]
	d := &net.Dialer{Timeout: link.DefaultConnectTimeout, LocalAddr: &net.TCPAddr{IP: ip.AsSlice()}}
	if len(s.hubAddrs) == 0 {
		return d.DialContext
	}
	// Agent i starts on the i-th address; when a dial fails (its replica
	// is down) its next attempt goes to another, as a balancer would send
	// it: the agents of a replica that died spread over the others (all
	// to the next one, that one alone took them: past its open-file
	// limit at 50,000 agents on three replicas).
	n := uint32(len(s.hubAddrs))
	var next atomic.Uint32
	next.Store(uint32(i) % n)
	step := uint32(1)
	if n > 2 {
		step += uint32(i/int(n)) % (n - 1)
		for gcd(step, n) != 1 {
			step++ // a step sharing a factor with n would skip addresses for ever
		}
	}
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		k := next.Load()
		c, err := d.DialContext(ctx, network, s.hubAddrs[k%n])
		if err != nil {
			next.CompareAndSwap(k, (k+step)%n)
		}
		return c, err
	}
}

// parseHubAddrs reads --hub-addrs: loopback host:port addresses only.
func parseHubAddrs(s string) ([]string, error) {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		ap, err := netip.ParseAddrPort(part)
		if err != nil {
			return nil, fmt.Errorf("%q: want IP:PORT: %w", part, err)
		}
		if !ap.Addr().IsLoopback() {
			return nil, fmt.Errorf("%s is not a loopback address; fleetsim only sends traffic over loopback", part)
		}
		out = append(out, part)
	}
	return out, nil
}

// agentTLS is one simulated agent's TLS configuration: its own session
// cache, as each real agent has (agent/link), so a reconnect resumes its
// own session; handshakes are counted by whether they resumed.
func (s *sim) agentTLS(base *tls.Config) *tls.Config {
	c := base.Clone()
	c.ClientSessionCache = link.NewSessions()
	verify := base.VerifyConnection
	c.VerifyConnection = func(cs tls.ConnectionState) error {
		if cs.DidResume {
			s.tlsResumed.Add(1)
		} else {
			s.tlsFull.Add(1)
		}
		if verify == nil {
			return nil
		}
		return verify(cs)
	}
	return c
}

// Report is fleetsim's JSON output.
type Report struct {
	Agents     int      `json:"agents"`
	SourceIPs  int      `json:"source_ips"`
	Interval   string   `json:"interval"`
	Duration   string   `json:"duration"`
	GoMaxProcs int      `json:"gomaxprocs"`
	Enroll     Enroll   `json:"enroll"`
	Connect    Connect  `json:"connect"`
	Messages   Messages `json:"messages"`
	AckLatency Latency  `json:"ack_latency_ms"`
	Reconnect  Recon    `json:"reconnect"`
	Outages    []Outage `json:"outages,omitempty"`
	HeapMB     float64  `json:"heap_mb"`
}

type Enroll struct {
	Enrolled   int     `json:"enrolled"`
	Loaded     int     `json:"loaded_from_file"`
	Failed     int     `json:"failed"`
	Seconds    float64 `json:"seconds"`
	PerSecond  float64 `json:"per_second"`
	FirstError string  `json:"first_error,omitempty"`
}

type Connect struct {
	AllConnected   bool    `json:"all_connected"`
	SecondsToAll   float64 `json:"seconds_until_all_connected,omitempty"`
	MaxConnected   int     `json:"max_connected"`
	ConnectedAtEnd int     `json:"connected_at_end"`
}

type Messages struct {
	Sent       uint64 `json:"sent"`
	Acked      uint64 `json:"acked"`
	SendErrors uint64 `json:"send_errors"`
	Unacked    int    `json:"unacked_at_end"`
	Dropped    uint64 `json:"dropped_by_spool"`
	// Runs is how many fix runs the simulated agents answered.
	Runs uint64 `json:"fix_runs_answered"`
}

type Latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

type Recon struct {
	Connects uint64 `json:"connects_total"`
	// TLSFull and TLSResumed are the agents' TLS handshakes by whether
	// they resumed an earlier session.
	TLSFull           uint64 `json:"tls_handshakes_full"`
	TLSResumed        uint64 `json:"tls_handshakes_resumed"`
	Reconnects        uint64 `json:"reconnects"`
	Failures          uint64 `json:"failures_total"`
	AgentsReconnected int    `json:"agents_reconnected"`
	MaxPerAgent       uint64 `json:"max_connects_per_agent"`
	LastError         string `json:"last_error,omitempty"`
}

// Outage is a period when not every agent was connected, after all had been.
type Outage struct {
	StartSec     float64 `json:"start_sec"`
	MinConnected int     `json:"min_connected"`
	RecoveredSec float64 `json:"seconds_until_all_reconnected,omitempty"`
	Recovered    bool    `json:"recovered"`
}

func (s *sim) run(ctx context.Context) (*Report, error) {
	rep := &Report{Agents: s.o.agents, SourceIPs: len(s.ips), Interval: s.o.interval.String(),
		Duration: s.o.duration.String(), GoMaxProcs: runtime.GOMAXPROCS(0)}
	if err := s.enroll(ctx, &rep.Enroll); err != nil {
		return rep, err
	}
	if s.o.enrollOnly {
		return rep, nil
	}
	if len(s.agents) == 0 {
		return rep, errors.New("no agents enrolled")
	}
	u, _ := url.Parse(s.hubURL)
	wsURL := "wss://" + u.Host + wire.ConnectPath
	tlsConf := identity.TrustedTLSConfig(s.ca, u.Hostname())
	for _, a := range s.agents {
		a := a
		client := &http.Client{Transport: &http.Transport{
			DialContext: s.dialer(a.idx), TLSClientConfig: s.agentTLS(tlsConf), TLSHandshakeTimeout: 20 * time.Second,
			MaxIdleConnsPerHost: -1, DisableKeepAlives: true,
		}}
		l, err := link.New(link.Config{
			URL: wsURL, HTTPClient: client,
			DeviceID: a.id, Key: a.key, AgentVersion: "fleetsim", Hostname: fmt.Sprintf("sim-%06d", a.idx),
			OS: "linux", Arch: "amd64", Platform: "fleetsim",
			Spool: spool.NewMem(s.o.spoolMax, nil), Logger: s.log.With("device", a.id),
			Backoff: link.Backoff{Base: s.o.backoffBase, Max: s.o.backoffMax},
			OnAck:   func(seq uint64) { s.onAck(a, seq) },
			Fixes:   catalog.IDs(catalog.For(catalog.Linux)),
			// A simulated agent answers every fix run at once, so the hub's
			// side of the round trip (API, queue, dispatch, ingest of the
			// result) is what a benchmark measures.
			OnRunRequest: func(req wire.RunRequest, derr error) { go s.answerRun(ctx, a, req, derr) },
		})
		if err != nil {
			return rep, err
		}
		a.link = l
		a.phase = time.Duration(rand.Int64N(int64(s.o.interval)))
	}

	runCtx, cancel := context.WithCancel(ctx)
	sendCtx, stopSend := context.WithCancel(runCtx)
	var wg sync.WaitGroup
	start := time.Now()
	go func() {
		for i, a := range s.agents {
			if s.o.ramp > 0 && len(s.agents) > 1 {
				at := start.Add(time.Duration(int64(s.o.ramp) * int64(i) / int64(len(s.agents)-1)))
				select {
				case <-time.After(time.Until(at)):
				case <-runCtx.Done():
					return
				}
			}
			wg.Add(1)
			go func() { defer wg.Done(); a.link.Run(runCtx) }()
		}
	}()

	// Telemetry scheduler: one goroutine walks the agents in phase order and
	// hands due ones to a few workers.
	work := make(chan *agent, 1024)
	var workers sync.WaitGroup
	for range s.o.sendWorkers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for a := range work {
				s.send(runCtx, a)
			}
		}()
	}
	order := slices.Clone(s.agents)
	slices.SortFunc(order, func(x, y *agent) int { return int(x.phase - y.phase) })
	go func() {
		defer close(work)
		for round := time.Duration(0); ; round += s.o.interval {
			for _, a := range order {
				at := start.Add(round + a.phase)
				if d := time.Until(at); d > 0 {
					select {
					case <-time.After(d):
					case <-sendCtx.Done():
						return
					}
				}
				select {
				case work <- a:
				case <-sendCtx.Done():
					return
				}
			}
		}
	}()

	if s.o.windowFile != "" {
		go s.dumpWindows(runCtx)
	}
	s.monitor(runCtx, start, rep, func() { stopSend(); workers.Wait() })
	stopSend()
	cancel()
	workers.Wait()
	wg.Wait()
	s.finish(rep)
	return rep, ctx.Err()
}

// monitor prints progress and tracks connection counts until the duration
// is over (then waits up to --settle for outstanding acks).
func (s *sim) monitor(ctx context.Context, start time.Time, rep *Report, stopSending func()) {
	stopped := false
	end := start.Add(s.o.duration)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	lastProgress := time.Now()
	allOnce := false
	var cur *Outage
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			connected := 0
			for _, a := range s.agents {
				if a.link.State().Connected {
					connected++
				}
			}
			rep.Connect.MaxConnected = max(rep.Connect.MaxConnected, connected)
			all := connected == len(s.agents)
			if all && !allOnce {
				allOnce = true
				rep.Connect.AllConnected = true
				rep.Connect.SecondsToAll = now.Sub(start).Seconds()
				fmt.Fprintf(s.stderr, "fleetsim: all %d agents connected after %.1fs\n", connected, rep.Connect.SecondsToAll)
			}
			if allOnce {
				if !all && cur == nil {
					rep.Outages = append(rep.Outages, Outage{StartSec: now.Sub(start).Seconds(), MinConnected: connected})
					cur = &rep.Outages[len(rep.Outages)-1]
					fmt.Fprintf(s.stderr, "fleetsim: connections lost: %d/%d connected\n", connected, len(s.agents))
				} else if cur != nil {
					cur.MinConnected = min(cur.MinConnected, connected)
					if all {
						cur.Recovered = true
						cur.RecoveredSec = now.Sub(start).Seconds() - cur.StartSec
						fmt.Fprintf(s.stderr, "fleetsim: all agents reconnected %.1fs after the loss\n", cur.RecoveredSec)
						cur = nil
					}
				}
			}
			if now.Sub(lastProgress) >= s.o.progress {
				lastProgress = now
				fmt.Fprintf(s.stderr, "fleetsim: t=%.0fs connected=%d/%d sent=%d acked=%d\n",
					now.Sub(start).Seconds(), connected, len(s.agents), s.sent.Load(), s.acked.Load())
			}
			if now.After(end) {
				if !stopped {
					stopped = true
					stopSending() // no new messages while waiting for the last acks
				}
				if s.outstanding() == 0 || now.After(end.Add(s.o.settle)) {
					rep.Connect.ConnectedAtEnd = connected
					return
				}
			}
		}
	}
}

func (s *sim) outstanding() int {
	n := 0
	for _, a := range s.agents {
		a.mu.Lock()
		n += len(a.pend)
		a.mu.Unlock()
	}
	return n
}

func (s *sim) answerRun(ctx context.Context, a *agent, req wire.RunRequest, derr error) {
	now := time.Now().UTC()
	res := wire.RunResult{RunID: req.RunID, Fix: req.Fix, Outcome: wire.OutcomeSucceeded, Reason: "simulated", Started: now, Finished: now}
	if derr != nil {
		res.Outcome, res.Code, res.Reason = wire.OutcomeRefused, wire.RefuseBadParams, derr.Error()
	}
	if _, err := a.link.Send(ctx, res); err != nil && ctx.Err() == nil {
		s.sendErrs.Add(1)
		return
	}
	s.runs.Add(1)
}

func (s *sim) send(ctx context.Context, a *agent) {
	smp := diag.Sample{
		Time: time.Now().UTC(), UptimeSec: uint64(3600 + a.idx),
		CPU:    diag.CPU{TotalPct: rand.Float64() * 100, Load1: rand.Float64() * 4},
		Memory: diag.Memory{Total: 8 << 30, Used: uint64(rand.Int64N(8 << 30)), Available: 2 << 30, UsedPct: rand.Float64() * 100},
	}
	// a.mu is not held across Send: Send may write to the network, and the
	// link's reader takes a.mu in onAck.
	before := time.Now()
	seq, err := a.link.Send(ctx, wire.Telemetry{Sample: smp})
	if err != nil {
		if ctx.Err() == nil {
			s.sendErrs.Add(1)
		}
		return
	}
	s.sent.Add(1)
	a.mu.Lock()
	if seq <= a.acked { // the ack beat us here
		a.mu.Unlock()
		s.recordAcks([]float32{float32(time.Since(before).Seconds() * 1000)})
		return
	}
	i := len(a.pend)
	for i > 0 && a.pend[i-1].seq > seq {
		i--
	}
	a.pend = slices.Insert(a.pend, i, pending{seq: seq, at: before})
	a.mu.Unlock()
}

// dumpWindows writes the latencies recorded between SIGUSR1s (the
// benchmark's steady-state window) to --window-file.N.
func (s *sim) dumpWindows(ctx context.Context) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	defer signal.Stop(sig)
	mark := 0
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-sig:
		}
		s.latMu.Lock()
		win := slices.Clone(s.lat[mark:])
		mark = len(s.lat)
		s.latMu.Unlock()
		var b strings.Builder
		for _, v := range win {
			fmt.Fprintf(&b, "%.3f\n", v)
		}
		if err := os.WriteFile(fmt.Sprintf("%s.%d", s.o.windowFile, n), []byte(b.String()), 0o644); err != nil {
			fmt.Fprintf(s.stderr, "fleetsim: --window-file: %v\n", err)
		}
	}
}

func (s *sim) recordAcks(lats []float32) {
	s.acked.Add(uint64(len(lats)))
	s.latMu.Lock()
	if len(s.lat) < 10_000_000 {
		s.lat = append(s.lat, lats...)
	}
	s.latMu.Unlock()
}

func (s *sim) onAck(a *agent, seq uint64) {
	now := time.Now()
	a.mu.Lock()
	if seq > a.acked {
		a.acked = seq
	}
	n := 0
	var lats []float32
	for n < len(a.pend) && a.pend[n].seq <= seq {
		lats = append(lats, float32(now.Sub(a.pend[n].at).Seconds()*1000))
		n++
	}
	a.pend = a.pend[:copy(a.pend, a.pend[n:])]
	a.mu.Unlock()
	if n > 0 {
		s.recordAcks(lats)
	}
}

func (s *sim) finish(rep *Report) {
	rep.Messages.Sent, rep.Messages.Acked, rep.Messages.SendErrors = s.sent.Load(), s.acked.Load(), s.sendErrs.Load()
	rep.Messages.Runs = s.runs.Load()
	rep.Reconnect.TLSFull, rep.Reconnect.TLSResumed = s.tlsFull.Load(), s.tlsResumed.Load()
	rep.Messages.Unacked = s.outstanding()
	for _, a := range s.agents {
		st := a.link.State()
		rep.Messages.Dropped += st.SpoolDropped
		rep.Reconnect.Connects += st.Connects
		rep.Reconnect.Failures += st.Failures
		if st.Connects > 1 {
			rep.Reconnect.AgentsReconnected++
			rep.Reconnect.Reconnects += st.Connects - 1
		}
		rep.Reconnect.MaxPerAgent = max(rep.Reconnect.MaxPerAgent, st.Connects)
		if st.LastError != "" {
			rep.Reconnect.LastError = st.LastError
		}
	}
	s.latMu.Lock()
	lat := s.lat
	s.latMu.Unlock()
	slices.Sort(lat)
	if n := len(lat); n > 0 {
		q := func(p float64) float64 { return float64(lat[min(n-1, int(p*float64(n)))]) }
		rep.AckLatency = Latency{Count: n, P50: q(0.50), P90: q(0.90), P99: q(0.99), Max: float64(lat[n-1])}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rep.HeapMB = float64(ms.HeapAlloc) / (1 << 20)
}

// identityFile is the --identities file: enrolled devices reusable across runs.
type identityFile struct {
	HubURL  string        `json:"hub_url"`
	CAPEM   string        `json:"ca_pem"`
	Devices []deviceEntry `json:"devices"`
}

type deviceEntry struct {
	ID   string `json:"id"`
	Seed []byte `json:"seed"` // ed25519 seed
}

func (s *sim) enroll(ctx context.Context, rep *Enroll) error {
	start := time.Now()
	defer func() {
		rep.Seconds = time.Since(start).Seconds()
		if rep.Seconds > 0 {
			rep.PerSecond = float64(rep.Enrolled) / rep.Seconds
		}
	}()
	if s.o.identities != "" {
		if raw, err := os.ReadFile(s.o.identities); err == nil {
			var f identityFile
			if err := json.Unmarshal(raw, &f); err != nil {
				return fmt.Errorf("--identities %s: %w", s.o.identities, err)
			}
			blk, _ := pem.Decode([]byte(f.CAPEM))
			if blk == nil {
				return fmt.Errorf("--identities %s: no CA", s.o.identities)
			}
			ca, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return fmt.Errorf("--identities %s: %w", s.o.identities, err)
			}
			s.hubURL, s.ca = f.HubURL, ca
			for i, d := range f.Devices {
				if i >= s.o.agents {
					break
				}
				s.agents = append(s.agents, &agent{idx: i, id: d.ID, key: ed25519.NewKeyFromSeed(d.Seed)})
			}
			rep.Loaded = len(s.agents)
			if len(s.agents) >= s.o.agents {
				fmt.Fprintf(s.stderr, "fleetsim: loaded %d identities from %s\n", len(s.agents), s.o.identities)
				return nil
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	need := s.o.agents - len(s.agents)
	if s.o.token == "" {
		return fmt.Errorf("--token is required to enroll %d more agents", need)
	}
	tok, err := wire.ParseEnrollToken(s.o.token)
	if err != nil {
		return err
	}
	if s.hubURL != "" && s.hubURL != tok.HubURL {
		return fmt.Errorf("--identities are for hub %s, the token for %s", s.hubURL, tok.HubURL)
	}
	s.hubURL = tok.HubURL
	var (
		mu       sync.Mutex
		next     = len(s.agents)
		failed   atomic.Int64
		done     atomic.Int64
		firstErr string
		wg       sync.WaitGroup
	)
	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		t := time.NewTicker(s.o.progress)
		defer t.Stop()
		for {
			select {
			case <-stopProgress:
				return
			case <-t.C:
				fmt.Fprintf(s.stderr, "fleetsim: enrolled %d/%d (failed %d) in %.0fs\n", done.Load(), need, failed.Load(), time.Since(start).Seconds())
			}
		}
	}()
	for w := 0; w < s.o.enrollConc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				mu.Lock()
				if next >= s.o.agents {
					mu.Unlock()
					return
				}
				i := next
				next++
				mu.Unlock()
				id, err := identity.Enroll(ctx, identity.EnrollOptions{
					Token: tok, DialContext: s.dialer(i),
					Host: identity.HostInfo{Hostname: fmt.Sprintf("sim-%06d", i), OS: "linux", Arch: "amd64", Platform: "fleetsim"},
				})
				if err != nil {
					failed.Add(1)
					mu.Lock()
					if firstErr == "" {
						firstErr = err.Error()
					}
					mu.Unlock()
					continue
				}
				done.Add(1)
				mu.Lock()
				if s.ca == nil {
					s.ca = id.CA
				}
				s.agents = append(s.agents, &agent{idx: i, id: id.DeviceID, key: id.Key})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(stopProgress)
	<-progressDone
	rep.Enrolled, rep.Failed, rep.FirstError = int(done.Load()), int(failed.Load()), firstErr
	fmt.Fprintf(s.stderr, "fleetsim: enrolled %d agents in %.1fs (%d failed)\n", rep.Enrolled, time.Since(start).Seconds(), rep.Failed)
	slices.SortFunc(s.agents, func(x, y *agent) int { return x.idx - y.idx })
	for i, a := range s.agents {
		a.idx = i
	}
	if s.o.identities != "" && rep.Enrolled > 0 {
		f := identityFile{HubURL: s.hubURL, CAPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.ca.Raw}))}
		for _, a := range s.agents {
			f.Devices = append(f.Devices, deviceEntry{ID: a.id, Seed: a.key.Seed()})
		}
		raw, _ := json.Marshal(f)
		if err := os.WriteFile(s.o.identities, raw, 0o600); err != nil {
			return fmt.Errorf("save identities: %w", err)
		}
	}
	if rep.Failed > 0 && ctx.Err() == nil {
		fmt.Fprintf(s.stderr, "fleetsim: warning: %d enrollments failed: %s\n", rep.Failed, firstErr)
	}
	return ctx.Err()
}

// servePprof serves Go's profiles on addr, a loopback address only.
func servePprof(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip, err := netip.ParseAddr(host); err != nil || !ip.IsLoopback() {
		return fmt.Errorf("%q: profiles are served on a loopback address only, such as 127.0.0.1:6061", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	go http.Serve(ln, mux) //nolint:errcheck // lives as long as the simulator
	return nil
}

func gcd(a, b uint32) uint32 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
