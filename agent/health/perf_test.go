package health

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/history"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "perf", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGradeRunaway(t *testing.T) {
	c := defaults(t)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	// series: one point every 10 s over d, each with the processes top(i)
	// gives (i counts down to 0 at now).
	series := func(d time.Duration, top func(i int) []diag.Process) []history.ProcPoint {
		var pts []history.ProcPoint
		for i := int(d / (10 * time.Second)); i >= 0; i-- {
			pts = append(pts, history.ProcPoint{Time: now.Add(-time.Duration(i) * 10 * time.Second), Top: top(i)})
		}
		return pts
	}
	spin := diag.Process{PID: 4242, Name: "spin", CPUPct: 99.8}
	idle := diag.Process{PID: 10, Name: "editor", CPUPct: 4}
	pinned := func(int) []diag.Process { return []diag.Process{spin, idle} }
	tests := []struct {
		name   string
		pts    []history.ProcPoint
		status diag.Status
		fix    string
		in     string
		ev     [2]string
	}{
		{"pinned 6 minutes", series(6*time.Minute, pinned), diag.StatusWarning, catalog.EndProcess, "spin (pid 4242)",
			[2]string{"pinned process", "spin (pid 4242): 99.8% of one core"}},
		{"pinned 16 minutes", series(16*time.Minute, pinned), diag.StatusFailing, catalog.EndProcess, "over 15m0s",
			[2]string{"pinned process", "over 15m0s"}},
		{"pinned 2 minutes only", series(2*time.Minute, pinned), diag.StatusOK, "", "No process",
			[2]string{"busiest now", "spin (pid 4242)"}},
		{"one dip breaks it", series(6*time.Minute, func(i int) []diag.Process {
			if i == 7 {
				return []diag.Process{{PID: 4242, Name: "spin", CPUPct: 40}}
			}
			return pinned(i)
		}), diag.StatusOK, "", "No process", [2]string{"threshold", "90% of one core"}},
		{"another process each sample", series(6*time.Minute, func(i int) []diag.Process {
			return []diag.Process{{PID: int32(1000 + i), Name: "make", CPUPct: 99}}
		}), diag.StatusOK, "", "No process", [2]string{"busiest now", "make (pid 1000)"}},
		{"pid reused by another program", series(6*time.Minute, func(i int) []diag.Process {
			if i > 15 {
				return []diag.Process{{PID: 4242, Name: "old", CPUPct: 99}}
			}
			return pinned(i)
		}), diag.StatusOK, "", "No process", [2]string{"threshold", ""}},
		{"killed: the last sample has it gone", append(series(6*time.Minute, pinned), history.ProcPoint{Time: now.Add(5 * time.Second), Top: []diag.Process{idle}}),
			diag.StatusOK, "", "No process", [2]string{"busiest now", "editor"}},
		{"two runaways", series(6*time.Minute, func(int) []diag.Process {
			return []diag.Process{spin, {PID: 77, Name: "miner", CPUPct: 95}}
		}), diag.StatusWarning, catalog.EndProcess, "spin", [2]string{"pinned process", "miner (pid 77)"}},
		{"no history", nil, diag.StatusUnknown, "", "No telemetry", [2]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := now
			if n := len(tt.pts); n > 0 && tt.pts[n-1].Time.After(at) {
				at = tt.pts[n-1].Time
			}
			got := gradeRunaway(c, at, tt.pts)
			if got.Status != tt.status || got.Fix != tt.fix || !strings.Contains(got.Summary, tt.in) {
				t.Fatalf("got %s %q %q, want %s %q containing %q", got.Status, got.Fix, got.Summary, tt.status, tt.fix, tt.in)
			}
			if tt.ev[0] != "" && !hasEv(got, tt.ev[0], tt.ev[1]) {
				t.Errorf("evidence %+v lacks %q: %q", got.Evidence, tt.ev[0], tt.ev[1])
			}
		})
	}
}

func TestGradeMemStall(t *testing.T) {
	c := defaults(t)
	top := []diag.Process{{PID: 3100, Name: "firefox-esr", User: "alice", RSS: 3 << 30}}
	tests := []struct {
		file   string
		status diag.Status
		in     string
		ev     [2]string
	}{
		{"pressure-idle", diag.StatusOK, "not waiting", [2]string{"all tasks stalled (full)", "0.0% of the last minute"}},
		{"pressure-waiting", diag.StatusWarning, "waiting for memory", [2]string{"some tasks stalled (some)", "34.2% of the last minute"}},
		{"pressure-stalled", diag.StatusFailing, "stalling", [2]string{"all tasks stalled (full)", "64.4% of the last minute"}},
		{"pressure-no-full", diag.StatusOK, "not waiting", [2]string{"top memory", "firefox-esr (pid 3100, user alice): 3.0 GiB"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			some, full, err := parsePSI(fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got := gradeMemStall(c, some, full, top)
			if got.Status != tt.status || got.Fix != "" || !strings.Contains(got.Summary, tt.in) || !hasEv(got, tt.ev[0], tt.ev[1]) {
				t.Errorf("got %+v", got)
			}
		})
	}
	if _, _, err := parsePSI([]byte("garbage\n")); err == nil {
		t.Error("parsePSI accepted garbage")
	}
}

func TestGradeMacPressure(t *testing.T) {
	for _, tt := range []struct {
		file   string
		status diag.Status
	}{{"macos-pressure-normal", diag.StatusOK}, {"macos-pressure-warn", diag.StatusWarning}, {"macos-pressure-critical", diag.StatusFailing}} {
		level, err := parseMacPressureLevel(string(fixture(t, tt.file)))
		if err != nil {
			t.Fatal(err)
		}
		if got := gradeMacPressure(level); got.Status != tt.status || !hasEv(got, "memory pressure level", "") {
			t.Errorf("%s: %+v", tt.file, got)
		}
	}
	if got := gradeMacPressure(3); got.Status != diag.StatusUnknown {
		t.Errorf("undocumented level: %+v", got)
	}
}

func TestSwapRatesAndGrade(t *testing.T) {
	c := defaults(t)
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	a, err := parseVMStat(fixture(t, "vmstat-a"), "pswpin", "pswpout")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := parseVMStat(fixture(t, "vmstat-b"), "pswpin", "pswpout")
	var r counterRate
	if _, _, ok := r.rates(t0, a); ok {
		t.Fatal("a rate from one reading")
	}
	rates, over, ok := r.rates(t0.Add(time.Minute), b)
	if !ok || over != time.Minute || rates["pswpin"] != 500 || rates["pswpout"] != 1000 {
		t.Fatalf("rates %v over %s", rates, over)
	}
	if _, _, ok := r.rates(t0.Add(2*time.Minute), a); ok {
		t.Error("counters that went back gave a rate")
	}
	tests := []struct {
		name    string
		total   uint64
		in, out float64
		status  diag.Status
		ev      [2]string
	}{
		{"no swap", 0, 0, 0, diag.StatusOK, [2]string{"swap", "none configured"}},
		{"quiet", 4 << 30, 2, 10, diag.StatusOK, [2]string{"swapped in", "2 pages/s"}},
		{"paging", 4 << 30, 500, 1000, diag.StatusWarning, [2]string{"swapped in", "500 pages/s (2.0 MiB/s) over 1m0s"}},
		{"thrashing", 4 << 30, 6000, 6000, diag.StatusFailing, [2]string{"swapped out", "6000 pages/s"}},
	}
	for _, tt := range tests {
		got := gradeSwap(c, tt.total, tt.in, tt.out, time.Minute)
		if got.Status != tt.status || !hasEv(got, tt.ev[0], tt.ev[1]) {
			t.Errorf("%s: %+v", tt.name, got)
		}
	}
}

func TestParseKmsgOOM(t *testing.T) {
	got := parseKmsgOOM(fixture(t, "kmsg-oom"))
	want := []oomKill{
		{Since: 7200000900 * time.Microsecond, PID: 4242, Name: "stress", Cgroup: "/system.slice/app.service", Limit: "/system.slice/app.service"},
		{Since: 9000000000 * time.Microsecond, PID: 3100, Name: "firefox-esr", Cgroup: "/user.slice/user-1000.slice/session-2.scope"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("kill %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	old := parseKmsgOOM(fixture(t, "kmsg-old-kernel"))
	if len(old) != 1 || old[0].PID != 900 || old[0].Name != "java" || old[0].Cgroup != "" {
		t.Errorf("old kernel: %+v", old)
	}
}

func TestGradeOOM(t *testing.T) {
	c := defaults(t)
	boot := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	kills := parseKmsgOOM(fixture(t, "kmsg-oom"))
	now := boot.Add(9000*time.Second + 10*time.Minute)
	var s oomState
	logged := []time.Time{boot.Add(kills[0].Since), boot.Add(kills[1].Since)}
	// First look: the app's kill was 40 min ago, firefox's 10 min ago.
	n := s.observe(now, 2, c.OOMWindow, logged)
	if n != 2 {
		t.Fatalf("%d kills in the window, want 2", n)
	}
	got := gradeOOM(c, 2, n, kills, boot, "")
	if got.Status != diag.StatusWarning || got.Fix != "" || !strings.Contains(got.Summary, "firefox-esr was closed") {
		t.Fatalf("got %+v", got)
	}
	if !hasEv(got, "killed", "stress (pid 4242), cgroup /system.slice/app.service, killed by the memory limit of /system.slice/app.service") ||
		!hasEv(got, "killed", "firefox-esr (pid 3100), cgroup /user.slice/user-1000.slice/session-2.scope at 2026-11-23T10:30:00Z") {
		t.Errorf("evidence %+v", got.Evidence)
	}
	// Two more kills a minute later: three in the hour fails.
	if n = s.observe(now.Add(time.Minute), 4, c.OOMWindow, nil); n != 4 {
		t.Fatalf("%d kills after two more", n)
	}
	if got := gradeOOM(c, 4, n, kills, boot, ""); got.Status != diag.StatusFailing {
		t.Errorf("four kills: %+v", got)
	}
	// Two hours on, nothing new: ok again, the count since boot kept.
	if n = s.observe(now.Add(2*time.Hour), 4, c.OOMWindow, nil); n != 0 {
		t.Fatalf("%d kills two hours on", n)
	}
	if got := gradeOOM(c, 4, n, nil, boot, ""); got.Status != diag.StatusOK || !hasEv(got, "killed since boot", "4") {
		t.Errorf("quiet again: %+v", got)
	}
	// A kernel log nobody may read: the kill is still counted.
	got = gradeOOM(c, 1, 1, nil, time.Time{}, "not readable (permission denied): the process killed cannot be named")
	if got.Status != diag.StatusWarning || !strings.HasPrefix(got.Summary, "A program was closed") || !hasEv(got, "kernel log", "not readable") {
		t.Errorf("unreadable log: %+v", got)
	}
}

func TestGradeLimits(t *testing.T) {
	c := defaults(t)
	tests := []struct {
		name   string
		l      taskLimits
		status diag.Status
		in     string
	}{
		{"roomy", taskLimits{Tasks: 400, PIDMax: 4194304, ThreadsMax: 127436}, diag.StatusOK, "well within"},
		{"pid_max nearly used", taskLimits{Tasks: 30000, PIDMax: 32768, ThreadsMax: 127436}, diag.StatusWarning, "kernel.pid_max"},
		{"threads-max hit", taskLimits{Tasks: 1020, PIDMax: 4194304, ThreadsMax: 1024}, diag.StatusFailing, "kernel.threads-max"},
		{"a service at its TasksMax", taskLimits{Tasks: 700, PIDMax: 4194304, ThreadsMax: 127436,
			Cgroups: []pidsLimit{{Cgroup: "/system.slice/build.service", Current: 512, Max: 512, Refused: 37}}}, diag.StatusFailing, "/system.slice/build.service"},
	}
	for _, tt := range tests {
		got := gradeLimits(c, tt.l)
		if got.Status != tt.status || !strings.Contains(got.Summary, tt.in) {
			t.Errorf("%s: %+v", tt.name, got)
		}
	}
}

// hasEv reports whether r has evidence labelled label whose value holds
// valuePart.
func hasEv(r diag.CheckResult, label, valuePart string) bool {
	for _, e := range r.Evidence {
		if e.Label == label && strings.Contains(e.Value, valuePart) {
			return true
		}
	}
	return false
}
