package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// makeRun starts scripts/run.sh (what `make run` runs) on runDir in a
// checkout-like folder whose bin/ holds the test's binaries, with the hub on
// listen. The script and what it started are one process group, stopped
// when the test ends.
func makeRun(t *testing.T, repo, runDir, listen string) *proc {
	t.Helper()
	script, err := filepath.Abs("../../scripts/run.sh")
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, name: "run.sh", done: make(chan struct{})}
	p.cmd = exec.Command("bash", script, runDir)
	p.cmd.Dir = repo
	p.cmd.Env = append(os.Environ(), "TIERLINE_LISTEN="+listen)
	p.cmd.Stdout, p.cmd.Stderr = p, p
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
		}
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) // this group only: the script and its hub and agent
		<-p.done
		if t.Failed() {
			t.Logf("--- output of run.sh %s:\n%s", runDir, tail(p.output(), 6000))
		}
	})
	return p
}

// `make run` a second time while the first runs says so and leaves the
// running one's logs alone; after TIERLINE_LISTEN moved the hub, the
// local agent's stale hub URL is noticed, said, and the agent enrolled
// again, so it comes online.
func TestMakeRunTwiceAndMovedHub(t *testing.T) {
	repo := t.TempDir()
	os.MkdirAll(filepath.Join(repo, "bin"), 0o755)
	for _, b := range []string{"tierline-hub", "tierline-agent", "tierline-tray"} {
		if err := os.Symlink(filepath.Join(binDir, b), filepath.Join(repo, "bin", b)); err != nil {
			t.Fatal(err)
		}
	}
	runDir := filepath.Join(repo, ".run")
	data := filepath.Join(runDir, "hub")
	online := func() []string {
		out, _, _ := run(t, "", "tierline-hub", "device", "list", "--data", data)
		var ids []string
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) > 3 && strings.Contains(l, " online ") {
				ids = append(ids, f[0])
			}
		}
		return ids
	}
	first := makeRun(t, repo, runDir, freePort(t))
	eventually(t, "make run's console line", 120*time.Second, func() bool { return strings.Contains(first.output(), "Console:") })
	eventually(t, "the local agent online", 120*time.Second, func() bool { return len(online()) == 1 })
	firstDevice := online()[0]
	logs := map[string][]byte{}
	for _, f := range []string{"hub.log", "agent.log", "hub.out"} {
		b, err := os.ReadFile(filepath.Join(runDir, f))
		if err != nil || len(b) == 0 {
			t.Fatalf("%s: %v (%d bytes)", f, err, len(b))
		}
		logs[f] = b
	}

	second := makeRun(t, repo, runDir, freePort(t))
	if code := second.wait(60 * time.Second); code == 0 {
		t.Fatalf("a second make run succeeded:\n%s", second.output())
	}
	hubPid := regexp.MustCompile(`"pid":(\d+)`).FindStringSubmatch(readFile(t, filepath.Join(data, "hub.lock")))
	if !strings.Contains(second.output(), "make run is already running on "+runDir) || hubPid == nil ||
		!strings.Contains(second.output(), "tierline-hub pid "+hubPid[1]) {
		t.Fatalf("the second make run does not say the first is running (hub pid %v):\n%s", hubPid, second.output())
	}
	for f, before := range logs {
		now, _ := os.ReadFile(filepath.Join(runDir, f))
		if len(now) < len(before) || string(now[:len(before)]) != string(before) {
			t.Errorf("%s was rewritten by the second make run (%d bytes before, %d now)", f, len(before), len(now))
		}
	}
	if ids := online(); len(ids) != 1 || ids[0] != firstDevice {
		t.Fatalf("devices online after the second make run: %v, want %s", ids, firstDevice)
	}

	first.signal(syscall.SIGTERM)
	if code := first.wait(60 * time.Second); code != 0 {
		t.Fatalf("make run exit %d on SIGTERM", code)
	}
	// The hub moves to another port; the agent's state still names the old one.
	oldURL := "https://" + regexp.MustCompile(`"hub_url": *"https://([^"]+)"`).FindStringSubmatch(readFile(t, filepath.Join(runDir, "agent", "identity.json")))[1]
	newListen := freePort(t)
	moved := makeRun(t, repo, runDir, newListen)
	eventually(t, "make run's console line", 120*time.Second, func() bool { return strings.Contains(moved.output(), "Console:") })
	want := "The local agent was enrolled with " + oldURL + " but the hub now serves https://" + newListen
	if !strings.Contains(moved.output(), want) {
		t.Fatalf("make run does not say the hub moved (%q):\n%s", want, moved.output())
	}
	eventually(t, "the local agent online at the moved hub", 120*time.Second, func() bool {
		ids := online()
		return len(ids) == 1 && ids[0] != firstDevice
	})
	if list, _, _ := run(t, "", "tierline-hub", "device", "list", "--data", data); !regexp.MustCompile(firstDevice + `\s+\S+\s+\S+\s+revoked`).MatchString(list) {
		t.Errorf("the old device is not revoked:\n%s", list)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
