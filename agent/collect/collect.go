// Package collect takes telemetry samples of this machine.
//
// A sample is put together by small named collectors (cpu, load, memory,
// filesystems, disk_io, network, processes, users, uptime, temperature,
// battery) that run concurrently and time themselves. Rates (CPU, disk and
// network) are computed against the previous sample, so one Collector should
// live as long as the agent. Something this machine does not expose is
// reported in Sample.Unavailable with the reason, never as a zero.
package collect

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tierline/tierline/shared/diag"
)

// ErrNoData marks "nothing to report on this machine" (no battery, no
// sensors, first sample of a rate) as opposed to a failure. Collectors wrap
// it with the reason: fmt.Errorf("%w: no battery", ErrNoData).
var ErrNoData = errors.New("not available")

// Config tunes a Collector. The zero value is usable.
type Config struct {
	// Root is the filesystem root under which /proc, /sys and /etc are read
	// by the collectors that parse files themselves; tests point it at a
	// fixture tree. Default "/".
	Root string
	// TopN is the length of the top-processes lists. Default 5.
	TopN int
	// CollectorTimeout bounds each collector. Default 5 s.
	CollectorTimeout time.Duration
	// Disabled names collectors to skip.
	Disabled []string
}

func (c *Config) setDefaults() {
	if c.Root == "" {
		c.Root = "/"
	}
	if c.TopN <= 0 {
		c.TopN = 5
	}
	if c.CollectorTimeout <= 0 {
		c.CollectorTimeout = 5 * time.Second
	}
}

// path joins p (an absolute path such as "/proc/stat") under the root.
func (c *Config) path(p string) string { return filepath.Join(c.Root, p) }

// collector is one named unit. fill writes only its own fields of s; it is
// never run concurrently with itself, so it may keep state between samples.
type collector struct {
	name string
	fill func(ctx context.Context, s *diag.Sample) error
	busy *atomic.Bool // set while fill runs, possibly past a sample's end
}

// Collector takes telemetry samples. Rates are computed against the
// previous sample, so one Collector should be used for the agent's life.
// It is safe for concurrent use; samples are taken one at a time.
type Collector struct {
	mu         sync.Mutex
	cfg        Config
	collectors []collector
	// procNames holds the process names the last sample saw.
	procNames atomic.Pointer[ProcessNames]
}

// ProcessNames are the names of every process a sample saw (on Linux the
// kernel's comm, cut at 15 bytes), and when.
type ProcessNames struct {
	Names []string
	Time  time.Time
}

// ProcessNames returns the process names the last sample saw; false
// before the first sample. Declarative process checks read them instead of
// listing processes again.
func (c *Collector) ProcessNames() (ProcessNames, bool) {
	p := c.procNames.Load()
	if p == nil {
		return ProcessNames{}, false
	}
	return *p, true
}

// New returns a Collector with the default configuration.
func New() *Collector { return NewWithConfig(Config{}) }

// NewWithConfig returns a Collector configured by cfg.
func NewWithConfig(cfg Config) *Collector {
	cfg.setDefaults()
	c := &Collector{cfg: cfg}
	disabled := map[string]bool{}
	for _, d := range cfg.Disabled {
		disabled[d] = true
	}
	for _, col := range c.build() {
		if !disabled[col.name] {
			col.busy = new(atomic.Bool)
			c.collectors = append(c.collectors, col)
		}
	}
	return c
}

// Names lists the collectors this Collector runs.
func (c *Collector) Names() []string {
	var n []string
	for _, col := range c.collectors {
		n = append(n, col.name)
	}
	return n
}

func (c *Collector) build() []collector {
	cpu := &cpuCollector{}
	dio := &diskIOCollector{}
	net := &netCollector{}
	procs := newProcCollector(&c.cfg)
	procs.names = &c.procNames
	return []collector{
		{name: "cpu", fill: cpu.fill},
		{name: "load", fill: fillLoad},
		{name: "memory", fill: fillMemory},
		{name: "filesystems", fill: fillFilesystems},
		{name: "disk_io", fill: dio.fill},
		{name: "network", fill: net.fill},
		{name: "processes", fill: procs.fill},
		{name: "users", fill: func(ctx context.Context, s *diag.Sample) error { return fillUsers(ctx, &c.cfg, s) }},
		{name: "uptime", fill: fillUptime},
		{name: "temperature", fill: func(ctx context.Context, s *diag.Sample) error { return fillTemperature(ctx, &c.cfg, s) }},
		{name: "battery", fill: func(ctx context.Context, s *diag.Sample) error { return fillBattery(ctx, &c.cfg, s) }},
	}
}

// Sample takes one telemetry sample. It fails only when the context is
// done; collectors that fail are listed in Sample.Unavailable.
//
// Each collector fills a private Sample that is merged only once it has
// finished, so a collector stuck past CollectorTimeout (a hung network
// mount in statfs, say) cannot hold up the sample or race with it; it is
// reported unavailable, and skipped until it returns.
func (c *Collector) Sample(ctx context.Context) (diag.Sample, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	start := time.Now()
	s := diag.Sample{Time: start.UTC()}
	type result struct {
		i      int
		part   *diag.Sample
		err    error
		micros int64
	}
	done := make(chan result, len(c.collectors))
	unavailable := map[string]string{}
	stats := make(map[string]diag.CollectorStat, len(c.collectors))
	pending := map[int]bool{}
	for i := range c.collectors {
		col := &c.collectors[i]
		if !col.busy.CompareAndSwap(false, true) {
			unavailable[col.name] = "still running from an earlier sample"
			stats[col.name] = diag.CollectorStat{Error: "still running from an earlier sample"}
			continue
		}
		pending[i] = true
		go func() {
			defer col.busy.Store(false)
			cctx, cancel := context.WithTimeout(ctx, c.cfg.CollectorTimeout)
			defer cancel()
			t0 := time.Now()
			part := &diag.Sample{}
			err := safeFill(cctx, *col, part)
			done <- result{i: i, part: part, err: err, micros: time.Since(t0).Microseconds()}
		}()
	}
	deadline := time.NewTimer(c.cfg.CollectorTimeout + 100*time.Millisecond)
	defer deadline.Stop()
wait:
	for len(pending) > 0 {
		select {
		case r := <-done:
			delete(pending, r.i)
			name := c.collectors[r.i].name
			st := diag.CollectorStat{Micros: r.micros}
			if r.err != nil {
				unavailable[name] = reason(r.err)
				if !errors.Is(r.err, ErrNoData) {
					st.Error = r.err.Error()
				}
			}
			stats[name] = st
			merge(&s, r.part)
		case <-deadline.C:
			break wait
		case <-ctx.Done():
			return s, fmt.Errorf("take sample: %w", ctx.Err())
		}
	}
	for i := range pending {
		name := c.collectors[i].name
		unavailable[name] = fmt.Sprintf("timed out after %s", c.cfg.CollectorTimeout)
		stats[name] = diag.CollectorStat{Micros: time.Since(start).Microseconds(), Error: unavailable[name]}
	}
	if err := ctx.Err(); err != nil {
		return s, fmt.Errorf("take sample: %w", err)
	}
	if len(unavailable) > 0 {
		s.Unavailable = unavailable
	}
	s.Collectors = stats
	sortSample(&s)
	s.CollectMicros = time.Since(start).Microseconds()
	return s, nil
}

// merge copies into dst what one collector filled in src. Collectors fill
// disjoint fields; cpu and load share the CPU struct.
func merge(dst, src *diag.Sample) {
	if src.UptimeSec != 0 {
		dst.UptimeSec = src.UptimeSec
	}
	if src.CPU.PerCore != nil {
		dst.CPU.TotalPct, dst.CPU.PerCore = src.CPU.TotalPct, src.CPU.PerCore
	}
	if src.CPU.Load1 != 0 || src.CPU.Load5 != 0 || src.CPU.Load15 != 0 {
		dst.CPU.Load1, dst.CPU.Load5, dst.CPU.Load15 = src.CPU.Load1, src.CPU.Load5, src.CPU.Load15
	}
	if src.Memory.Total != 0 {
		dst.Memory = src.Memory
	}
	dst.Filesystems = append(dst.Filesystems, src.Filesystems...)
	dst.Disks = append(dst.Disks, src.Disks...)
	dst.Network = append(dst.Network, src.Network...)
	dst.TopCPU = append(dst.TopCPU, src.TopCPU...)
	dst.TopMemory = append(dst.TopMemory, src.TopMemory...)
	dst.Users = append(dst.Users, src.Users...)
	dst.Temperature = append(dst.Temperature, src.Temperature...)
	if src.Battery != nil {
		dst.Battery = src.Battery
	}
}

// safeFill runs one collector, turning a panic into an error so one broken
// source cannot take the agent down.
func safeFill(ctx context.Context, col collector, s *diag.Sample) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("collector %s panicked: %v", col.name, r)
		}
	}()
	return col.fill(ctx, s)
}

// reason is the text put in Unavailable: the reason after "not available: ".
func reason(err error) string {
	msg := err.Error()
	prefix := ErrNoData.Error() + ": "
	if len(msg) > len(prefix) && msg[:len(prefix)] == prefix {
		return msg[len(prefix):]
	}
	return msg
}

func noData(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrNoData, fmt.Sprintf(format, args...))
}

func sortSample(s *diag.Sample) {
	sort.Slice(s.Filesystems, func(i, j int) bool { return s.Filesystems[i].Mount < s.Filesystems[j].Mount })
	sort.Slice(s.Disks, func(i, j int) bool { return s.Disks[i].Name < s.Disks[j].Name })
	sort.Slice(s.Network, func(i, j int) bool { return s.Network[i].Name < s.Network[j].Name })
	sort.Slice(s.Temperature, func(i, j int) bool { return s.Temperature[i].Sensor < s.Temperature[j].Sensor })
}

// rate is the per-second rate of a counter that went from prev to cur in
// dt seconds; a counter that went backwards (reset, wrap) gives 0.
func rate(prev, cur uint64, dt float64) float64 {
	if cur < prev || dt <= 0 {
		return 0
	}
	return float64(cur-prev) / dt
}

func round2(f float64) float64 {
	return float64(int64(f*100+0.5)) / 100
}
