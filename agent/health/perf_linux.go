package health

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tierline/tierline/shared/diag"
)

// perfState is what the performance checks remember between runs.
type perfState struct {
	swap counterRate
	oom  oomState
	// vmstat is /proc/vmstat, read once a run for the paging and the
	// out-of-memory checks.
	vmstat *sharedRead[[]byte]
}

func newPerfState(c *Config) *perfState {
	return &perfState{vmstat: &sharedRead[[]byte]{read: func(context.Context) ([]byte, error) {
		return os.ReadFile(c.path("/proc/vmstat"))
	}}}
}

func checkMemStall(_ context.Context, c *Config, env Env) diag.CheckResult {
	b, err := os.ReadFile(c.path("/proc/pressure/memory"))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.EOPNOTSUPP) {
			return unknown("This kernel does not report memory stalls (pressure stall information, Linux 4.20 and later).",
				ev("/proc/pressure/memory", "absent"))
		}
		return unknown("Could not read memory stalls.", ev("error", "%v", err))
	}
	some, full, err := parsePSI(b)
	if err != nil {
		return unknown("Could not read memory stalls.", ev("error", "%v", err))
	}
	var top []diag.Process
	if env.Latest != nil {
		if s, ok := env.Latest(); ok {
			top = s.TopMemory
			if len(top) > 3 {
				top = top[:3]
			}
		}
	}
	return gradeMemStall(c, some, full, top)
}

// swapTotal reads SwapTotal from /proc/meminfo, in bytes.
func swapTotal(b []byte) uint64 {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "SwapTotal:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				kb, _ := strconv.ParseUint(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

func checkSwap(ctx context.Context, c *Config, env Env, ps *perfState) diag.CheckResult {
	b, err := ps.vmstat.get(ctx)
	if err != nil {
		return unknown("Could not read paging counters.", ev("error", "%v", err))
	}
	cur, err := parseVMStat(b, "pswpin", "pswpout")
	if err != nil {
		return unknown("Could not read paging counters.", ev("error", "%v", err))
	}
	var total uint64
	if mi, err := os.ReadFile(c.path("/proc/meminfo")); err == nil {
		total = swapTotal(mi)
	}
	rates, over, ok := ps.swap.rates(env.Now(), cur)
	if !ok {
		if total == 0 {
			return gradeSwap(c, 0, 0, 0, 0)
		}
		return unknown("Measuring paging to and from swap; the next run tells the rate.",
			ev("swapped in since boot", "%d pages", cur["pswpin"]), ev("swapped out since boot", "%d pages", cur["pswpout"]))
	}
	return gradeSwap(c, total, rates["pswpin"], rates["pswpout"], over)
}

// maxKmsgBytes bounds one read of the kernel log.
const maxKmsgBytes = 1 << 20

// readKmsg reads the kernel log records still in the ring buffer, without
// waiting for new ones, up to maxKmsgBytes. /dev/kmsg gives one record per
// read; a fixture file gives them all at once.
func readKmsg(path string) ([]byte, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	var out []byte
	buf := make([]byte, 8192)
	for len(out) < maxKmsgBytes {
		n, err := syscall.Read(fd, buf)
		switch {
		case errors.Is(err, syscall.EPIPE):
			continue // records were overwritten while reading: go on with the next
		case err != nil || n <= 0:
			return out, nil // EAGAIN: no more records
		}
		out = append(out, buf[:n]...)
		if n > 0 && buf[n-1] != '\n' {
			out = append(out, '\n')
		}
	}
	return out, nil
}

func uptime(c *Config) (time.Duration, error) {
	b, err := os.ReadFile(c.path("/proc/uptime"))
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, fmt.Errorf("empty /proc/uptime")
	}
	s, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return 0, err
	}
	return time.Duration(s * float64(time.Second)), nil
}

func checkOOM(ctx context.Context, c *Config, env Env, ps *perfState) diag.CheckResult {
	b, err := ps.vmstat.get(ctx)
	if err != nil {
		return unknown("Could not read the kernel's out-of-memory counter.", ev("error", "%v", err))
	}
	cur, err := parseVMStat(b, "oom_kill")
	if err != nil {
		return unknown("Could not read the kernel's out-of-memory counter.", ev("error", "%v", err))
	}
	count, have := cur["oom_kill"]
	if !have {
		return unknown("This kernel does not count out-of-memory kills (Linux 4.13 and later do).", ev("/proc/vmstat", "no oom_kill"))
	}
	now := env.Now()
	var boot time.Time
	if up, err := uptime(c); err == nil {
		boot = now.Add(-up)
	}
	ps.oom.mu.Lock()
	rose := !ps.oom.started || count > ps.oom.count
	ps.oom.mu.Unlock()
	// The kernel log is read only when there is a kill to name.
	var kills []oomKill
	note := ""
	if count > 0 && rose {
		if kb, err := readKmsg(c.path("/dev/kmsg")); err != nil {
			note = fmt.Sprintf("not readable (%v): the process killed cannot be named", err)
		} else {
			kills = parseKmsgOOM(kb)
			if len(kills) == 0 {
				note = "the kills are no longer in the kernel's log buffer"
			}
		}
	}
	var logged []time.Time
	if !boot.IsZero() {
		for _, k := range kills {
			logged = append(logged, boot.Add(k.Since))
		}
	}
	if len(logged) == 0 && !boot.IsZero() && now.Sub(boot) < c.OOMWindow {
		// Kills since a boot within the window, undated by the log.
		for i := uint64(0); i < min(count, 64); i++ {
			logged = append(logged, boot)
		}
	}
	inWindow := ps.oom.observe(now, count, c.OOMWindow, logged)
	return gradeOOM(c, count, inWindow, kills, boot, note)
}

// maxCgroupDirs bounds the cgroups process-limits reads per run.
const maxCgroupDirs = 400

// readPidsLimits reads the task limits of the cgroups at most two levels
// below the root (slices, services, users' slices: where systemd's
// TasksMax and a container's limit sit) of the pids hierarchy, cgroup v2
// or v1.
func readPidsLimits(c *Config) ([]pidsLimit, string) {
	root := c.path("/sys/fs/cgroup")
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err != nil {
		root = c.path("/sys/fs/cgroup/pids")
		if _, err := os.Stat(root); err != nil {
			return nil, "no pids controller mounted"
		}
	}
	var out []pidsLimit
	dirs := 0
	var walk func(dir string, depth int)
	walk = func(dir string, depth int) {
		if dirs >= maxCgroupDirs {
			return
		}
		dirs++
		if depth > 0 {
			if b, err := os.ReadFile(filepath.Join(dir, "pids.max")); err == nil {
				if s := strings.TrimSpace(string(b)); s != "max" {
					max, err1 := strconv.ParseUint(s, 10, 64)
					cb, err2 := os.ReadFile(filepath.Join(dir, "pids.current"))
					if err1 == nil && err2 == nil {
						cur, _ := strconv.ParseUint(strings.TrimSpace(string(cb)), 10, 64)
						l := pidsLimit{Cgroup: strings.TrimPrefix(dir, root), Current: cur, Max: max}
						if eb, err := os.ReadFile(filepath.Join(dir, "pids.events")); err == nil {
							l.Refused = parsePidsEvents(eb)
						}
						out = append(out, l)
					}
				}
			}
		}
		if depth == 2 && strings.HasPrefix(filepath.Base(dir), "user-") {
			if l, ok := userNproc(c, dir, root); ok {
				out = append(out, l)
			}
		}
		if depth == 2 {
			return
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			return
		}
		for _, e := range ents {
			if e.IsDir() {
				walk(filepath.Join(dir, e.Name()), depth+1)
			}
		}
	}
	walk(root, 0)
	note := ""
	if dirs >= maxCgroupDirs {
		note = fmt.Sprintf("only the first %d cgroups were read", maxCgroupDirs)
	}
	return out, note
}

// userNproc reads a user's RLIMIT_NPROC, as a process in the user's
// slice (user-UID.slice) has it, against the tasks in that slice: the
// agent's view of the per-user process limit (the kernel counts every
// process of the uid, which on a desktop are the slice's).
func userNproc(c *Config, dir, root string) (pidsLimit, bool) {
	cur, err := readUint(filepath.Join(dir, "pids.current"))
	if err != nil {
		return pidsLimit{}, false
	}
	procs, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil || len(procs) == 0 {
		// v2 keeps processes in the leaves: the user's manager is one.
		procs, err = os.ReadFile(filepath.Join(dir, "user@"+strings.TrimSuffix(strings.TrimPrefix(filepath.Base(dir), "user-"), ".slice")+".service", "init.scope", "cgroup.procs"))
		if err != nil {
			return pidsLimit{}, false
		}
	}
	pid, _, _ := strings.Cut(strings.TrimSpace(string(procs)), "\n")
	if pid == "" {
		return pidsLimit{}, false
	}
	lb, err := os.ReadFile(c.path("/proc/" + pid + "/limits"))
	if err != nil {
		return pidsLimit{}, false
	}
	max, ok := parseMaxProcesses(lb)
	if !ok {
		return pidsLimit{}, false
	}
	return pidsLimit{Cgroup: strings.TrimPrefix(dir, root), Current: cur, Max: max, NPROC: true}, true
}

func readUint(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
}

func checkLimits(_ context.Context, c *Config) diag.CheckResult {
	b, err := os.ReadFile(c.path("/proc/loadavg"))
	if err != nil {
		return unknown("Could not count the machine's processes.", ev("error", "%v", err))
	}
	var l taskLimits
	if l.Tasks, err = parseLoadavgTasks(b); err != nil {
		return unknown("Could not count the machine's processes.", ev("error", "%v", err))
	}
	l.PIDMax, _ = readUint(c.path("/proc/sys/kernel/pid_max"))
	l.ThreadsMax, _ = readUint(c.path("/proc/sys/kernel/threads-max"))
	l.Cgroups, l.CgroupNote = readPidsLimits(c)
	return gradeLimits(c, l)
}
