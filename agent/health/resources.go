package health

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/shirou/gopsutil/v4/host"

	"github.com/tierline/tierline/agent/collect"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

func checkDisk(ctx context.Context, c *Config, env Env, cc *consumerCache) diag.CheckResult {
	var fss []diag.Filesystem
	if len(c.DiskPaths) > 0 {
		for _, p := range c.DiskPaths {
			fs, err := collect.Usage(ctx, p)
			if err != nil {
				return unknown("Could not read disk usage.", ev("error", "%v", err))
			}
			fss = append(fss, fs)
		}
	} else {
		var err error
		if fss, err = writableFilesystems(ctx); err != nil {
			return unknown("Could not read disk usage.", ev("error", "%v", err))
		}
	}
	res := gradeDisks(c, fss)
	// Where a filesystem fills, name what fills it in the places users
	// write to (a bounded walk, reused for a while).
	vs := diskVerdicts(c, fss)
	worst := worstVerdict(vs)
	for i, v := range vs {
		if v.status() == diag.StatusOK {
			continue
		}
		ev, fix := cc.consumers(c, v.fs, v.outOfInodes(), env.Now())
		res.Evidence = append(res.Evidence, ev...)
		// The fix offered is the one for what fills the disk the check
		// names: a user's trash or caches when they are the largest there.
		if worst == &vs[i] && fix != "" {
			res.Fix = fix
		}
	}
	return res
}

// fsVerdict grades one filesystem's bytes and inodes apart.
type fsVerdict struct {
	fs            diag.Filesystem
	bytes, inodes diag.Status
	inodePct      float64
}

func (v fsVerdict) status() diag.Status { return worse(v.bytes, v.inodes) }

// outOfInodes: inodes, not space, are what this filesystem lacks most.
func (v fsVerdict) outOfInodes() bool {
	return v.inodes != v.bytes && worse(v.bytes, v.inodes) == v.inodes
}

func diskVerdicts(c *Config, fss []diag.Filesystem) []fsVerdict {
	var out []fsVerdict
	for _, fs := range fss {
		v := fsVerdict{fs: fs, bytes: grade(fs.UsedPct, c.DiskWarnPct, c.DiskFailPct), inodes: diag.StatusOK}
		if fs.InodesTotal > 0 {
			v.inodePct = float64(fs.InodesTotal-fs.InodesFree) / float64(fs.InodesTotal) * 100
			v.inodes = grade(v.inodePct, c.InodeWarnPct, c.InodeFailPct)
		}
		out = append(out, v)
	}
	return out
}

// worstVerdict is the filesystem disk-almost-full names: the first of
// the worst status, nil when every one is ok.
func worstVerdict(vs []fsVerdict) *fsVerdict {
	status := diag.StatusOK
	var worst *fsVerdict
	for i, v := range vs {
		st := v.status()
		if st != diag.StatusOK && worse(status, st) == st && (worst == nil || st != status) {
			worst = &vs[i]
		}
		status = worse(status, st)
	}
	return worst
}

// gradeDisks is the pure part of disk-almost-full. Inodes (the count of
// files a filesystem can hold) are judged apart from space: a filesystem
// out of inodes refuses new files with space to spare, and says so.
func gradeDisks(c *Config, fss []diag.Filesystem) diag.CheckResult {
	if len(fss) == 0 {
		return unknown("No disk filesystems to check.")
	}
	status := diag.StatusOK
	var evidence []diag.Evidence
	vs := diskVerdicts(c, fss)
	for _, v := range vs {
		fs := v.fs
		line := fmt.Sprintf("%.1f%% used, %s free of %s", fs.UsedPct, diag.HumanBytes(fs.Free), diag.HumanBytes(fs.Total))
		if fs.InodesTotal > 0 {
			line += fmt.Sprintf("; inodes %.1f%% used", v.inodePct)
		}
		if fs.FSType == "tmpfs" {
			line += " (tmpfs: in memory, emptied at restart)"
		}
		evidence = append(evidence, ev(fs.Mount, "%s", line))
		if v.inodes != diag.StatusOK {
			evidence = append(evidence, ev("inodes on "+fs.Mount, "%d of %d used (%.1f%%): each file or folder takes one; with none left no new file can be made, whatever space is free",
				fs.InodesTotal-fs.InodesFree, fs.InodesTotal, v.inodePct))
		}
		status = worse(status, v.status())
	}
	worst := worstVerdict(vs)
	if worst == nil {
		return ok("Every disk has room to spare.", evidence...)
	}
	m := worst.fs.Mount
	if worst.outOfInodes() {
		if status == diag.StatusFailing {
			return result(status, catalog.ClearTemp, fmt.Sprintf("The disk holding %s cannot hold more files: it has run out of inodes (file entries), though space is left.", m), evidence...)
		}
		return result(status, catalog.ClearTemp, fmt.Sprintf("The disk holding %s is running out of inodes (file entries): too many small files.", m), evidence...)
	}
	if status == diag.StatusFailing {
		return result(status, catalog.ClearTemp, fmt.Sprintf("The disk holding %s is full or nearly full.", m), evidence...)
	}
	return result(status, catalog.ClearTemp, fmt.Sprintf("The disk holding %s is filling up.", m), evidence...)
}

func checkMemory(ctx context.Context, c *Config) diag.CheckResult {
	m, err := collect.ReadMemory(ctx)
	if err != nil && m.Total == 0 {
		return unknown("Could not read memory usage.", ev("error", "%v", err))
	}
	return gradeMemory(c, m)
}

// gradeMemory is the pure part of memory-pressure.
func gradeMemory(c *Config, m diag.Memory) diag.CheckResult {
	evidence := []diag.Evidence{
		ev("memory in use", "%.1f%% (%s available of %s)", m.UsedPct, diag.HumanBytes(m.Available), diag.HumanBytes(m.Total)),
	}
	st := grade(m.UsedPct, c.MemWarnPct, c.MemFailPct)
	if m.SwapTotal > 0 {
		spct := float64(m.SwapUsed) / float64(m.SwapTotal) * 100
		evidence = append(evidence, ev("swap in use", "%.1f%% of %s", spct, diag.HumanBytes(m.SwapTotal)))
		if spct >= c.SwapWarnPct {
			st = worse(st, diag.StatusWarning)
		}
	} else {
		evidence = append(evidence, ev("swap", "none configured"))
	}
	switch st {
	case diag.StatusFailing:
		return result(st, "", "The machine is almost out of memory.", evidence...)
	case diag.StatusWarning:
		return result(st, "", "Memory is running low.", evidence...)
	}
	return ok("Memory use is normal.", evidence...)
}

func checkCPU(_ context.Context, c *Config, env Env) diag.CheckResult {
	if env.Recent == nil {
		return unknown("No telemetry history to judge sustained CPU use.")
	}
	now := env.Now()
	pts := env.Recent(now.Add(-c.CPUFailFor))
	var top []diag.Process
	if env.Latest != nil {
		if s, ok := env.Latest(); ok {
			top = s.TopCPU
		}
	}
	return gradeCPU(c, now, pts, top)
}

// gradeCPU is the pure part of cpu-saturated: the CPU counts as saturated
// over a window when it was at or above CPUBusyPct in every sample of it,
// and the samples cover (nearly) the whole window.
func gradeCPU(c *Config, now time.Time, pts []diag.Point, top []diag.Process) diag.CheckResult {
	busyFor := func(window time.Duration) (bool, float64, int, bool) {
		from := now.Add(-window)
		var sum float64
		n := 0
		var first time.Time
		for _, p := range pts {
			if p.Time.Before(from) {
				continue
			}
			if n == 0 {
				first = p.Time
			}
			n++
			sum += p.CPUPct
			if p.CPUPct < c.CPUBusyPct {
				return false, 0, 0, true
			}
		}
		covered := n > 0 && now.Sub(first) >= window*8/10
		if n == 0 {
			return false, 0, 0, false
		}
		return covered, sum / float64(n), n, covered
	}
	evidence := []diag.Evidence{}
	for _, p := range top {
		evidence = append(evidence, ev("top process", "%s (pid %d, user %s): %.1f%% CPU", p.Name, p.PID, p.User, p.CPUPct))
	}
	if sat, mean, n, _ := busyFor(c.CPUFailFor); sat {
		evidence = append([]diag.Evidence{ev("busy for", "%s (%d samples, mean %.1f%%)", c.CPUFailFor, n, mean)}, evidence...)
		return result(diag.StatusFailing, "", fmt.Sprintf("The processor has been saturated for over %s.", c.CPUFailFor), evidence...)
	}
	sat, mean, n, enough := busyFor(c.CPUWarnFor)
	if sat {
		evidence = append([]diag.Evidence{ev("busy for", "%s (%d samples, mean %.1f%%)", c.CPUWarnFor, n, mean)}, evidence...)
		return result(diag.StatusWarning, "", fmt.Sprintf("The processor has been saturated for over %s.", c.CPUWarnFor), evidence...)
	}
	if !enough && len(pts) > 0 && pts[len(pts)-1].CPUPct >= c.CPUBusyPct {
		return unknown(fmt.Sprintf("The processor is busy now; not enough history yet to tell whether it has been for %s.", c.CPUWarnFor),
			ev("samples", "%d", len(pts)))
	}
	if len(pts) == 0 {
		return unknown("No telemetry history yet to judge sustained CPU use.")
	}
	last := pts[len(pts)-1].CPUPct
	return ok("The processor is not saturated.", ev("cpu now", "%.1f%%", last), ev("threshold", "%.0f%% for %s", c.CPUBusyPct, c.CPUWarnFor))
}

func checkBattery(_ context.Context, c *Config) diag.CheckResult {
	b, err := collect.ReadBattery(c.Root)
	if err != nil {
		if errors.Is(err, collect.ErrNoData) {
			return unknown("This machine has no battery to check.", ev("battery", "%s", trimNoData(err)))
		}
		return unknown("Could not read the battery.", ev("error", "%v", err))
	}
	return gradeBattery(c, b)
}

func trimNoData(err error) string {
	s := err.Error()
	p := collect.ErrNoData.Error() + ": "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// gradeBattery is the pure part of battery-worn.
func gradeBattery(c *Config, b *diag.Battery) diag.CheckResult {
	if b.HealthPct == nil {
		return unknown("The battery does not report its design capacity.", ev("charge", "%.0f%%", b.ChargePct))
	}
	h := *b.HealthPct
	evidence := []diag.Evidence{
		ev("capacity left", "%.1f%% of design", h),
		ev("charge", "%.0f%% (%s, on AC: %t)", b.ChargePct, b.State, b.OnAC),
	}
	switch {
	case h < c.BatteryFailPct:
		return result(diag.StatusFailing, "", "The battery is worn out and should be replaced.", evidence...)
	case h < c.BatteryWarnPct:
		return result(diag.StatusWarning, "", "The battery is worn and holds much less charge than new.", evidence...)
	}
	return ok("The battery is in good health.", evidence...)
}

func checkUptime(ctx context.Context, c *Config, env Env) diag.CheckResult {
	up, err := host.UptimeWithContext(ctx)
	if err != nil {
		return unknown("Could not read the uptime.", ev("error", "%v", err))
	}
	return gradeUptime(c, time.Duration(up)*time.Second)
}

func gradeUptime(c *Config, up time.Duration) diag.CheckResult {
	e := ev("uptime", "%s", roundDays(up))
	if up >= c.UptimeWarn {
		return result(diag.StatusWarning, catalog.ScheduleReboot,
			fmt.Sprintf("The machine has not restarted in %s; updates may be waiting for a restart.", roundDays(up)), e,
			ev("threshold", "%s", roundDays(c.UptimeWarn)))
	}
	return ok("The machine restarted recently enough.", e)
}

func roundDays(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	}
	return d.Round(time.Minute).String()
}

func gradeClock(c *Config, off time.Duration) diag.CheckResult {
	abs := time.Duration(math.Abs(float64(off)))
	dir := "behind"
	if off < 0 {
		dir = "ahead of"
	}
	e := ev("offset", "%s %s the hub", abs.Round(time.Millisecond), dir)
	switch {
	case abs >= c.ClockFail:
		return result(diag.StatusFailing, catalog.SyncClock, "The clock is far off; sign-ins and certificates may fail.", e)
	case abs >= c.ClockWarn:
		return result(diag.StatusWarning, catalog.SyncClock, "The clock is drifting from the right time.", e)
	}
	return ok("The clock is right.", e)
}
