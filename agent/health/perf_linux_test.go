package health

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/collect"
	"github.com/tierline/tierline/agent/history"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

// fixtureRoot returns a check Config reading /proc and /sys from a
// recorded tree under testdata/perf.
func fixtureRoot(t *testing.T, name string) *Config {
	t.Helper()
	c := defaults(t)
	c.Root = filepath.Join("testdata", "perf", name)
	return c
}

func TestProcessLimitsOnRecordedTrees(t *testing.T) {
	tests := []struct {
		root   string
		status diag.Status
		in     string
		ev     [2]string
	}{
		{"limits-fine", diag.StatusOK, "well within", [2]string{"process ids", "250 tasks of kernel.pid_max 4194304"}},
		// cgroup v2: build.service is at its TasksMax and refused forks;
		// deep.scope is below the two levels read, so not judged.
		{"limits-v2", diag.StatusFailing, "task limit of /system.slice/build.service",
			[2]string{"cgroup /system.slice/build.service", "512 of pids.max 512 (100.0%); 37 new processes refused"}},
		// A user whose nproc limit (limits.conf) is 200 runs 198 processes.
		{"limits-nproc", diag.StatusFailing, "the user's process limit (RLIMIT_NPROC, nproc) in /user.slice/user-1000.slice",
			[2]string{"user processes /user.slice/user-1000.slice", "198 of RLIMIT_NPROC 200 (99.0%)"}},
		// cgroup v1, pid_max nearly used by 32100 tasks.
		{"limits-v1", diag.StatusFailing, "kernel.pid_max", [2]string{"process ids", "32100 tasks of kernel.pid_max 32768 (98.0%)"}},
	}
	for _, tt := range tests {
		t.Run(tt.root, func(t *testing.T) {
			got := checkLimits(context.Background(), fixtureRoot(t, tt.root))
			if got.Status != tt.status || !strings.Contains(got.Summary, tt.in) || !hasEv(got, tt.ev[0], tt.ev[1]) {
				t.Fatalf("got %+v", got)
			}
			for _, e := range got.Evidence {
				if strings.Contains(e.Label, "deep.scope") {
					t.Errorf("read a cgroup deeper than two levels: %+v", e)
				}
			}
		})
	}
}

func TestMemStallWithoutPSI(t *testing.T) {
	got := checkMemStall(context.Background(), fixtureRoot(t, "limits-fine"), Env{})
	if got.Status != diag.StatusUnknown || !strings.Contains(got.Summary, "does not report memory stalls") {
		t.Errorf("no /proc/pressure: %+v", got)
	}
}

// busyChild starts a shell spinning on one core until the test ends. It
// runs at the highest priority where the test may set it (root), so that
// it keeps its core even on a loaded test machine.
func busyChild(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sh", "-c", "while :; do :; done")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	syscall.Setpriority(syscall.PRIO_PROCESS, cmd.Process.Pid, -20)
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd
}

// sampling feeds hist with real telemetry samples every interval until
// the test ends.
func sampling(t *testing.T, hist *history.History, interval time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	col := collect.New()
	go func() {
		defer close(done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			if s, err := col.Sample(ctx); err == nil || !s.Time.IsZero() {
				hist.Add(s)
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

// TestRunawayProcessReallyPinned starts a real busy loop, samples the
// machine as the agent does (faster, with a short window), and sees
// process-cpu-runaway name it with end-process; after the child is
// killed, a fresh sample clears it. The test machines are shared and
// loaded (a busy loop gets well under a core there), so the threshold is
// low; what is tested is that a process busy in every sample of the
// window is named, and gone after the kill.
func TestRunawayProcessReallyPinned(t *testing.T) {
	child := busyChild(t)
	hist := history.New(history.Config{Interval: 500 * time.Millisecond})
	sampling(t, hist, 500*time.Millisecond)
	r, err := NewRunner(Config{CPUWarnFor: 3 * time.Second, CPUFailFor: time.Minute, CPUPinPct: 15, SampleWait: 10 * time.Second},
		Env{Latest: hist.Latest, Recent: hist.Recent, RecentProcs: hist.RecentProcs, WaitSample: hist.WaitAfter})
	if err != nil {
		t.Fatal(err)
	}
	pid := strconv.Itoa(child.Process.Pid)
	var got diag.CheckResult
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		got = r.Run(context.Background(), "process-cpu-runaway")[0]
		if got.Status == diag.StatusWarning && hasEv(got, "pinned process", "(pid "+pid+")") {
			break
		}
		hist.WaitAfter(context.Background(), time.Now())
	}
	if got.Status != diag.StatusWarning || got.Fix != catalog.EndProcess || !hasEv(got, "pinned process", "(pid "+pid+")") {
		t.Fatalf("busy child %s: %+v", pid, got)
	}
	child.Process.Kill()
	child.Wait()
	killed := time.Now()
	got = r.RunAfter(context.Background(), killed, "process-cpu-runaway")[0]
	// Other programs on a shared test machine may be busy too: the killed
	// one must be gone from the check.
	if got.Status == diag.StatusUnknown || hasEv(got, "pinned process", "(pid "+pid+")") {
		t.Fatalf("after the kill: %+v", got)
	}
}

// TestOOMKillReally runs a program that outgrows a memory cgroup's 32 MiB
// limit and sees oom-kills name it and the cgroup. It needs a writable
// cgroup v1 memory hierarchy (root, as the tests run here); it is skipped
// without one.
func TestOOMKillReally(t *testing.T) {
	cg := filepath.Join("/sys/fs/cgroup/memory", "tierline-test-"+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(cg, 0o755); err != nil {
		t.Skipf("no writable memory cgroup here: %v", err)
	}
	t.Cleanup(func() { os.Remove(cg) })
	if err := os.WriteFile(filepath.Join(cg, "memory.limit_in_bytes"), []byte("33554432"), 0o644); err != nil {
		t.Skipf("cannot set a memory limit: %v", err)
	}
	os.WriteFile(filepath.Join(cg, "memory.memsw.limit_in_bytes"), []byte("33554432"), 0o644)
	r, err := NewRunner(Config{}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Run(context.Background(), "oom-kills")[0]; got.Status == diag.StatusUnknown {
		t.Fatalf("first look: %+v", got)
	}
	// The shell joins the cgroup, then grows a string until it is killed.
	cmd := exec.Command("sh", "-c", `echo $$ > `+filepath.Join(cg, "cgroup.procs")+` && exec awk 'BEGIN { s = "x"; while (1) s = s s }'`)
	err = cmd.Run()
	if err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("the hog was not killed: %v", err)
	}
	got := r.Run(context.Background(), "oom-kills")[0]
	// Earlier runs of this test within the hour count too (failing at 3).
	if (got.Status != diag.StatusWarning && got.Status != diag.StatusFailing) || !strings.Contains(got.Summary, "awk was closed") ||
		!hasEv(got, "killed", "awk (pid "+strconv.Itoa(cmd.Process.Pid)+")") || !hasEv(got, "killed", "tierline-test-") {
		t.Fatalf("after an OOM kill: %+v", got)
	}
}

// TestProcessLimitReally puts this test's own process into a pids cgroup
// one level below the root with a limit it has already reached, and sees
// process-limits fail on that cgroup. Skipped without a writable pids
// hierarchy.
func TestProcessLimitReally(t *testing.T) {
	root := "/sys/fs/cgroup/pids"
	cg := filepath.Join(root, "tierline-test-"+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(cg, 0o755); err != nil {
		t.Skipf("no writable pids cgroup here: %v", err)
	}
	t.Cleanup(func() { os.Remove(cg) })
	child := busyChild(t)
	if err := os.WriteFile(filepath.Join(cg, "cgroup.procs"), []byte(strconv.Itoa(child.Process.Pid)), 0o644); err != nil {
		t.Skipf("cannot move a process into the cgroup: %v", err)
	}
	if err := os.WriteFile(filepath.Join(cg, "pids.max"), []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := runCheck(t, Config{}, "process-limits")
	if got.Status != diag.StatusFailing || !strings.Contains(got.Summary, "/tierline-test-") ||
		!hasEv(got, "cgroup "+strings.TrimPrefix(cg, root), "1 of pids.max 1 (100.0%)") {
		t.Fatalf("at the limit: %+v", got)
	}
}
