package collect

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tierline/tierline/shared/diag"
)

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		file    string
		want    procStat
		wantErr bool
	}{
		{file: "simple", want: procStat{PID: 1234, Comm: "bash", Ticks: 192, StartTime: 5555, RSSPages: 1024}},
		{file: "parens", want: procStat{PID: 4321, Comm: "Web Content (x) ", Ticks: 1000, StartTime: 777, RSSPages: 51200}},
		{file: "kthread", want: procStat{PID: 2, Comm: "kthreadd", StartTime: 3}},
		{file: "short", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata/stat", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseProcStat(b)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseProcStat (-want +got):\n%s", diff)
			}
		})
	}
}

// writeProc writes a fake /proc with the given processes (pid -> ticks).
func writeProc(t *testing.T, root string, uptime string, procs map[int]uint64) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(root, "proc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "proc/uptime"), []byte(uptime), 0o644); err != nil {
		t.Fatal(err)
	}
	for pid, ticks := range procs {
		dir := filepath.Join(root, "proc", fmt.Sprint(pid))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		line := fmt.Sprintf("%d (p%d) S 1 1 1 0 -1 0 0 0 0 0 %d 0 0 0 20 0 1 0 100 0 %d 0 0", pid, pid, ticks, pid*10)
		if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(line), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestProcCollectorRates(t *testing.T) {
	root := t.TempDir()
	// Processes started 1 s after boot; uptime 11 s: 10 s of life.
	writeProc(t, root, "11.00 20.00\n", map[int]uint64{1: 100, 2: 500, 3: 0})
	cfg := Config{Root: root, TopN: 2}
	cfg.setDefaults()
	c := newProcCollector(&cfg)
	var s diag.Sample
	if err := c.fill(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	// First sample: average over the process's life (500 ticks = 5 s in 10 s).
	if len(s.TopCPU) != 2 || s.TopCPU[0].PID != 2 || s.TopCPU[0].CPUPct != 50 || s.TopCPU[1].CPUPct != 10 {
		t.Errorf("first sample top CPU = %+v", s.TopCPU)
	}
	if s.TopMemory[0].PID != 3 || s.TopMemory[0].RSS != 30*uint64(os.Getpagesize()) {
		t.Errorf("top memory = %+v", s.TopMemory)
	}
	if s.TopMemory[0].User != "root" && s.TopMemory[0].User == "" {
		t.Errorf("no owner for %+v", s.TopMemory[0])
	}
	// Second sample: process 1 used 100 ticks (1 s) since; process 2 none.
	writeProc(t, root, "12.00 20.00\n", map[int]uint64{1: 200, 2: 500, 3: 0})
	c.prevTime = c.prevTime.Add(-1e9 + 1) // pretend ~1 s went by
	s = diag.Sample{}
	if err := c.fill(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	if len(s.TopCPU) != 1 || s.TopCPU[0].PID != 1 || s.TopCPU[0].CPUPct < 90 || s.TopCPU[0].CPUPct > 110 {
		t.Errorf("second sample top CPU = %+v", s.TopCPU)
	}
}

// TestProcStatFDsFollowProcesses: the descriptors kept between samples
// are those of live processes only, and a real process's counters advance
// through its kept descriptor.
func TestProcStatFDsFollowProcesses(t *testing.T) {
	root := t.TempDir()
	for _, pid := range []string{"100", "200"} {
		os.MkdirAll(filepath.Join(root, "proc", pid), 0o755)
		os.WriteFile(filepath.Join(root, "proc", pid, "stat"), []byte(pid+" (x) S 1 1 1 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 10 100 10\n"), 0o644)
	}
	os.WriteFile(filepath.Join(root, "proc/uptime"), []byte("100.0 50.0\n"), 0o644)
	c := newProcCollector(&Config{Root: root, TopN: 5})
	var s diag.Sample
	if err := c.fill(context.Background(), &s); err != nil || len(c.fds) != 2 {
		t.Fatalf("first sample: %v, %d fds", err, len(c.fds))
	}
	os.RemoveAll(filepath.Join(root, "proc/200"))
	if err := c.fill(context.Background(), &s); err != nil || len(c.fds) != 1 {
		t.Fatalf("after pid 200 left: %v, %d fds", err, len(c.fds))
	}
	if _, ok := c.fds["100"]; !ok {
		t.Error("pid 100's descriptor dropped")
	}

	// This process, through /proc: a kept descriptor reads fresh counters.
	real := newProcCollector(&Config{Root: "/", TopN: 5})
	self := fmt.Sprint(os.Getpid())
	b1, err := real.readStat("/proc", self)
	if err != nil {
		t.Fatal(err)
	}
	st1, _ := parseProcStat(b1)
	for end := time.Now().Add(100 * time.Millisecond); time.Now().Before(end); {
	}
	b2, err := real.readStat("/proc", self)
	if err != nil {
		t.Fatal(err)
	}
	st2, _ := parseProcStat(b2)
	if _, kept := real.fds[self]; !kept || st2.Ticks <= st1.Ticks {
		t.Errorf("kept %v, ticks %d then %d", kept, st1.Ticks, st2.Ticks)
	}
	for _, f := range real.fds {
		syscall.Close(f.fd)
	}
}
