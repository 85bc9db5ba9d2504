package health

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/crashes"
	"github.com/tierline/tierline/shared/diag"
)

// crasherSource faults for real: it puts SIGSEGV back to the default
// action (the Go runtime handles it otherwise) and writes through a nil
// pointer, so the kernel kills it and, as it does for any unhandled
// fault, logs "segfault at" in its own log.
const crasherSource = `package main

import (
	"syscall"
	"unsafe"
)

func main() {
	var act [8]uint64 // struct sigaction, all zero: SIG_DFL, no flags, empty mask
	if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(syscall.SIGSEGV), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0); e != 0 {
		panic(e)
	}
	var p *int
	*p = 1
}
`

func buildCrasher(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(crasherSource), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module crasher\n\ngo 1.22\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, name)
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go toolchain to build the crasher: %v", err)
	}
	cmd := exec.Command(goBin, "build", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the crasher: %v\n%s", err, out)
	}
	return bin
}

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
	bin := buildCrasher(t, name)
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
