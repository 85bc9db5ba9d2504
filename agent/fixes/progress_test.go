package fixes

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tierline/tierline/agent/execx"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/software"
	"github.com/tierline/tierline/shared/wire"
)

// aptReplay runs the real execx with cat of a recorded apt session in
// place of apt-get install (this machine's packages are not the test's
// to change), so the line hook, the parser and the runner's reporting are
// the real ones. Other commands are only recorded.
type aptReplay struct {
	*recorder
	r    *Runner
	sent chan wire.RunProgress
	// seen is the runner's progress right after apt-get install ended,
	// and the step sent once the rate limit let it through.
	seen, late Progress
	ok         bool
}

func (a *aptReplay) Run(ctx context.Context, c execx.Cmd) (execx.Result, error) {
	if len(c.Argv) < 2 || c.Argv[1] != "install" {
		return a.recorder.Run(ctx, c)
	}
	fixture, _ := filepath.Abs("testdata/apt-status-install.txt")
	c.Argv = []string{"cat", fixture}
	res, err := execx.Run(ctx, c)
	a.seen, a.ok = a.r.Progress(RunIDFrom(ctx))
	// The steps came faster than ProgressEvery: the latest is sent when
	// its time comes, while the run still goes on.
	for st := range a.sent {
		if st.Text == "Running hooks" {
			a.late = Progress{RunProgress: st}
			break
		}
	}
	return res, err
}

func TestInstallSoftwareReportsAptProgress(t *testing.T) {
	s := softwareStore(t, software.Entry{ID: "hello", Version: 3, Title: "GNU Hello", Manager: software.Apt, Package: "hello"})
	sent := make(chan wire.RunProgress, 64)
	var rp *aptReplay
	r, rec := newTestRunner(t, t.TempDir(), func(c *Config) {
		c.Software = s
		c.Progress = func(p wire.RunProgress) { sent <- p }
		rp = &aptReplay{sent: sent}
		c.Exec = rp
	})
	rp.recorder, rp.r = rec, r
	res := r.Do(context.Background(), req("sw-p", catalog.InstallSoftware, 0, map[string]string{"entry": "hello"}), nil)
	if res.Outcome != wire.OutcomeSucceeded {
		t.Fatalf("install: %s %q", res.Outcome, res.Reason)
	}
	if !rp.ok || rp.seen.Percent != 100 || rp.seen.Text != "Running hooks" || rp.seen.RunID != "sw-p" {
		t.Fatalf("progress after apt-get install = %+v, %v; want 100%% Running hooks", rp.seen, rp.ok)
	}
	if rp.late.Percent != 100 || rp.late.RunID != "sw-p" {
		t.Fatalf("held step sent = %+v", rp.late)
	}
	if _, ok := r.Progress("sw-p"); ok {
		t.Fatal("progress is still reported after the run finished")
	}
	close(sent)
	var texts []string
	for p := range sent {
		texts = append(texts, p.Text)
	}
	// Only steps after the held one remain: the verify step's start, sent
	// or held; never more than one a second burst through.
	if len(texts) > 1 || len(texts) == 1 && !slices.Contains([]string{"Step 3 of 3: verify-package"}, texts[0]) {
		t.Fatalf("steps sent after apt finished: %q", texts)
	}
}

// TestLocalRunProgressStaysOnDevice: a run the user asked for at the
// device reports its steps to Runner.Progress only, never to the hub.
func TestLocalRunProgressStaysOnDevice(t *testing.T) {
	var sent []wire.RunProgress
	var seen []Progress
	r, rec := newTestRunner(t, t.TempDir(), func(c *Config) { c.Progress = func(p wire.RunProgress) { sent = append(sent, p) } })
	rec.exit = func([]string) int {
		p, _ := r.Progress("local-1")
		seen = append(seen, p)
		return 0
	}
	res := r.Do(WithRequesterConsent(context.Background()), req("local-1", catalog.FlushDNS, 0, nil), nil)
	if res.Outcome == wire.OutcomeRefused || res.Outcome == wire.OutcomeFailed {
		t.Fatalf("flush-dns: %s %q", res.Outcome, res.Reason)
	}
	if len(sent) != 0 {
		t.Fatalf("a local run's steps went to the hub: %+v", sent)
	}
	if len(seen) == 0 || seen[0].Text == "" || seen[0].Percent != wire.NoPercent || seen[0].At.IsZero() {
		t.Fatalf("progress during the run = %+v", seen)
	}
}

func TestStepText(t *testing.T) {
	for _, tc := range []struct {
		i, n int
		st   Step
		want string
	}{
		{0, 2, Step{Argv: []string{"apt-get", "-q", "update"}}, "Step 1 of 2: apt-get update"},
		{1, 2, Step{Argv: []string{"/usr/bin/resolvectl", "flush-caches"}}, "Step 2 of 2: resolvectl flush-caches"},
		{0, 1, Step{Action: &Action{Name: ActClearTemp}}, "Running clear-temp"},
	} {
		if got := stepText(tc.i, tc.n, tc.st); got != tc.want {
			t.Errorf("stepText = %q, want %q", got, tc.want)
		}
	}
}
