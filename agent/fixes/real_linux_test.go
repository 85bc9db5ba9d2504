package fixes

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/wire"
)

// These tests run the real executor on this machine, inside temp roots
// and against processes the test started itself.

func TestClearTempRealRoot(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	old := time.Now().Add(-48 * time.Hour)
	mk := func(p string, size int, mod time.Time) string {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, bytes.Repeat([]byte("x"), size), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(full, mod, mod)
		return full
	}
	oldFiles := []string{mk("a.tmp", 100, old), mk("sub/b.tmp", 200, old), mk("sub/deeper/c.tmp", 300, old)}
	newFiles := []string{mk("new.tmp", 50, time.Now()), mk("sub/new.tmp", 50, time.Now())}
	inUse := mk("held.tmp", 400, old)
	held, err := os.Open(inUse)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	// A symlink to a directory outside the root, holding an old file: the
	// walk must not follow it, and the link itself stays.
	victim := filepath.Join(outside, "precious.txt")
	os.WriteFile(victim, []byte("keep"), 0o644)
	os.Chtimes(victim, old, old)
	os.Symlink(outside, filepath.Join(root, "escape"))
	os.Symlink(victim, filepath.Join(root, "sub", "link-to-precious"))

	st, out := ClearTemp(context.Background(), []string{root, filepath.Join(root, "missing")}, 24*time.Hour, time.Now())
	if st.Removed != 3 || st.BytesFreed != 600 || st.SkippedInUse != 1 || st.Failed != 0 {
		t.Fatalf("stats %+v\n%s", st, out)
	}
	for _, f := range oldFiles {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s not removed", f)
		}
	}
	for _, f := range append(newFiles, inUse, victim) {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s removed: %v", f, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(root, "escape")); err != nil {
		t.Error("symlink removed")
	}
	if !strings.Contains(out, "removed 3 files") {
		t.Errorf("output %q", out)
	}

	// Through the Runner with the real executor.
	mk("again.tmp", 10, old)
	r, _ := newTestRunner(t, t.TempDir(), func(c *Config) { c.Exec = &Local{TempRoots: []string{root}} })
	res := r.Do(context.Background(), req("ct1", catalog.ClearTemp, 0, map[string]string{"min_age_hours": "24"}), nil)
	if res.Outcome != wire.OutcomeSucceeded || !strings.Contains(res.Output, "removed 1 files") || res.Steps[0].Argv[0] != "agent:clear-temp" {
		t.Fatalf("%+v", res)
	}
}

func startSleep(t *testing.T) *exec.Cmd {
	t.Helper()
	// A copy of sleep under a name no other process on this machine has.
	bin := filepath.Join(t.TempDir(), "tierline-test-sleeper")
	src, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "300")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd
}

func TestEndProcessReal(t *testing.T) {
	l := &Local{KillGrace: time.Second}
	for _, by := range []string{"pid", "name"} {
		cmd := startSleep(t)
		waited := make(chan error, 1)
		go func() { waited <- cmd.Wait() }() // reap it, as its parent would
		args := map[string]string{"name": "tierline-test-sleeper"}
		if by == "pid" {
			args = map[string]string{"pid": strconv.Itoa(cmd.Process.Pid)}
		}
		res := l.Do(context.Background(), Action{Name: ActEndProcess, Args: args})
		if res.Err != nil || res.Refused != nil || res.NotApplicable != "" || !strings.Contains(res.Output, "ended pid "+strconv.Itoa(cmd.Process.Pid)) {
			t.Fatalf("by %s: %+v", by, res)
		}
		select {
		case err := <-waited:
			if !strings.Contains(err.Error(), "terminated") {
				t.Fatalf("by %s: sleep ended with %v, want SIGTERM", by, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("by %s: sleep still running", by)
		}
	}
	// A process that ignores SIGTERM is killed after the grace period.
	sh := exec.Command("sh", "-c", `trap "" TERM; echo ready; while :; do sleep 0.05; done`)
	stdout, _ := sh.StdoutPipe()
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sh.Process.Kill() })
	buf := make([]byte, 6)
	io.ReadFull(stdout, buf)
	waited := make(chan error, 1)
	go func() { waited <- sh.Wait() }()
	start := time.Now()
	res := l.Do(context.Background(), Action{Name: ActEndProcess, Args: map[string]string{"pid": strconv.Itoa(sh.Process.Pid)}})
	if res.Err != nil || !strings.Contains(res.Output, "killed pid") || time.Since(start) < time.Second {
		t.Fatalf("stubborn process: %+v after %s", res, time.Since(start))
	}
	if err := <-waited; !strings.Contains(err.Error(), "killed") {
		t.Fatalf("sh ended with %v, want SIGKILL", err)
	}
	// Nothing to end.
	res = l.Do(context.Background(), Action{Name: ActEndProcess, Args: map[string]string{"name": "tierline-no-such-process"}})
	if res.NotApplicable == "" {
		t.Fatalf("%+v", res)
	}
}

func TestEndProcessRefusesPid1AndSelf(t *testing.T) {
	l := &Local{}
	for _, pid := range []int{1, os.Getpid(), os.Getppid()} {
		res := l.Do(context.Background(), Action{Name: ActEndProcess, Args: map[string]string{"pid": strconv.Itoa(pid)}})
		if res.Refused == nil || res.Refused.Code != wire.RefusePolicy {
			t.Fatalf("pid %d: %+v", pid, res)
		}
	}
	// Through the Runner on the real machine: the catalog refuses pid 1,
	// the plan refuses the agent itself; nothing is signalled.
	r, _ := newTestRunner(t, t.TempDir(), func(c *Config) { c.Exec = l; c.Machine = LocalMachine })
	got := r.Do(context.Background(), wire.RunRequest{RunID: "p1", Fix: catalog.EndProcess, Tier: 2, ConsentObtained: true,
		Params: map[string]string{"pid": "1"}}, nil)
	if got.Code != wire.RefuseBadParams {
		t.Fatalf("pid 1: %+v", got)
	}
	got = r.Do(context.Background(), wire.RunRequest{RunID: "p2", Fix: catalog.EndProcess, Tier: 2, ConsentObtained: true,
		Params: map[string]string{"pid": strconv.Itoa(os.Getpid())}}, nil)
	if got.Code != wire.RefusePolicy || !strings.Contains(got.Reason, "the agent itself") {
		t.Fatalf("self: %+v", got)
	}
	got = r.Do(context.Background(), wire.RunRequest{RunID: "p3", Fix: catalog.EndProcess, Tier: 2, ConsentObtained: true,
		Params: map[string]string{"name": "systemd"}}, nil)
	if got.Code != wire.RefusePolicy {
		t.Fatalf("systemd: %+v", got)
	}
}

func TestCollectLogsReal(t *testing.T) {
	dir := t.TempDir()
	logFile := filepath.Join(dir, "syslog")
	var big bytes.Buffer
	for i := 0; big.Len() < 12<<20; i++ {
		big.WriteString("2026-11-23T10:00:00 host app[" + strconv.Itoa(i) + "]: a log line that repeats with a counter " + strconv.Itoa(i*7919) + "\n")
	}
	big.WriteString("THE NEWEST LINE\n")
	os.WriteFile(logFile, big.Bytes(), 0o644)
	l := &Local{LogFiles: []string{logFile, filepath.Join(dir, "absent")}, Hostname: "test host/1"}
	r, _ := newTestRunner(t, t.TempDir(), func(c *Config) { c.Exec = l })
	res := r.Do(context.Background(), req("cl1", catalog.CollectLogs, 2, map[string]string{"hours": "1", "max_mib": "1"}), nil)
	if res.Outcome != wire.OutcomeSucceeded {
		t.Fatalf("%+v", res)
	}
	if len(res.Bundle) == 0 || len(res.Bundle) > 1<<20 || !strings.HasPrefix(res.BundleName, "logs-testhost1-") || !strings.HasSuffix(res.BundleName, ".tar.gz") {
		t.Fatalf("bundle %d bytes named %q", len(res.Bundle), res.BundleName)
	}
	if err := res.Validate(); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(res.Bundle))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	files := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		files[h.Name] = string(data)
	}
	manifest, ok := files["MANIFEST.txt"]
	if !ok {
		t.Fatalf("no manifest in %v", keys(files))
	}
	syslog := files["files"+logFile]
	if !strings.HasSuffix(syslog, "THE NEWEST LINE\n") || len(syslog) >= big.Len() || !strings.Contains(manifest, "oldest part cut") {
		t.Fatalf("syslog part: %d of %d bytes; manifest:\n%s", len(syslog), big.Len(), manifest)
	}
	if _, err := exec.LookPath("journalctl"); err == nil {
		if _, ok := files["journal.txt"]; !ok || !strings.Contains(manifest, "journalctl --since") {
			t.Fatalf("journal missing: %v\n%s", keys(files), manifest)
		}
	}
	// The journal keeps the result but not the bundle; a replay says so.
	again := r.Do(context.Background(), req("cl1", catalog.CollectLogs, 2, nil), nil)
	if !again.Replayed || again.Bundle != nil || again.BundleName != res.BundleName || !strings.Contains(again.Reason, "bundle") {
		t.Fatalf("replay %+v", again)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// The consent prompt names the program end-process would end, with its
// pid and user, and the service restart-service would restart.
func TestConsentTargetNamesTheProgram(t *testing.T) {
	cmd := startSleep(t)
	pid := strconv.Itoa(cmd.Process.Pid)
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		fix    string
		params map[string]string
		want   string
	}{
		{catalog.EndProcess, map[string]string{"pid": pid}, "the program tierline-test-sleeper (process " + pid + ", run by " + u.Username + ")"},
		{catalog.EndProcess, map[string]string{"pid": "999999999"}, "process 999999999 (it is no longer running)"},
		{catalog.EndProcess, map[string]string{"name": "chrome"}, "every program named chrome"},
		{catalog.RestartService, map[string]string{"service": "cups"}, "the service cups"},
		{catalog.EmptyTrash, map[string]string{"user": "bob"}, "bob's trash"},
		{catalog.ClearUserCaches, nil, "the caches of the user at the screen"},
		{catalog.FlushDNS, nil, ""},
	} {
		if got := ConsentTarget(context.Background(), c.fix, c.params); got != c.want {
			t.Errorf("%s %v: %q, want %q", c.fix, c.params, got, c.want)
		}
	}
}
