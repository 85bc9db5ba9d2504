package instancelock

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A copy of the test binary holds the lock when this is set to a directory.
const holderEnv = "TIERLINE_TEST_LOCK_HOLDER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(holderEnv); dir != "" {
		l, err := Acquire(dir, "test.lock", "lock-holder")
		if err != nil {
			os.Stdout.WriteString("error: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString("locked\n")
		// Hold the lock until stdin closes or the process is killed.
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		l.Release()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// holder starts another process that takes the lock in dir.
func holder(t *testing.T, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), holderEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close() })
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("holder: %q %v", line, err)
	}
	return cmd
}

func TestSecondInstanceRefusedNamingTheFirst(t *testing.T) {
	dir := t.TempDir()
	h := holder(t, dir)
	_, err := Acquire(dir, "test.lock", "this test")
	var held *HeldError
	if !errors.As(err, &held) || !errors.Is(err, ErrHeld) {
		t.Fatalf("second Acquire: %v, want a *HeldError", err)
	}
	if held.Owner.PID != h.Process.Pid || held.Owner.Program != "lock-holder" || time.Since(held.Owner.Started) > time.Minute {
		t.Fatalf("owner %+v, want pid %d of lock-holder started just now", held.Owner, h.Process.Pid)
	}
	msg := err.Error()
	for _, want := range []string{"another lock-holder", "pid " + strconv.Itoa(h.Process.Pid), "started ", dir} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not say %q", msg, want)
		}
	}

	// Killed, it leaves no stale lock behind.
	if err := h.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = h.Wait()
	l, err := Acquire(dir, "test.lock", "this test")
	if err != nil {
		t.Fatalf("after the holder died: %v", err)
	}
	defer l.Release()
	// Now this process holds it, and says so to the next one.
	_, err = Acquire(dir, "test.lock", "third")
	if !errors.As(err, &held) || held.Owner.PID != os.Getpid() || held.Owner.Program != "this test" {
		t.Fatalf("third Acquire: %v (owner %+v), want this process named", err, held)
	}
}

func TestReleaseLetsTheNextOneIn(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir, "test.lock", "first")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := Acquire(dir, "test.lock", "second")
	if err != nil {
		t.Fatalf("after Release: %v", err)
	}
	l2.Release()
}

func TestMissingDirectory(t *testing.T) {
	_, err := Acquire(t.TempDir()+"/nope", "test.lock", "x")
	if err == nil || errors.Is(err, ErrHeld) {
		t.Fatalf("Acquire in a missing directory: %v", err)
	}
}
