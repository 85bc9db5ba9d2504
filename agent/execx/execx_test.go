package execx

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestRunPassesArgvLiterally(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses /bin/echo")
	}
	hostile := `a; touch /tmp/pwned $(id) | cat && "b" 'c' > /dev/null`
	res, err := Run(context.Background(), Cmd{Argv: []string{"echo", hostile}})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(res.Output); got != hostile {
		t.Fatalf("output %q, want the argument verbatim %q", got, hostile)
	}
	if res.ExitCode != 0 || res.Truncated {
		t.Fatalf("exit %d truncated %v", res.ExitCode, res.Truncated)
	}
}

func TestRunExitStatusAndTruncation(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses unix tools")
	}
	res, err := Run(context.Background(), Cmd{Argv: []string{"false"}})
	if err == nil || res.ExitCode != 1 || !strings.Contains(err.Error(), "status 1") {
		t.Fatalf("false: exit %d err %v", res.ExitCode, err)
	}
	res, err = Run(context.Background(), Cmd{Argv: []string{"head", "-c", "100000", "/dev/zero"}, MaxOutput: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Output) != 1000 || !res.Truncated {
		t.Fatalf("kept %d bytes, truncated %v; want 1000, true", len(res.Output), res.Truncated)
	}
}

func TestRunTimeoutKillsProcessTree(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses sh")
	}
	// sh starts a child sleep; both must die at the timeout, or Run would
	// wait for the child holding the output pipe.
	start := time.Now()
	res, err := Run(context.Background(), Cmd{Argv: []string{"sh", "-c", "sleep 30 & sleep 30"}, Timeout: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err %v, want a timeout", err)
	}
	if res.ExitCode != -1 {
		t.Fatalf("exit %d, want -1 for a killed process", res.ExitCode)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Run returned after %s: the child kept it waiting", d)
	}
}

func TestFindRefusesPathsAndUnknownPrograms(t *testing.T) {
	for _, name := range []string{"", "../bin/sh", "bin/sh", "no-such-program-tierline"} {
		if _, err := Find(name); err == nil {
			t.Errorf("Find(%q) succeeded", name)
		}
	}
	if _, err := Find("no-such-program-tierline"); !errors.Is(err, ErrNotFound) {
		t.Errorf("err %v, want ErrNotFound", err)
	}
	t.Setenv("PATH", t.TempDir())
	if runtime.GOOS != "windows" {
		if p, err := Find("sh"); err != nil || !strings.HasPrefix(p, "/") {
			t.Errorf("Find(sh) = %q, %v: must not depend on $PATH", p, err)
		}
	}
}

func TestRunKeepTail(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses seq")
	}
	res, err := Run(context.Background(), Cmd{Argv: []string{"seq", "1", "100000"}, MaxOutput: 20, KeepTail: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Truncated || !strings.HasSuffix(res.Output, "99999\n100000\n") || len(res.Output) != 20 {
		t.Fatalf("kept %q truncated %v; want the last 20 bytes", res.Output, res.Truncated)
	}
	res, err = Run(context.Background(), Cmd{Argv: []string{"seq", "1", "3"}, MaxOutput: 20, KeepTail: true})
	if err != nil || res.Truncated || res.Output != "1\n2\n3\n" {
		t.Fatalf("short output: %q truncated %v err %v", res.Output, res.Truncated, err)
	}
}

func TestOutput(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses sh")
	}
	ctx := context.Background()
	out, err := Output(ctx, 10*time.Second, 1000, "echo", "a b")
	if err != nil || out != "a b\n" {
		t.Errorf("echo: %q, %v", out, err)
	}
	// A failing command's output is kept: it says why.
	out, err = Output(ctx, 10*time.Second, 1000, "sh", "-c", "echo no such unit >&2; exit 4")
	if err == nil || !strings.Contains(err.Error(), "status 4") || out != "no such unit\n" {
		t.Errorf("failing command: %q, %v", out, err)
	}
	if out, err := Output(ctx, 10*time.Second, 10, "seq", "1", "100"); err != nil || out != "1\n2\n3\n4\n5\n" {
		t.Errorf("bounded output: %q, %v", out, err)
	}
	if _, err := Output(ctx, 300*time.Millisecond, 1000, "sleep", "30"); err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("timeout: %v", err)
	}
	if _, err := Output(ctx, time.Second, 1000, "no-such-program-tierline"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing program: %v", err)
	}
}

func TestOpenURLRefusesOtherSchemes(t *testing.T) {
	for _, u := range []string{"file:///etc/passwd", "javascript:alert(1)", "http://", "not a url", "-x http://127.0.0.1/"} {
		if err := OpenURL(u); err == nil {
			t.Errorf("OpenURL(%q) accepted", u)
		}
	}
}
