package svcmgr

import (
	"os"
	"path/filepath"
	"testing"

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
	got := ParseSystemctlShow(read(t, "systemctl-show"), []string{"ssh", "cups.service", "nosuch", "extra"})
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
	got := launchdStates(jobs, []string{"com.openssh.sshd", "com.corp.vpn-helper", "com.example.gone"})
	want := []Status{
		{Name: "com.openssh.sshd", State: "running", Running: true},
		{Name: "com.corp.vpn-helper", State: "failed (exit 78)"},
		{Name: "com.example.gone", State: "not loaded"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
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
	for _, p := range []string{"systemctl-show", "systemctl-list-units", "launchctl-list",
		"launchd/Library/LaunchDaemons/org.example.oldtool.plist"} {
		f.Add(read(f, p))
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got := ParseSystemctlShow(s, []string{"a", "b"}); len(got) != 2 {
			t.Errorf("%d states for 2 names", len(got))
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
