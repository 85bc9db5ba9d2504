package health

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tierline/tierline/agent/history"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

// The performance checks beside cpu-saturated: one process pinning a core
// (process-cpu-runaway), memory stalls from the kernel's pressure stall
// information (memory-stall), processes the kernel killed for want of
// memory (oom-kills), process and thread counts near their limits
// (process-limits) and paging to and from swap (swap-thrashing). The
// grading functions here are pure; the readers are per OS (perf_linux.go,
// perf_other.go).

func checkRunaway(_ context.Context, c *Config, env Env) diag.CheckResult {
	if env.RecentProcs == nil {
		return unknown("No telemetry history to judge sustained CPU use by one process.")
	}
	now := env.Now()
	return gradeRunaway(c, now, env.RecentProcs(now.Add(-c.CPUFailFor)))
}

// runaway is one process that stayed at or above the pinning threshold in
// every sample of a window.
type runaway struct {
	pid  int32
	name string
	mean float64
	n    int
}

// pinnedOver returns the processes that used at least pct of one core in
// every sample of the window ending at now, busiest first, when the
// samples cover the window: history reaches back past its start, or the
// samples span most of it.
func pinnedOver(pts []history.ProcPoint, now time.Time, window time.Duration, pct float64) []runaway {
	from := now.Add(-window)
	var in []history.ProcPoint
	older := false // history reaches back past the window
	for _, p := range pts {
		switch {
		case p.Time.Before(from):
			older = true
		case !p.Time.After(now):
			in = append(in, p)
		}
	}
	if len(in) < 2 || !older && now.Sub(in[0].Time) < window*8/10 {
		return nil
	}
	type key struct {
		pid  int32
		name string
	}
	sums := map[key]float64{}
	for _, p := range in[0].Top {
		if p.CPUPct >= pct {
			sums[key{p.PID, p.Name}] = 0
		}
	}
	for _, pt := range in {
		seen := map[key]bool{}
		for _, p := range pt.Top {
			k := key{p.PID, p.Name}
			if _, ok := sums[k]; ok && p.CPUPct >= pct {
				sums[k] += p.CPUPct
				seen[k] = true
			}
		}
		for k := range sums {
			if !seen[k] {
				delete(sums, k)
			}
		}
	}
	var out []runaway
	for k, s := range sums {
		out = append(out, runaway{pid: k.pid, name: k.name, mean: s / float64(len(in)), n: len(in)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].mean != out[j].mean {
			return out[i].mean > out[j].mean
		}
		return out[i].pid < out[j].pid
	})
	return out
}

// gradeRunaway is the pure part of process-cpu-runaway: a process that
// kept at least CPUPinPct of one core busy in every sample for CPUWarnFor
// warns, for CPUFailFor fails, whatever the rest of the machine does (one
// process pinning one core of two is only 50% of the machine, which
// cpu-saturated does not count).
func gradeRunaway(c *Config, now time.Time, pts []history.ProcPoint) diag.CheckResult {
	if len(pts) == 0 {
		return unknown("No telemetry history yet to judge sustained CPU use by one process.")
	}
	st, window := diag.StatusFailing, c.CPUFailFor
	found := pinnedOver(pts, now, window, c.CPUPinPct)
	if len(found) == 0 {
		st, window = diag.StatusWarning, c.CPUWarnFor
		found = pinnedOver(pts, now, window, c.CPUPinPct)
	}
	if len(found) == 0 {
		e := []diag.Evidence{ev("threshold", "%.0f%% of one core for %s", c.CPUPinPct, c.CPUWarnFor)}
		if last := pts[len(pts)-1]; len(last.Top) > 0 {
			p := last.Top[0]
			e = append([]diag.Evidence{ev("busiest now", "%s (pid %d): %.1f%% of one core", p.Name, p.PID, p.CPUPct)}, e...)
		}
		return ok("No process has kept a processor core busy for long.", e...)
	}
	var e []diag.Evidence
	for _, r := range found {
		e = append(e, ev("pinned process", "%s (pid %d): %.1f%% of one core on average over %s (%d samples)",
			r.name, r.pid, r.mean, window, r.n))
	}
	e = append(e, ev("threshold", "%.0f%% of one core for %s", c.CPUPinPct, window))
	r := found[0]
	return result(st, catalog.EndProcess, fmt.Sprintf("%s (pid %d) has kept a processor core fully busy for over %s.", r.name, r.pid, window), e...)
}

// psi is one line of /proc/pressure/*: the share of time (percent) some
// or all tasks were stalled, averaged over 10 s, 60 s and 300 s.
type psi struct {
	Avg10, Avg60, Avg300 float64
}

// parsePSI parses /proc/pressure/memory: a "some" and a "full" line.
func parsePSI(b []byte) (some, full psi, err error) {
	var haveSome bool
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		var p psi
		for _, kv := range f[1:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				continue
			}
			x, perr := strconv.ParseFloat(v, 64)
			if perr != nil {
				return psi{}, psi{}, fmt.Errorf("pressure %s: %w", kv, perr)
			}
			switch k {
			case "avg10":
				p.Avg10 = x
			case "avg60":
				p.Avg60 = x
			case "avg300":
				p.Avg300 = x
			}
		}
		switch f[0] {
		case "some":
			some, haveSome = p, true
		case "full":
			full = p
		}
	}
	if !haveSome {
		return psi{}, psi{}, fmt.Errorf("pressure: no \"some\" line in %q", bytes.TrimSpace(b))
	}
	return some, full, nil
}

// gradeMemStall is the pure part of memory-stall on Linux: "full" is the
// share of time every runnable task waited for memory (the machine did no
// work), "some" the share at least one did.
func gradeMemStall(c *Config, some, full psi, top []diag.Process) diag.CheckResult {
	e := []diag.Evidence{
		ev("all tasks stalled (full)", "%.1f%% of the last minute (10 s: %.1f%%, 5 min: %.1f%%)", full.Avg60, full.Avg10, full.Avg300),
		ev("some tasks stalled (some)", "%.1f%% of the last minute (10 s: %.1f%%, 5 min: %.1f%%)", some.Avg60, some.Avg10, some.Avg300),
	}
	for _, p := range top {
		e = append(e, ev("top memory", "%s (pid %d, user %s): %s", p.Name, p.PID, p.User, diag.HumanBytes(p.RSS)))
	}
	st := grade(full.Avg60, c.MemStallWarnPct, c.MemStallFailPct)
	if some.Avg60 >= c.MemStallSomeWarnPct {
		st = worse(st, diag.StatusWarning)
	}
	switch st {
	case diag.StatusFailing:
		return result(st, "", "The computer is stalling because it is short of memory; programs freeze while it frees some.", e...)
	case diag.StatusWarning:
		return result(st, "", "Programs are waiting for memory; the computer feels slow.", e...)
	}
	return ok("Programs are not waiting for memory.", e...)
}

// parseVMStat reads the named counters of /proc/vmstat. It allocates
// nothing per line: the file has a few hundred and is read every minute.
func parseVMStat(b []byte, names ...string) (map[string]uint64, error) {
	out := make(map[string]uint64, len(names))
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		sp := bytes.IndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		for _, n := range names {
			if string(line[:sp]) == n {
				x, err := strconv.ParseUint(string(bytes.TrimSpace(line[sp+1:])), 10, 64)
				if err != nil {
					return nil, fmt.Errorf("vmstat %s: %w", n, err)
				}
				out[n] = x
			}
		}
	}
	return out, nil
}

// counterRate turns successive readings of kernel counters into rates.
type counterRate struct {
	mu   sync.Mutex
	t    time.Time
	prev map[string]uint64
}

// rates returns each counter's rise per second since the last call, and
// false on the first call (or when the counters went back: a reboot of a
// container, a wrap).
func (r *counterRate) rates(now time.Time, cur map[string]uint64) (map[string]float64, time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	prev, pt := r.prev, r.t
	r.prev, r.t = cur, now
	dt := now.Sub(pt)
	if prev == nil || dt <= 0 {
		return nil, 0, false
	}
	out := map[string]float64{}
	for k, v := range cur {
		if v < prev[k] {
			return nil, 0, false
		}
		out[k] = float64(v-prev[k]) / dt.Seconds()
	}
	return out, dt, true
}

// gradeSwap is the pure part of swap-thrashing: pages read back from swap
// per second (pswpin) is what makes a machine crawl; pages written out
// (pswpout) are shown beside it.
func gradeSwap(c *Config, swapTotal uint64, in, out float64, over time.Duration) diag.CheckResult {
	if swapTotal == 0 && in == 0 && out == 0 {
		return ok("No swap is configured, so nothing is paged to disk.", ev("swap", "none configured"))
	}
	const page = 4096
	e := []diag.Evidence{
		ev("swapped in", "%.0f pages/s (%s/s) over %s", in, diag.HumanBytes(uint64(in*page)), over.Round(time.Second)),
		ev("swapped out", "%.0f pages/s (%s/s)", out, diag.HumanBytes(uint64(out*page))),
		ev("threshold", "%.0f pages/s swapped in warns, %.0f fails", c.SwapInWarn, c.SwapInFail),
	}
	switch grade(in, c.SwapInWarn, c.SwapInFail) {
	case diag.StatusFailing:
		return result(diag.StatusFailing, "", "The computer is thrashing: it spends its time moving memory to and from disk.", e...)
	case diag.StatusWarning:
		return result(diag.StatusWarning, "", "The computer is paging memory from disk; programs will be slow.", e...)
	}
	return ok("Memory is not being paged to and from disk much.", e...)
}

// oomKill is one kill by the kernel's out-of-memory killer, from its log.
type oomKill struct {
	// Since is the time after boot of the log record.
	Since time.Duration
	PID   int
	Name  string
	// Cgroup is the killed task's memory cgroup; Limit is set when the
	// kill was by a cgroup's limit (constraint CONSTRAINT_MEMCG) rather
	// than the whole machine running out.
	Cgroup, Limit string
}

// parseKmsgOOM picks the out-of-memory kills from kernel log records in
// /dev/kmsg form ("pri,seq,usec,flags;message"), oldest first. The
// "oom-kill:" record (Linux 4.19 and later) names the cgroup; the
// "Killed process" record names the process on every kernel.
func parseKmsgOOM(b []byte) []oomKill {
	var out []oomKill
	for _, line := range strings.Split(string(b), "\n") {
		head, msg, ok := strings.Cut(line, ";")
		if !ok {
			continue
		}
		hf := strings.Split(head, ",")
		if len(hf) < 3 {
			continue
		}
		usec, err := strconv.ParseUint(hf[2], 10, 64)
		if err != nil {
			continue
		}
		since := time.Duration(usec) * time.Microsecond
		switch {
		case strings.HasPrefix(msg, "oom-kill:"):
			k := oomKill{Since: since}
			for _, kv := range strings.Split(strings.TrimPrefix(msg, "oom-kill:"), ",") {
				key, v, _ := strings.Cut(kv, "=")
				switch key {
				case "task":
					k.Name = v
				case "pid":
					k.PID, _ = strconv.Atoi(v)
				case "task_memcg":
					k.Cgroup = v
				case "oom_memcg":
					k.Limit = v
				}
			}
			// oom_memcg names the cgroup whose limit was hit only for a
			// cgroup kill; for a machine-wide one it is the root.
			if !strings.Contains(msg, "constraint=CONSTRAINT_MEMCG") {
				k.Limit = ""
			}
			out = append(out, k)
		case strings.Contains(msg, "Killed process "):
			rest := msg[strings.Index(msg, "Killed process ")+len("Killed process "):]
			pidS, rest, _ := strings.Cut(rest, " ")
			pid, _ := strconv.Atoi(pidS)
			name := ""
			if i, j := strings.IndexByte(rest, '('), strings.IndexByte(rest, ')'); i >= 0 && j > i {
				name = rest[i+1 : j]
			}
			// The oom-kill record just before names the same kill with its cgroup.
			if n := len(out); n > 0 && out[n-1].PID == pid && since-out[n-1].Since < time.Second {
				if out[n-1].Name == "" {
					out[n-1].Name = name
				}
				continue
			}
			k := oomKill{Since: since, PID: pid, Name: name}
			if strings.HasPrefix(msg, "Memory cgroup out of memory") {
				k.Limit = "(a memory cgroup)"
			}
			out = append(out, k)
		}
	}
	return out
}

// oomState remembers the kernel's OOM kill counter between runs.
type oomState struct {
	mu      sync.Mutex
	started bool
	count   uint64
	// recent holds the kills in the window, newest last.
	recent []time.Time
}

// observe records the counter at now and returns how many kills fell
// within window: new ones since the last call, and, on the first call,
// those whose times (logged: when each kill since boot happened, where
// known) fall within the window.
func (s *oomState) observe(now time.Time, count uint64, window time.Duration, logged []time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !s.started:
		s.started = true
		for _, t := range logged {
			if now.Sub(t) < window {
				s.recent = append(s.recent, t)
			}
		}
	case count > s.count:
		for i := uint64(0); i < count-s.count && i < 64; i++ {
			s.recent = append(s.recent, now)
		}
	}
	s.count = count
	keep := s.recent[:0]
	for _, t := range s.recent {
		if now.Sub(t) < window {
			keep = append(keep, t)
		}
	}
	s.recent = keep
	return len(s.recent)
}

// gradeOOM is the pure part of oom-kills.
func gradeOOM(c *Config, total uint64, inWindow int, kills []oomKill, boot time.Time, logNote string) diag.CheckResult {
	e := []diag.Evidence{ev("killed since boot", "%d", total), ev("killed in the last "+c.OOMWindow.String(), "%d", inWindow)}
	for i := len(kills) - 1; i >= 0 && len(e) < 8; i-- {
		k := kills[i]
		where := ""
		if k.Cgroup != "" {
			where = ", cgroup " + k.Cgroup
		}
		if k.Limit != "" {
			where += ", killed by the memory limit of " + k.Limit
		}
		at := ""
		if !boot.IsZero() {
			at = " at " + boot.Add(k.Since).UTC().Format(time.RFC3339)
		}
		e = append(e, ev("killed", "%s (pid %d)%s%s", k.Name, k.PID, where, at))
	}
	if logNote != "" {
		e = append(e, ev("kernel log", "%s", logNote))
	}
	if inWindow == 0 {
		return ok("No program has been closed for lack of memory recently.", e...)
	}
	who := "A program"
	if n := len(kills); n > 0 && kills[n-1].Name != "" {
		who = kills[n-1].Name
	}
	st := diag.StatusWarning
	if inWindow >= c.OOMFailCount {
		st = diag.StatusFailing
	}
	return result(st, "", fmt.Sprintf("%s was closed by the system because memory ran out (%d in the last %s).", who, inWindow, c.OOMWindow), e...)
}

// pidsLimit is one cgroup's task limit (pids.max) and use (pids.current).
type pidsLimit struct {
	Cgroup       string
	Current, Max uint64
	// Refused is how many forks the limit refused (pids.events "max").
	Refused uint64
	// NPROC: Max is the user's RLIMIT_NPROC, not the cgroup's pids.max.
	NPROC bool
}

// taskLimits is what process-limits judges.
type taskLimits struct {
	// Tasks is every thread on the machine (the kernel's count in
	// /proc/loadavg); PIDMax and ThreadsMax are kernel.pid_max and
	// kernel.threads-max.
	Tasks, PIDMax, ThreadsMax uint64
	Cgroups                   []pidsLimit
	// CgroupNote says why cgroups were not read, if they were not.
	CgroupNote string
}

// parseLoadavgTasks reads the total task count of /proc/loadavg
// ("0.00 0.01 0.05 2/345 6789").
func parseLoadavgTasks(b []byte) (uint64, error) {
	f := strings.Fields(string(b))
	if len(f) < 4 {
		return 0, fmt.Errorf("loadavg: %q", bytes.TrimSpace(b))
	}
	_, total, ok := strings.Cut(f[3], "/")
	if !ok {
		return 0, fmt.Errorf("loadavg tasks: %q", f[3])
	}
	return strconv.ParseUint(total, 10, 64)
}

// parsePidsEvents reads the "max" count of a cgroup's pids.events.
func parsePidsEvents(b []byte) uint64 {
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == "max" {
			n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// parseMaxProcesses reads the soft "Max processes" (RLIMIT_NPROC) of a
// /proc/<pid>/limits file; ok is false when it is unlimited or absent.
func parseMaxProcesses(b []byte) (uint64, bool) {
	for _, line := range strings.Split(string(b), "\n") {
		if rest, found := strings.CutPrefix(line, "Max processes"); found {
			f := strings.Fields(rest)
			if len(f) == 0 || f[0] == "unlimited" {
				return 0, false
			}
			n, err := strconv.ParseUint(f[0], 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// gradeLimits is the pure part of process-limits.
func gradeLimits(c *Config, l taskLimits) diag.CheckResult {
	pct := func(a, b uint64) float64 {
		if b == 0 {
			return 0
		}
		return float64(a) / float64(b) * 100
	}
	st := diag.StatusOK
	var e []diag.Evidence
	worst := ""
	note := func(s diag.Status, what string) {
		if s != diag.StatusOK && worse(st, s) == s && (worst == "" || s != st) {
			worst = what
		}
		st = worse(st, s)
	}
	if l.PIDMax > 0 {
		p := pct(l.Tasks, l.PIDMax)
		e = append(e, ev("process ids", "%d tasks of kernel.pid_max %d (%.1f%%)", l.Tasks, l.PIDMax, p))
		note(grade(p, c.TasksWarnPct, c.TasksFailPct), "the machine's process ids (kernel.pid_max)")
	}
	if l.ThreadsMax > 0 {
		p := pct(l.Tasks, l.ThreadsMax)
		e = append(e, ev("threads", "%d of kernel.threads-max %d (%.1f%%)", l.Tasks, l.ThreadsMax, p))
		note(grade(p, c.TasksWarnPct, c.TasksFailPct), "the machine's thread limit (kernel.threads-max)")
	}
	for _, g := range l.Cgroups {
		p := pct(g.Current, g.Max)
		s := grade(p, c.TasksWarnPct, c.TasksFailPct)
		limit, what, label := "pids.max", "the task limit of "+g.Cgroup, "cgroup "+g.Cgroup
		if g.NPROC {
			limit, what, label = "RLIMIT_NPROC", "the user's process limit (RLIMIT_NPROC, nproc) in "+g.Cgroup, "user processes "+g.Cgroup
		}
		line := fmt.Sprintf("%d of %s %d (%.1f%%)", g.Current, limit, g.Max, p)
		if g.Refused > 0 {
			line += fmt.Sprintf("; %d new processes refused since the limit was set", g.Refused)
		}
		if s != diag.StatusOK || g.Refused > 0 {
			e = append(e, ev(label, "%s", line))
		}
		note(s, what)
	}
	if l.CgroupNote != "" {
		e = append(e, ev("cgroups", "%s", l.CgroupNote))
	}
	switch st {
	case diag.StatusFailing:
		return result(st, "", fmt.Sprintf("No new programs can start: %s is used up.", worst), e...)
	case diag.StatusWarning:
		return result(st, "", fmt.Sprintf("Programs may soon fail to start: %s is nearly used up.", worst), e...)
	}
	return ok("Process and thread counts are well within their limits.", e...)
}
