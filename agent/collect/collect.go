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
}

// Collector takes telemetry samples. Rates are computed against the
// previous sample, so one Collector should be used for the agent's life.
// It is safe for concurrent use; samples are taken one at a time.
type Collector struct {
	mu         sync.Mutex
	cfg        Config
	collectors []collector
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
	return []collector{
		{"cpu", cpu.fill},
		{"load", fillLoad},
		{"memory", fillMemory},
		{"filesystems", fillFilesystems},
		{"disk_io", dio.fill},
		{"network", net.fill},
		{"processes", procs.fill},
		{"users", func(ctx context.Context, s *diag.Sample) error { return fillUsers(ctx, &c.cfg, s) }},
		{"uptime", fillUptime},
		{"temperature", func(ctx context.Context, s *diag.Sample) error { return fillTemperature(ctx, &c.cfg, s) }},
		{"battery", func(ctx context.Context, s *diag.Sample) error { return fillBattery(ctx, &c.cfg, s) }},
	}
}

// Sample takes one telemetry sample. It fails only when the context is
// done; collectors that fail are listed in Sample.Unavailable.
func (c *Collector) Sample(ctx context.Context) (diag.Sample, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	start := time.Now()
	s := diag.Sample{Time: start.UTC()}
	type result struct {
		err    error
		micros int64
	}
	results := make([]result, len(c.collectors))
	var wg sync.WaitGroup
	for i, col := range c.collectors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, c.cfg.CollectorTimeout)
			defer cancel()
			t0 := time.Now()
			err := safeFill(cctx, col, &s)
			results[i] = result{err: err, micros: time.Since(t0).Microseconds()}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return s, fmt.Errorf("take sample: %w", err)
	}
	s.Collectors = make(map[string]diag.CollectorStat, len(c.collectors))
	for i, col := range c.collectors {
		st := diag.CollectorStat{Micros: results[i].micros}
		if err := results[i].err; err != nil {
			if s.Unavailable == nil {
				s.Unavailable = map[string]string{}
			}
			s.Unavailable[col.name] = reason(err)
			if !errors.Is(err, ErrNoData) {
				st.Error = err.Error()
			}
		}
		s.Collectors[col.name] = st
	}
	sortSample(&s)
	s.CollectMicros = time.Since(start).Microseconds()
	return s, nil
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
