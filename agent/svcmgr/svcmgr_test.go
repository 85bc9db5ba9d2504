package svcmgr

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/tierline/tierline/shared/diag"
)

func read(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseSystemctlShow(t *testing.T) {
	got := ParseSystemctlShow(read(t, "systemctl-show"), []string{"ssh", "cups.service", "nosuch", "extra"}, time.UTC)
	want := []Status{
		{Name: "ssh", State: "active", Running: true},
		{Name: "cups.service", State: "failed"},
		{Name: "nosuch", State: "not installed"},
		{Name: "extra", State: "unknown: not in systemctl's answer"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestParseSystemctlShowFaults reads systemctl show as recorded on the
// test machine (Debian 12, systemd 252) with services failing in each
// way: a crash loop waiting for its next restart, a process killed by
// SIGSEGV and by SIGKILL, a service restarted three times and running
// again, a missing unit and a socket unit.
func TestParseSystemctlShowFaults(t *testing.T) {
	names := []string{"cups", "crashy", "segv", "killed", "flappy", "nosuch", "cups.socket"}
	got := ParseSystemctlShow(read(t, "systemctl-show-faults"), names, time.UTC)
	at := func(hms string) time.Time {
		tm, err := time.Parse("2006-01-02 15:04:05", "2026-12-06 "+hms)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	want := []Status{
		{Name: "cups", State: "active", Sub: "running", Running: true, PID: 37, RestartsKnown: true, Since: at("06:21:36")},
		{Name: "crashy", State: "activating", Sub: "auto-restart", Restarting: true, Restarts: 3, RestartsKnown: true,
			Exit: &Exit{Code: 1, Result: "exit-code"}, Since: at("06:24:23")},
		{Name: "segv", State: "failed", Sub: "failed", RestartsKnown: true, Exit: &Exit{Signal: 11, Result: "signal"}, Since: at("06:24:30")},
		{Name: "killed", State: "failed", Sub: "failed", RestartsKnown: true, Exit: &Exit{Signal: 9, Result: "signal"}, Since: at("06:24:18")},
		{Name: "flappy", State: "active", Sub: "running", Running: true, PID: 253, Restarts: 3, RestartsKnown: true, Since: at("06:24:35")},
		{Name: "nosuch", State: "not installed"},
		{Name: "cups.socket", State: "active", Sub: "running", Running: true, Since: at("06:21:36")},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for i, w := range []string{"", "status=1 (exit-code)", "signal=11/SIGSEGV (signal)", "signal=9/SIGKILL (signal)"} {
		if got[i].Exit != nil && got[i].Exit.String() != w {
			t.Errorf("%s: exit %q, want %q", got[i].Name, got[i].Exit, w)
		}
	}
}

func TestExit(t *testing.T) {
	for _, tt := range []struct {
		e      Exit
		want   string
		failed bool
	}{
		{Exit{Code: 0, Result: "success"}, "status=0", false},
		{Exit{Code: 1, Result: "exit-code"}, "status=1 (exit-code)", true},
		{*mainExit(3, 11, "core-dump"), "signal=11/SIGSEGV, core dumped (core-dump)", true},
		{*mainExit(2, 15, "timeout"), "signal=15/SIGTERM (timeout)", true},
		{*mainExit(2, 64, "signal"), "signal=64 (signal)", true},
		{Exit{Code: 78, Text: "EX_CONFIG"}, "status=78 (EX_CONFIG)", true},
		{Exit{Code: 0, Result: "start-limit-hit"}, "status=0 (start-limit-hit)", true},
	} {
		if got := tt.e.String(); got != tt.want || tt.e.Failed() != tt.failed {
			t.Errorf("%+v: %q failed=%v, want %q failed=%v", tt.e, got, tt.e.Failed(), tt.want, tt.failed)
		}
	}
	if mainExit(0, 0, "success") != nil {
		t.Error("a main process that has not ended has an exit")
	}
}

func TestParseLog(t *testing.T) {
	if got, want := ParseLog(read(t, "journal-crashy")), []string{
		"Stopped crashy.service - Crashy, a service that needs /etc/crashy.conf.",
		"Started crashy.service - Crashy, a service that needs /etc/crashy.conf.",
		"crashy: /etc/crashy.conf is missing",
		"crashy.service: Main process exited, code=exited, status=1/FAILURE",
		"crashy.service: Failed with result 'exit-code'.",
	}; !cmp.Equal(want, got) {
		t.Errorf("crashy: %q", got)
	}
	// Six lines (one blank): the first is dropped; control characters
	// and tabs are replaced, the long line is cut.
	got := ParseLog(read(t, "journal-noisy"))
	long := "line 4: " + strings.Repeat("x", MaxLogLine-len("line 4: ")) + "…"
	want := []string{"Started noisy.service.", "?[31mnoisy: ?colour? and a tab here", "line 2", "line 3", long}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("noisy (-want +got):\n%s", diff)
	}
	if ParseLog("") != nil {
		t.Error("lines from nothing")
	}
}

func TestParseLaunchctlPrint(t *testing.T) {
	got := []Status{
		ParseLaunchctlPrint(read(t, "launchctl-print-crashing"), "com.corp.vpn-helper"),
		ParseLaunchctlPrint(read(t, "launchctl-print-running"), "com.openssh.sshd"),
		ParseLaunchctlPrint(read(t, "launchctl-print-killed"), "com.crowdstrike.falcond"),
		ParseLaunchctlPrint("Could not find service \"x\" in domain for port\n", "x"),
		ParseLaunchctlPrint("system/y = {\n\tstate = spawn scheduled\n\truns = 1\n\tlast exit code = 1\n}\n", "y"),
	}
	want := []Status{
		{Name: "com.corp.vpn-helper", State: "not running", Restarts: 13, RestartsKnown: true, Exit: &Exit{Code: 78, Text: "EX_CONFIG"}},
		{Name: "com.openssh.sshd", State: "running", Running: true, PID: 16090, Restarts: 1, RestartsKnown: true, Exit: &Exit{Signal: 15, Text: "Terminated"}},
		{Name: "com.crowdstrike.falcond", State: "not running", Restarts: 2, RestartsKnown: true, Exit: &Exit{Signal: 11, Text: "Segmentation fault"}},
		{Name: "x", State: "unknown: no state in launchctl's answer"},
		{Name: "y", State: "spawn scheduled", Restarting: true, RestartsKnown: true, Exit: &Exit{Code: 1}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParseSystemctlListUnits(t *testing.T) {
	got := ParseSystemctlListUnits(read(t, "systemctl-list-units"))
	want := map[string]string{
		"ssh.service": "running", "cups.service": "failed", "cron.service": "running",
		"systemd-fsck@dev-sda1.service": "exited", "nfs-server.service": "dead",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestLaunchd(t *testing.T) {
	jobs := ParseLaunchctlList(read(t, "launchctl-list"))
	if len(jobs) != 6 {
		t.Fatalf("%d jobs: %+v", len(jobs), jobs)
	}
	for label, want := range map[string]string{
		"com.openssh.sshd":                    "running",
		"com.crowdstrike.falcond":             "running",
		"com.corp.vpn-helper":                 "failed (exit 78)",
		"com.apple.mdworker.shared":           "stopped (killed by signal 9)",
		"com.apple.SafariHistoryServiceAgent": "stopped",
	} {
		if got := jobs[label].State(); got != want {
			t.Errorf("%s: %q, want %q", label, got, want)
		}
	}
}

func TestLaunchdServices(t *testing.T) {
	jobs := ParseLaunchctlList(read(t, "launchctl-list"))
	got := launchdServices("testdata/launchd", jobs)
	want := []diag.Service{
		{Name: "com.apple.mdworker.shared", State: "stopped (killed by signal 9)", Enabled: true},
		{Name: "com.openssh.sshd", State: "running", Enabled: true},
		{Name: "com.corp.vpn-helper", State: "failed (exit 78)", Enabled: true},
		{Name: "com.crowdstrike.falcond", State: "running", Enabled: true},
		{Name: "org.example.oldtool", State: "not loaded"},
		{Name: "com.broken.agent", State: "user agent", Enabled: true},
		{Name: "com.corp.tray", State: "user agent", Enabled: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Without launchctl's answer the jobs are listed, states unknown.
	for _, s := range launchdServices("testdata/launchd", nil) {
		if s.State != "unknown" {
			t.Errorf("%s: %q without launchctl", s.Name, s.State)
		}
	}
}

func TestUnitName(t *testing.T) {
	for in, want := range map[string]string{"cups": "cups.service", "cups.service": "cups.service", "cups.socket": "cups.socket"} {
		if got := UnitName(in); got != want {
			t.Errorf("UnitName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSameName(t *testing.T) {
	for _, tt := range []struct {
		goos, a, b string
		same       bool
	}{
		{"linux", "cups", "cups", true},
		{"linux", "cups", "cups.service", true},
		{"linux", "cups.service", "cups", true},
		{"linux", "cups", "Cups", false},
		{"linux", "cups", "cups.socket", false},
		{"windows", "Spooler", "spooler", true},
		{"windows", "Spooler", "Spooler.service", false},
		{"darwin", "org.cups.cupsd", "org.cups.cupsd", true},
		{"darwin", "org.cups.cupsd", "ORG.cups.cupsd", false},
		{"darwin", "org.cups.cupsd.service", "org.cups.cupsd", false},
	} {
		if got := SameName(tt.goos, tt.a, tt.b); got != tt.same {
			t.Errorf("SameName(%s, %q, %q) = %v", tt.goos, tt.a, tt.b, got)
		}
	}
}

func FuzzServiceParsers(f *testing.F) {
	for _, p := range []string{"systemctl-show", "systemctl-show-faults", "systemctl-list-units", "launchctl-list",
		"launchctl-print-crashing", "launchctl-print-running", "journal-crashy", "journal-noisy",
		"launchd/Library/LaunchDaemons/org.example.oldtool.plist"} {
		f.Add(read(f, p))
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := ParseSystemctlShow(s, []string{"a", "b"}, time.UTC)
		if len(got) != 2 {
			t.Errorf("%d states for 2 names", len(got))
		}
		for _, st := range append(got, ParseLaunchctlPrint(s, "a")) {
			if st.State == "" || st.PID < 0 || st.Restarts < 0 || (st.PID > 0 && !st.Running) {
				t.Errorf("bad status %+v", st)
			}
			if st.Exit != nil && st.Exit.String() == "" {
				t.Errorf("exit without words: %+v", st.Exit)
			}
		}
		lines := ParseLog(s)
		if len(lines) > MaxLogLines {
			t.Errorf("%d log lines", len(lines))
		}
		for _, l := range lines {
			if l == "" || len(l) > MaxLogLine+len("…") || !utf8.ValidString(l) || strings.ContainsAny(l, "\x00\x1b\r\n\t") {
				t.Errorf("log line %q", l)
			}
		}
		for name := range ParseSystemctlListUnits(s) {
			if name == "" {
				t.Error("empty unit name")
			}
		}
		for _, j := range ParseLaunchctlList(s) {
			if j.PID < 0 || j.State() == "" {
				t.Errorf("bad job %+v", j)
			}
		}
		if label, _, ok := parseLaunchdPlist([]byte(s)); ok && label == "" {
			t.Error("ok without a label")
		}
	})
}
