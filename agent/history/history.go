// Package history keeps the agent's recent telemetry in memory: every
// sample's Summary for about the last hour, and one point per minute (mean
// and maximum) for about the last day. Both rings are preallocated when the
// History is made, so its memory is fixed whatever happens; a ticket takes a
// Snapshot so technicians see what the machine did before the user asked for
// help, even if the hub was unreachable meanwhile.
package history

import (
	"sync"
	"time"
	"unsafe"

	"github.com/tierline/tierline/shared/diag"
)

// Config sizes a History. The zero value gives the defaults.
type Config struct {
	// Interval is the expected time between samples. Default 10 s.
	Interval time.Duration
	// Full is how long every sample is kept. Default 1 h.
	Full time.Duration
	// Coarse is how long per-step points are kept. Default 24 h.
	Coarse time.Duration
	// Step is the resolution of the coarse ring. Default 1 min.
	Step time.Duration
}

func (c *Config) setDefaults() {
	if c.Interval <= 0 {
		c.Interval = 10 * time.Second
	}
	if c.Full <= 0 {
		c.Full = time.Hour
	}
	if c.Coarse <= 0 {
		c.Coarse = 24 * time.Hour
	}
	if c.Step <= 0 {
		c.Step = time.Minute
	}
}

// point is the fixed-size stored form of a diag.Point.
type point struct {
	unixNano int64
	sum      diag.Summary
	max      diag.Summary
	n        int32
}

// ring is a fixed-capacity circular buffer of points.
type ring struct {
	buf   []point
	next  int // where the next point goes
	count int
}

func newRing(n int) ring { return ring{buf: make([]point, n)} }

func (r *ring) push(p point) {
	r.buf[r.next] = p
	r.next = (r.next + 1) % len(r.buf)
	if r.count < len(r.buf) {
		r.count++
	}
}

// since returns the points at or after t, oldest first.
func (r *ring) since(t int64, step bool) []diag.Point {
	var out []diag.Point
	start := (r.next - r.count + len(r.buf)) % len(r.buf)
	for i := 0; i < r.count; i++ {
		p := r.buf[(start+i)%len(r.buf)]
		if p.unixNano < t {
			continue
		}
		out = append(out, p.export(step))
	}
	return out
}

func (p point) export(step bool) diag.Point {
	dp := diag.Point{Time: time.Unix(0, p.unixNano).UTC(), Summary: p.sum}
	if step {
		m := p.max
		dp.N, dp.Max = int(p.n), &m
	}
	return dp
}

// History is a bounded, concurrency-safe record of recent samples.
type History struct {
	mu     sync.Mutex
	cfg    Config
	full   ring
	minute ring
	// acc accumulates the step in progress: sums in acc.sum, maxima in acc.max.
	acc    point
	latest diag.Sample
	has    bool
}

// New returns a History sized by cfg, with all its memory allocated.
func New(cfg Config) *History {
	cfg.setDefaults()
	nFull := int(cfg.Full/cfg.Interval) + 1
	// A little headroom: samples arrive slightly faster than Interval when
	// the agent catches up after a pause.
	nFull += nFull / 10
	nCoarse := int(cfg.Coarse / cfg.Step)
	return &History{cfg: cfg, full: newRing(nFull), minute: newRing(nCoarse)}
}

// Capacity reports how many full-resolution and per-step points fit.
func (h *History) Capacity() (full, coarse int) { return len(h.full.buf), len(h.minute.buf) }

// Bytes is the fixed memory the rings hold, for the docs and the budget test.
func (h *History) Bytes() int {
	return (len(h.full.buf) + len(h.minute.buf)) * int(unsafe.Sizeof(point{}))
}

// Add records a sample: its Summary in the full ring, folded into the
// current step, and the sample itself as the latest.
func (h *History) Add(s diag.Sample) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.latest, h.has = s, true
	h.addLocked(s.Time, s.Summarize())
}

// AddSummary records a summary taken at t (for replay and tests).
func (h *History) AddSummary(t time.Time, sum diag.Summary) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.addLocked(t, sum)
}

func (h *History) addLocked(t time.Time, sum diag.Summary) {
	ns := t.UnixNano()
	h.full.push(point{unixNano: ns, sum: sum, max: sum, n: 1})
	stepStart := t.Truncate(h.cfg.Step).UnixNano()
	if h.acc.n > 0 && stepStart != h.acc.unixNano {
		h.minute.push(h.mean())
		h.acc = point{}
	}
	if h.acc.n == 0 {
		h.acc = point{unixNano: stepStart, max: sum}
	}
	h.acc.n++
	addInto(&h.acc.sum, sum)
	maxInto(&h.acc.max, sum)
}

// mean turns the accumulator (sums) into a stored point (means).
func (h *History) mean() point {
	p := h.acc
	n := float64(p.n)
	p.sum = diag.Summary{
		CPUPct: p.sum.CPUPct / n, MemPct: p.sum.MemPct / n, DiskPct: p.sum.DiskPct / n,
		Load1: p.sum.Load1 / n, RxBps: p.sum.RxBps / n, TxBps: p.sum.TxBps / n,
	}
	return p
}

func addInto(a *diag.Summary, b diag.Summary) {
	a.CPUPct += b.CPUPct
	a.MemPct += b.MemPct
	a.DiskPct += b.DiskPct
	a.Load1 += b.Load1
	a.RxBps += b.RxBps
	a.TxBps += b.TxBps
}

func maxInto(a *diag.Summary, b diag.Summary) {
	a.CPUPct = max(a.CPUPct, b.CPUPct)
	a.MemPct = max(a.MemPct, b.MemPct)
	a.DiskPct = max(a.DiskPct, b.DiskPct)
	a.Load1 = max(a.Load1, b.Load1)
	a.RxBps = max(a.RxBps, b.RxBps)
	a.TxBps = max(a.TxBps, b.TxBps)
}

// Latest returns the most recent sample added.
func (h *History) Latest() (diag.Sample, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.latest, h.has
}

// Recent returns the full-resolution points taken at or after since,
// oldest first.
func (h *History) Recent(since time.Time) []diag.Point {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.full.since(since.UnixNano(), false)
}

// Snapshot returns what the History holds from since on: the
// full-resolution points and the per-step points, the step in progress
// included as the last (partial, see its N) per-step point.
func (h *History) Snapshot(since time.Time) diag.History {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := since.UnixNano()
	out := diag.History{Full: h.full.since(t, false), Minute: h.minute.since(t, true)}
	if h.acc.n > 0 && h.acc.unixNano+int64(h.cfg.Step) > t {
		out.Minute = append(out.Minute, h.mean().export(true))
	}
	return out
}
