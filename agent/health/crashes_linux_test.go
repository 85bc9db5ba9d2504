package health

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/crashes"
	"github.com/tierline/tierline/agent/crashes/crashtest"
	"github.com/tierline/tierline/shared/diag"
)

// TestRealCrashFromKernelLog crashes a real program and sees app-crashing
// name it, read from the kernel's log (/dev/kmsg), the record every Linux
// machine has without systemd-coredump. It crashes once less than the
// warning threshold: the kernel log is the machine's, and every agent on
// it (other tests' too) would warn for a day. The grading at a threshold
// of the crashes seen shows the warning.
func TestRealCrashFromKernelLog(t *testing.T) {
	if b, err := os.ReadFile("/proc/sys/debug/exception-trace"); err == nil && strings.TrimSpace(string(b)) == "0" {
		t.Skip("the kernel does not log unhandled faults here (debug.exception-trace = 0)")
	}
	src := crashes.NewKmsgSource("/dev/kmsg", "/proc/uptime")
	t.Cleanup(func() { src.Close() })
	tr := crashes.NewTracker(crashes.Config{Sources: []crashes.Source{src}})
	ctx := context.Background()
	tr.Refresh(ctx, true) // the ring buffer so far
	if e := tr.Errors(); len(e) > 0 {
		t.Fatalf("kernel log unreadable: %v", e)
	}
	if _, err := src.Read(ctx); errors.Is(err, crashes.ErrNoSource) {
		t.Skipf("the kernel log is not readable here: %v", err)
	}

	name := fmt.Sprintf("tlcr%08x", rand.Uint32()) // a task name is at most 15 bytes
	bin := crashtest.Build(t, name)
	check := Func("app-crashing", func(ctx context.Context) diag.CheckResult { return checkCrashes(ctx, Env{Crashes: tr}) })
	started := time.Now()
	var got diag.AppCrashes
	const times = CrashWarnCount - 1
	for i := 1; i <= times; i++ {
		err := exec.Command(bin).Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGSEGV {
			t.Fatalf("crasher did not die of SIGSEGV: %v", err)
		}
		// The kernel logs the fault before the parent sees the exit;
		// wait for the record all the same, not a fixed time.
		deadline := time.Now().Add(10 * time.Second)
		for {
			tr.Refresh(ctx, true)
			got = find(tr.Summary(), name)
			if got.Crashes == i || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if got.Crashes != i {
			t.Fatalf("after %d crashes the record holds %+v (the kernel rate-limits these lines: is something else faulting?)", i, got)
		}
	}
	if got.Reason != "SIGSEGV" || got.LastKind != crashes.KindCrash || got.Source != "kernel-log" {
		t.Fatalf("record: %+v", got)
	}
	if d := got.Last.Sub(started); d < -5*time.Second || d > time.Minute {
		t.Fatalf("crash time %s is not near the test's %s", got.Last, started)
	}
	// The check reads the same record. Its evidence names the five
	// applications with the most events: this one unless the machine's
	// kernel log holds others that crashed more often today.
	r := runOne(ctx, check, 10*time.Second)
	if r.Status == diag.StatusUnknown || !strings.Contains(evidenceText(r), "read: kernel-log") {
		t.Fatalf("app-crashing: %s %q\n%s", r.Status, r.Summary, evidenceText(r))
	}
	if i := slices.IndexFunc(tr.Summary(), func(a diag.AppCrashes) bool { return a.App == name }); i < maxCrashEvidence &&
		!strings.Contains(evidenceText(r), fmt.Sprintf("%s: %d crashes in 24 h", name, times)) {
		t.Fatalf("app-crashing does not name the program: %s %q\n%s", r.Status, r.Summary, evidenceText(r))
	}
	g := gradeCrashes([]diag.AppCrashes{got}, times, times*2)
	if g.Status != diag.StatusWarning || !strings.Contains(g.Summary, fmt.Sprintf("%s crashed %d times", name, times)) {
		t.Fatalf("graded at %d crashes: %s %q", times, g.Status, g.Summary)
	}
}

func find(apps []diag.AppCrashes, name string) diag.AppCrashes {
	for _, a := range apps {
		if a.App == name {
			return a
		}
	}
	return diag.AppCrashes{}
}
