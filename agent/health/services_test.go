package health

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tierline/tierline/agent/execx"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

func TestParseSystemctlShow(t *testing.T) {
	got := ParseSystemctlShow(string(read(t, "services/systemctl-show")), []string{"ssh", "cups.service", "nosuch", "extra"})
	want := []serviceState{
		{Name: "ssh", State: "active", Running: true},
		{Name: "cups.service", State: "failed"},
		{Name: "nosuch", State: "not installed"},
		{Name: "extra", State: "unknown: not in systemctl's answer"},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(serviceState{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := gradeServices(got); got.Status != diag.StatusFailing || got.Fix != catalog.RestartService ||
		!strings.Contains(got.Summary, "cups.service, nosuch, extra") {
		t.Errorf("grade: %+v", got)
	}
}

func TestLaunchd(t *testing.T) {
	jobs := ParseLaunchctlList(string(read(t, "services/launchctl-list")))
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
	want := []serviceState{
		{Name: "com.openssh.sshd", State: "running", Running: true},
		{Name: "com.corp.vpn-helper", State: "failed (exit 78)"},
		{Name: "com.example.gone", State: "not loaded"},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(serviceState{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestMacPendingReboot(t *testing.T) {
	tests := []struct {
		file   string
		status diag.Status
		text   string
	}{
		{"macos/SoftwareUpdate-pending.plist", diag.StatusWarning, "macOS Sonoma 14.7 14.7"},
		{"macos/SoftwareUpdate-safari-only.plist", diag.StatusOK, "1, none needing a restart"},
		{"macos/SoftwareUpdate-none.plist", diag.StatusOK, "0, none needing a restart"},
	}
	for _, tt := range tests {
		u, err := ParseSoftwareUpdatePlist(read(t, tt.file))
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		got := gradeMacUpdates(u)
		if got.Status != tt.status || len(got.Evidence) == 0 || got.Evidence[0].Value != tt.text {
			t.Errorf("%s: %+v", tt.file, got)
		}
		if tt.status == diag.StatusWarning && got.Fix != catalog.ScheduleReboot {
			t.Errorf("%s: fix %q", tt.file, got.Fix)
		}
	}
	if _, err := ParseSoftwareUpdatePlist([]byte("not a plist")); err == nil {
		t.Error("garbage parsed")
	}
}

// fakeRun replaces run for one test with a function of the argv.
func fakeRun(t *testing.T, f func(argv []string) (string, error)) *[]string {
	t.Helper()
	old := run
	t.Cleanup(func() { run = old })
	var ran []string
	run = func(_ context.Context, c execx.Cmd) (execx.Result, error) {
		ran = append(ran, strings.Join(c.Argv, " "))
		out, err := f(c.Argv)
		return execx.Result{Argv: c.Argv, Output: out, Err: err}, err
	}
	return &ran
}

func FuzzServiceParsers(f *testing.F) {
	for _, p := range []string{"services/systemctl-show", "services/launchctl-list", "macos/SoftwareUpdate-pending.plist"} {
		f.Add(string(read(f, p)))
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got := ParseSystemctlShow(s, []string{"a", "b"}); len(got) != 2 {
			t.Errorf("%d states for 2 names", len(got))
		}
		for _, j := range ParseLaunchctlList(s) {
			if j.PID < 0 || j.State() == "" {
				t.Errorf("bad job %+v", j)
			}
		}
		if u, err := ParseSoftwareUpdatePlist([]byte(s)); err == nil {
			gradeMacUpdates(u)
		}
	})
}
