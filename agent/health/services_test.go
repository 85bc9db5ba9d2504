package health

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/svcmgr"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

// The fixtures in testdata/services are `systemctl show` as recorded on
// the test machine (Debian 12, systemd 252), three minutes apart, with
// services failing in each way: crashy exits 1 and is restarted every 2 s
// (Restart=always), segv was killed by SIGSEGV, killed by SIGKILL, flappy
// exits 3 a second after each start (Restart=on-failure) and was running
// again after 3 restarts in the first, stopped by the start limit after 5
// in the second; cups runs; nosuch is not installed.
var serviceNames = []string{"cups", "crashy", "segv", "killed", "flappy", "nosuch", "cups.socket"}

func serviceFixture(t *testing.T, name string) []svcmgr.Status {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata/services", name))
	if err != nil {
		t.Fatal(err)
	}
	return svcmgr.ParseSystemctlShow(string(b), serviceNames, time.UTC)
}

// evidence returns the values of c's evidence labelled label.
func evidence(c diag.CheckResult, label string) []string {
	var out []string
	for _, e := range c.Evidence {
		if e.Label == label {
			out = append(out, e.Value)
		}
	}
	return out
}

func only(states []svcmgr.Status, names ...string) []svcmgr.Status {
	var out []svcmgr.Status
	for _, s := range states {
		for _, n := range names {
			if s.Name == n {
				out = append(out, s)
			}
		}
	}
	return out
}

func TestGradeServices(t *testing.T) {
	first, later := serviceFixture(t, "show-first"), serviceFixture(t, "show-later")
	crashyLog, err := os.ReadFile("testdata/services/journal-crashy")
	if err != nil {
		t.Fatal(err)
	}
	logs := map[string]serviceLog{"crashy": {lines: svcmgr.ParseLog(string(crashyLog))}}
	now := time.Date(2026, 12, 6, 6, 27, 20, 0, time.UTC)
	firstCounts := map[string]int{}
	for _, s := range first {
		if s.RestartsKnown {
			firstCounts[s.Name] = s.Restarts
		}
	}
	for _, tt := range []struct {
		name     string
		states   []svcmgr.Status
		prev     map[string]int
		status   diag.Status
		fix      string
		summary  []string // substrings, in order
		evidence map[string][]string
		absent   []string // labels that must not be there
	}{{
		name: "first run: crash loop, crashed, killed, not installed", states: first,
		status: diag.StatusFailing, fix: catalog.RestartService,
		summary: []string{"Watched service crash-looping (it keeps stopping and being restarted): crashy (restarted 3 times).",
			"Watched service not running: segv (crashed 2 min ago), killed (was killed 3 min ago), nosuch."},
		evidence: map[string][]string{
			"crashy":          {"activating (auto-restart)"},
			"crashy exit":     {"status=1 (exit-code)"},
			"crashy restarts": {"3"},
			"crashy since":    {"2026-12-06 06:24:23 UTC (2 min ago)"},
			"crashy log": {"Stopped crashy.service - Crashy, a service that needs /etc/crashy.conf.",
				"Started crashy.service - Crashy, a service that needs /etc/crashy.conf.",
				"crashy: /etc/crashy.conf is missing",
				"crashy.service: Main process exited, code=exited, status=1/FAILURE",
				"crashy.service: Failed with result 'exit-code'."},
			"segv exit":   {"signal=11/SIGSEGV (signal)"},
			"killed exit": {"signal=9/SIGKILL (signal)"},
			"killed":      {"failed"},
			"nosuch":      {"not installed"},
			// flappy was restarted 3 times before the first run and runs:
			// nothing to say about it yet.
			"flappy": {"active (running), pid 253"},
			"cups":   {"active (running), pid 37"},
		},
		absent: []string{"flappy restarts", "cups exit", "cups restarts", "cups since", "flappy log"},
	}, {
		name: "second run: restart counts rose", states: later, prev: firstCounts,
		status: diag.StatusFailing, fix: catalog.RestartService,
		summary: []string{"crash-looping", "crashy (restarted 78 times), flappy (restarted 5 times).", "not running: segv"},
		evidence: map[string][]string{
			"crashy restarts": {"78 (75 since the last check)"},
			"flappy restarts": {"5 (2 since the last check)"},
			"flappy exit":     {"status=3 (exit-code)"},
			"flappy":          {"failed"},
		},
	}, {
		name: "restarted once, running again", states: only(first, "cups", "flappy"), prev: map[string]int{"flappy": 2},
		status: diag.StatusWarning, fix: "",
		summary:  []string{"Watched service stopped unexpectedly and was restarted: flappy."},
		evidence: map[string][]string{"flappy restarts": {"3 (1 since the last check)"}},
	}, {
		name: "restarted twice since the last run, running again", states: only(first, "flappy"), prev: map[string]int{"flappy": 1},
		status: diag.StatusFailing, fix: catalog.RestartService,
		summary: []string{"crash-looping (it keeps stopping and being restarted): flappy (restarted 3 times)."},
	}, {
		name: "restart count went down: a reset, not a crash", states: only(first, "flappy"), prev: map[string]int{"flappy": 9},
		status: diag.StatusOK, summary: []string{"Every watched service is running."},
		absent: []string{"flappy restarts"},
	}, {
		name: "all running", states: only(later, "cups", "cups.socket"), prev: firstCounts,
		status: diag.StatusOK, summary: []string{"Every watched service is running."},
		evidence: map[string][]string{"cups": {"active (running), pid 37"}, "cups.socket": {"active (running)"}},
	}, {
		// launchd (launchctl print): a KeepAlive job exiting 78, its runs
		// up by 3 since the last check.
		name: "launchd job relaunched", prev: map[string]int{"com.corp.vpn-helper": 10},
		states: []svcmgr.Status{{Name: "com.corp.vpn-helper", State: "not running", Restarts: 13, RestartsKnown: true,
			Exit: &svcmgr.Exit{Code: 78, Text: "EX_CONFIG"}}},
		status: diag.StatusFailing, fix: catalog.RestartService,
		summary:  []string{"crash-looping (it keeps stopping and being restarted): com.corp.vpn-helper (restarted 13 times)."},
		evidence: map[string][]string{"com.corp.vpn-helper exit": {"status=78 (EX_CONFIG)"}, "com.corp.vpn-helper restarts": {"13 (3 since the last check)"}},
	}, {
		// Windows (QueryServiceStatusEx): stopped with an exit code, no
		// restart count, no time.
		name: "Windows service stopped", states: []svcmgr.Status{{Name: "Spooler", State: "stopped",
			Exit: &svcmgr.Exit{Code: 1067, Text: "The process terminated unexpectedly."}}},
		status: diag.StatusFailing, fix: catalog.RestartService,
		summary:  []string{"Watched service not running: Spooler (failed)."},
		evidence: map[string][]string{"Spooler exit": {"status=1067 (The process terminated unexpectedly.)"}},
		absent:   []string{"Spooler restarts", "Spooler since"},
	}, {
		// What Query gives where the manager says only the state (an
		// old fixture, Windows without an exit code).
		name: "states only", states: []svcmgr.Status{{Name: "ssh", State: "active", Running: true},
			{Name: "cups.service", State: "failed"}, {Name: "extra", State: "unknown: not in systemctl's answer"}},
		status: diag.StatusFailing, fix: catalog.RestartService,
		summary: []string{"Watched service not running: cups.service, extra."},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			got := gradeServices(tt.states, tt.prev, logs, now)
			if got.Status != tt.status || got.Fix != tt.fix {
				t.Errorf("status %s fix %q, want %s %q: %+v", got.Status, got.Fix, tt.status, tt.fix, got)
			}
			rest := got.Summary
			for _, s := range tt.summary {
				i := strings.Index(rest, s)
				if i < 0 {
					t.Fatalf("summary %q does not have %q (in order)", got.Summary, s)
				}
				rest = rest[i+len(s):]
			}
			for label, want := range tt.evidence {
				if g := evidence(got, label); strings.Join(g, "\n") != strings.Join(want, "\n") {
					t.Errorf("evidence %q: %q, want %q", label, g, want)
				}
			}
			for _, label := range tt.absent {
				if g := evidence(got, label); len(g) > 0 {
					t.Errorf("evidence %q: %q, want none", label, g)
				}
			}
			for _, word := range []string{"status=", "signal=", "exit-code", "SIG"} {
				if strings.Contains(got.Summary, word) {
					t.Errorf("summary %q shows the user %q", got.Summary, word)
				}
			}
		})
	}
}

// TestServiceWatchLog: the log is read for a service in trouble, once
// per state: again only when the service changed.
func TestServiceWatchLog(t *testing.T) {
	first, later := serviceFixture(t, "show-first"), serviceFixture(t, "show-later")
	w := newServiceWatch()
	var reads []string
	w.lastLog = func(_ context.Context, name string) ([]string, error) {
		reads = append(reads, name)
		if name == "segv" {
			return nil, errors.New("journalctl exited with status 1")
		}
		return []string{name + " said something"}, nil
	}
	ctx := context.Background()
	for _, states := range [][]svcmgr.Status{first, first, later} {
		for _, s := range states {
			if serviceTrouble(s, nil) != troubleNone {
				w.log(ctx, s)
			}
		}
	}
	// crashy and segv, killed, nosuch on the first run; nothing new on
	// the second; crashy (restarted again) and flappy (stopped) on the
	// third.
	want := "crashy segv killed nosuch crashy flappy"
	if got := strings.Join(reads, " "); got != want {
		t.Errorf("logs read: %s, want %s", got, want)
	}
	c := gradeServices(only(first, "segv"), nil, map[string]serviceLog{"segv": w.logs["segv"]}, time.Now())
	if g := evidence(c, "segv log"); len(g) != 1 || !strings.Contains(g[0], "could not be read: journalctl exited with status 1") {
		t.Errorf("segv log: %q", g)
	}
}
