package inventory

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tierline/tierline/agent/health"
	"github.com/tierline/tierline/shared/diag"
)

func TestParseSystemctlListUnits(t *testing.T) {
	got := ParseSystemctlListUnits(fixture(t, "systemd/list-units"))
	want := map[string]string{
		"ssh.service": "running", "cups.service": "failed", "cron.service": "running",
		"systemd-fsck@dev-sda1.service": "exited", "nfs-server.service": "dead",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestLaunchdServices(t *testing.T) {
	jobs := health.ParseLaunchctlList(fixture(t, "launchd/launchctl-list"))
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

func FuzzServiceParsers(f *testing.F) {
	f.Add(fixture(f, "systemd/list-units"))
	b, _ := os.ReadFile("testdata/launchd/Library/LaunchDaemons/org.example.oldtool.plist")
	f.Add(string(b))
	f.Fuzz(func(t *testing.T, s string) {
		for name := range ParseSystemctlListUnits(s) {
			if name == "" {
				t.Error("empty unit name")
			}
		}
		if label, _, ok := parseLaunchdPlist([]byte(s)); ok && label == "" {
			t.Error("ok without a label")
		}
	})
}
