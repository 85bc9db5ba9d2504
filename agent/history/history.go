// Package history keeps the agent's recent telemetry in memory: every
// sample's Summary for about the last hour, and one point per minute (mean
// and maximum) for about the last day. Both rings are preallocated when the
// History is made, so its memory is fixed whatever happens; a ticket takes a
// Snapshot so technicians see what the machine did before the user asked for
// help, even if the hub was unreachable meanwhile.
package history

import (
	"context"
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

// TopKept is how many of each sample's busiest processes the full ring keeps.
const TopKept = 3

// proc is the compact stored form of a busy process.
type proc struct {
	pid  int32
	cpu  float32
	name string
}

// ProcPoint is one sample's busiest processes (CPUPct is percent of one
// core), busiest first.
type ProcPoint struct {
	Time time.Time
	Top  []diag.Process
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

// procsSince returns the busiest processes (tops, indexed as the ring) of
// the points at or after t, oldest first.
func (r *ring) procsSince(t int64, tops [][TopKept]proc) []ProcPoint {
	var out []ProcPoint
	start := (r.next - r.count + len(r.buf)) % len(r.buf)
	for i := 0; i < r.count; i++ {
		j := (start + i) % len(r.buf)
		if r.buf[j].unixNano < t {
			continue
		}
		pp := ProcPoint{Time: time.Unix(0, r.buf[j].unixNano).UTC()}
		for _, q := range tops[j] {
			if q.pid != 0 {
				pp.Top = append(pp.Top, diag.Process{PID: q.pid, Name: q.name, CPUPct: float64(q.cpu)})
			}
		}
		out = append(out, pp)
	}
	return out
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
	mu   sync.Mutex
	cfg  Config
	full ring
	// tops holds each full-ring point's busiest processes, at the same
	// index, so a check can tell one process pinning a core for minutes
	// apart from a machine that is busy overall.
	tops   [][TopKept]proc
	minute ring
	// acc accumulates the step in progress: sums in acc.sum, maxima in acc.max.
	acc    point
	latest diag.Sample
	has    bool
	// prevTime is when the sample before the latest was taken: the
	// latest's rates (CPU) were measured from then on.
	prevTime time.Time
	// waiters are WaitAfter calls to wake at the next Add (a sample
	// allocates nothing unless someone waits).
	waiters []chan struct{}
}

// New returns a History sized by cfg, with all its memory allocated.
func New(cfg Config) *History {
	cfg.setDefaults()
	nFull := int(cfg.Full/cfg.Interval) + 1
	// A little headroom: samples arrive slightly faster than Interval when
	// the agent catches up after a pause.
	nFull += nFull / 10
	nCoarse := int(cfg.Coarse / cfg.Step)
	return &History{cfg: cfg, full: newRing(nFull), minute: newRing(nCoarse),
		tops: make([][TopKept]proc, nFull)}
}

// Capacity reports how many full-resolution and per-step points fit.
func (h *History) Capacity() (full, coarse int) { return len(h.full.buf), len(h.minute.buf) }

// Bytes is the fixed memory the rings hold, for the docs and the budget test.
func (h *History) Bytes() int {
	return (len(h.full.buf)+len(h.minute.buf))*int(unsafe.Sizeof(point{})) + len(h.tops)*int(unsafe.Sizeof([TopKept]proc{}))
}

// Add records a sample: its Summary in the full ring, folded into the
// current step, and the sample itself as the latest.
func (h *History) Add(s diag.Sample) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.has {
		h.prevTime = h.latest.Time
	}
	h.latest, h.has = s, true
	h.addLocked(s.Time, s.Summarize())
	top := &h.tops[(h.full.next-1+len(h.full.buf))%len(h.full.buf)]
	for i, p := range s.TopCPU {
		if i == TopKept {
			break
		}
		top[i] = proc{pid: p.PID, cpu: float32(p.CPUPct), name: p.Name}
	}
	for i, w := range h.waiters {
		close(w)
		h.waiters[i] = nil
	}
	h.waiters = h.waiters[:0]
}

// WaitAfter waits until the latest sample was measured wholly after t (it
// and the sample before it were taken at or after t: a sample's CPU rates
// cover the time since the one before), or ctx ends. A fix's verification
// uses it so the checks that judge telemetry see the machine as it is
// after the fix, not as it was before or during it.
func (h *History) WaitAfter(ctx context.Context, t time.Time) error {
	for {
		h.mu.Lock()
		if h.has && h.latest.Time.After(t) && !h.prevTime.Before(t) {
			h.mu.Unlock()
			return nil
		}
		added := make(chan struct{})
		h.waiters = append(h.waiters, added)
		h.mu.Unlock()
		select {
		case <-added:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
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
	h.tops[(h.full.next-1+len(h.full.buf))%len(h.full.buf)] = [TopKept]proc{}
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

// RecentProcs returns the busiest processes of each full-resolution point
// taken at or after since, oldest first.
func (h *History) RecentProcs(since time.Time) []ProcPoint {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.full.procsSince(since.UnixNano(), h.tops)
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
