package health

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/svcmgr"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

func defaults(t *testing.T) *Config {
	t.Helper()
	var c Config
	if err := c.CheckAndSetDefaults(); err != nil {
		t.Fatal(err)
	}
	return &c
}

func TestGradeDisks(t *testing.T) {
	c := defaults(t)
	fs := func(mount string, pct float64, inodesUsed uint64) diag.Filesystem {
		return diag.Filesystem{Mount: mount, UsedPct: pct, Total: 100 << 30, Free: uint64((100 - pct) / 100 * (100 << 30)), InodesTotal: 1000, InodesFree: 1000 - inodesUsed}
	}
	tests := []struct {
		name   string
		fss    []diag.Filesystem
		status diag.Status
		fix    string
		in     string
	}{
		{"roomy", []diag.Filesystem{fs("/", 40, 10), fs("/home", 60, 10)}, diag.StatusOK, "", "Every disk"},
		{"home filling", []diag.Filesystem{fs("/", 40, 10), fs("/home", 88, 10)}, diag.StatusWarning, catalog.ClearTemp, "/home"},
		{"root full", []diag.Filesystem{fs("/", 97, 10), fs("/home", 88, 10)}, diag.StatusFailing, catalog.ClearTemp, "holding /"},
		{"inodes exhausted", []diag.Filesystem{fs("/var", 20, 990)}, diag.StatusFailing, catalog.ClearTemp, "/var"},
		{"none", nil, diag.StatusUnknown, "", "No disk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := gradeDisks(c, tt.fss)
			if got.Status != tt.status || got.Fix != tt.fix || !strings.Contains(got.Summary, tt.in) {
				t.Errorf("got %s %q %q, want %s %q containing %q", got.Status, got.Fix, got.Summary, tt.status, tt.fix, tt.in)
			}
		})
	}
}

func TestGradeMemory(t *testing.T) {
	c := defaults(t)
	tests := []struct {
		m      diag.Memory
		status diag.Status
	}{
		{diag.Memory{Total: 16 << 30, Available: 8 << 30, UsedPct: 50}, diag.StatusOK},
		{diag.Memory{Total: 16 << 30, Available: 1 << 30, UsedPct: 93}, diag.StatusWarning},
		{diag.Memory{Total: 16 << 30, Available: 100 << 20, UsedPct: 99}, diag.StatusFailing},
		{diag.Memory{Total: 16 << 30, Available: 8 << 30, UsedPct: 50, SwapTotal: 4 << 30, SwapUsed: 4 << 30}, diag.StatusWarning},
	}
	for _, tt := range tests {
		if got := gradeMemory(c, tt.m); got.Status != tt.status {
			t.Errorf("%+v: status %s, want %s", tt.m, got.Status, tt.status)
		}
	}
}

func TestGradeCPU(t *testing.T) {
	c := defaults(t)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	series := func(d time.Duration, pct func(i int) float64) []diag.Point {
		var pts []diag.Point
		n := int(d / (10 * time.Second))
		for i := n; i >= 0; i-- {
			pts = append(pts, diag.Point{Time: now.Add(-time.Duration(i) * 10 * time.Second), Summary: diag.Summary{CPUPct: pct(i)}})
		}
		return pts
	}
	busy := func(int) float64 { return 99 }
	tests := []struct {
		name   string
		pts    []diag.Point
		status diag.Status
	}{
		{"idle hour", series(time.Hour, func(int) float64 { return 5 }), diag.StatusOK},
		{"busy 6 min", series(6*time.Minute, busy), diag.StatusWarning},
		{"busy 20 min", series(20*time.Minute, busy), diag.StatusFailing},
		{"busy 20 min with a dip 2 min ago", series(20*time.Minute, func(i int) float64 {
			if i == 12 {
				return 30
			}
			return 99
		}), diag.StatusOK},
		{"busy but only 1 min of history", series(time.Minute, busy), diag.StatusUnknown},
		{"no history", nil, diag.StatusUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := gradeCPU(c, now, tt.pts, []diag.Process{{Name: "stress", PID: 7, CPUPct: 199}})
			if got.Status != tt.status {
				t.Errorf("status %s, want %s: %+v", got.Status, tt.status, got)
			}
		})
	}
}

func TestCheckBattery(t *testing.T) {
	tests := []struct {
		root   string
		status diag.Status
	}{
		{"testdata/power/worn", diag.StatusFailing},  // 38% of design
		{"testdata/power/aging", diag.StatusWarning}, // 56%
		{"testdata/power/no-design", diag.StatusUnknown},
		{"testdata/power/desktop", diag.StatusUnknown},
		{t.TempDir(), diag.StatusUnknown}, // container: no power_supply at all
	}
	for _, tt := range tests {
		t.Run(tt.root, func(t *testing.T) {
			c := defaults(t)
			c.Root = tt.root
			got := checkBattery(context.Background(), c)
			if got.Status != tt.status {
				t.Errorf("status %s, want %s: %+v", got.Status, tt.status, got)
			}
			if got.Fix != "" {
				t.Errorf("battery names fix %q; there is none in the catalog", got.Fix)
			}
		})
	}
}

func TestCheckReboot(t *testing.T) {
	c := defaults(t)
	c.Root = "testdata/reboot"
	got := checkReboot(context.Background(), c)
	if got.Status != diag.StatusWarning || got.Fix != catalog.ScheduleReboot {
		t.Fatalf("got %+v", got)
	}
	if len(got.Evidence) < 2 || got.Evidence[1].Value != "linux-image-6.1.0-28-amd64, libc6" {
		t.Errorf("evidence %+v", got.Evidence)
	}
	c.Root = t.TempDir()
	if got := checkReboot(context.Background(), c); got.Status != diag.StatusOK {
		t.Errorf("no flag: %+v", got)
	}
}

func TestGradeSmall(t *testing.T) {
	c := defaults(t)
	if got := gradeUptime(c, 45*24*time.Hour); got.Status != diag.StatusWarning || got.Fix != catalog.ScheduleReboot {
		t.Errorf("uptime 45d: %+v", got)
	}
	if got := gradeUptime(c, 3*24*time.Hour); got.Status != diag.StatusOK {
		t.Errorf("uptime 3d: %+v", got)
	}
	for _, tt := range []struct {
		off    time.Duration
		status diag.Status
	}{{2 * time.Second, diag.StatusOK}, {-90 * time.Second, diag.StatusWarning}, {10 * time.Minute, diag.StatusFailing}} {
		got := gradeClock(c, tt.off)
		if got.Status != tt.status || (tt.status != diag.StatusOK && got.Fix != catalog.SyncClock) {
			t.Errorf("clock %s: %+v", tt.off, got)
		}
	}
	if got := checkClock(context.Background(), c, Env{}, nil); got.Status != diag.StatusUnknown {
		t.Errorf("clock without hub: %+v", got)
	}
	got := gradeServices([]svcmgr.Status{{Name: "cups", State: "active", Running: true}, {Name: "sshd", State: "failed"}}, nil, nil, time.Now())
	if got.Status != diag.StatusFailing || got.Fix != catalog.RestartService || !strings.Contains(got.Summary, "sshd") {
		t.Errorf("services: %+v", got)
	}
}

func TestConfigValidation(t *testing.T) {
	bad := []Config{
		{HubAddr: "hub.example.com"}, // no port
		{DiskWarnPct: 99, DiskFailPct: 90},
		{Targets: []string{"nope"}},
	}
	for _, c := range bad {
		if err := c.CheckAndSetDefaults(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
