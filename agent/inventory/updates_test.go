package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tierline/tierline/shared/diag"
)

func updatesFixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "updates", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseAptSimulate(t *testing.T) {
	// Recorded on a Debian 12 machine behind on its updates.
	ups := ParseAptSimulate(updatesFixture(t, "apt-simulate-debian12.txt"))
	var st diag.UpdateStatus
	setPending(&st, ups)
	if st.Pending != 118 || st.Security != 78 {
		t.Errorf("pending %d, security %d; want 118 and 78", st.Pending, st.Security)
	}
	byName := map[string]diag.PendingUpdate{}
	for _, u := range ups {
		byName[u.Name] = u
	}
	if u := byName["base-files"]; u.Version != "12.4+deb12u15" || u.Security {
		t.Errorf("base-files = %+v, want 12.4+deb12u15 from the point release, not security", u)
	}
	if u := byName["libgcrypt20-dev"]; u.Version != "1.10.1-3+deb12u1" || !u.Security {
		t.Errorf("libgcrypt20-dev = %+v, want 1.10.1-3+deb12u1 from Debian-Security", u)
	}
	if !st.Packages[0].Security || len(st.Packages) != 100 {
		t.Errorf("package list: %d entries, first %+v; want at most 100, security first", len(st.Packages), st.Packages[0])
	}
	ubuntu := "Inst libssl3 [3.0.2-0ubuntu1.10] (3.0.2-0ubuntu1.12 Ubuntu:22.04/jammy-updates, Ubuntu:22.04/jammy-security [amd64])\nConf libssl3 (3.0.2-0ubuntu1.12 Ubuntu:22.04/jammy-updates [amd64])\n"
	if got := ParseAptSimulate(ubuntu); len(got) != 1 || !got[0].Security || got[0].Version != "3.0.2-0ubuntu1.12" {
		t.Errorf("Ubuntu jammy-security: %+v", got)
	}
	if got := ParseAptSimulate("Reading package lists...\n0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n"); len(got) != 0 {
		t.Errorf("nothing pending: %+v", got)
	}
}

func TestParseAptHistory(t *testing.T) {
	// The tail of a real history.log: its first block is cut and skipped.
	got := ParseAptHistory(updatesFixture(t, "apt-history.log"))
	want := time.Date(2026, 12, 6, 4, 16, 30, 0, time.Local)
	if !got.Equal(want) {
		t.Errorf("last successful run = %s, want %s", got, want)
	}
	failed := "Start-Date: 2026-12-07  06:00:01\nCommandline: apt-get upgrade\nUpgrade: bash:amd64 (5.2.15-2+b8, 5.2.15-2+b13)\nError: Sub-process /usr/bin/dpkg returned an error code (1)\nEnd-Date: 2026-12-07  06:00:09\n"
	if got := ParseAptHistory(updatesFixture(t, "apt-history.log") + "\n" + failed); !got.Equal(want) {
		t.Errorf("a failed run counted: %s", got)
	}
}

func TestParseAptPeriodic(t *testing.T) {
	for _, tt := range []struct{ file, want string }{
		{"apt-conf-unattended.txt", "security"},
		{"apt-conf-off.txt", "off"},
	} {
		if got, detail := ParseAptPeriodic(updatesFixture(t, tt.file)); got != tt.want || detail == "" {
			t.Errorf("%s: %q (%s), want %q", tt.file, got, detail, tt.want)
		}
	}
	all := updatesFixture(t, "apt-conf-unattended.txt") + "\nUnattended-Upgrade::Origins-Pattern { \"origin=Debian,codename=${distro_codename}-updates\"; };\n"
	if got, _ := ParseAptPeriodic(all); got != "all" {
		t.Errorf("with -updates in the origins: %q, want all", got)
	}
	if got, _ := ParseAptPeriodic(""); got != "off" {
		t.Errorf("nothing configured: %q, want off", got)
	}
}

func TestParseDnf(t *testing.T) {
	ups := ParseDnfCheckUpdate(updatesFixture(t, "dnf-check-update.txt"))
	sec := ParseDnfSecurity(updatesFixture(t, "dnf-updateinfo-security.txt"))
	for i := range ups {
		ups[i].Security = sec[ups[i].Name]
	}
	want := []diag.PendingUpdate{
		{Name: "firefox", Version: "120.0.1-1.fc39", Security: true},
		{Name: "kernel", Version: "6.6.7-200.fc39", Security: true},
		{Name: "kernel-core", Version: "6.6.7-200.fc39"},
		{Name: "openssl-libs", Version: "1:3.1.1-4.fc39", Security: true},
		{Name: "vim-minimal", Version: "2:9.0.2153-1.fc39"},
	}
	if diff := cmp.Diff(want, ups); diff != "" {
		t.Errorf("dnf pending (-want +got):\n%s", diff)
	}
	if got := ParseDnfHistory(updatesFixture(t, "dnf-history.txt")); !got.Equal(time.Date(2023, 12, 10, 6, 2, 0, 0, time.Local)) {
		t.Errorf("last dnf upgrade = %s, want 2023-12-10 06:02", got)
	}
	if got, _ := ParseDnfAutomatic(updatesFixture(t, "dnf-automatic.conf"), true); got != "security" {
		t.Errorf("dnf-automatic with upgrade_type security: %q", got)
	}
	if got, _ := ParseDnfAutomatic(updatesFixture(t, "dnf-automatic.conf"), false); got != "off" {
		t.Errorf("dnf-automatic without its timer: %q, want off", got)
	}
	if got, _ := ParseDnfAutomatic("[commands]\napply_updates = no\ndownload_updates = yes\n", true); got != "download" {
		t.Errorf("download only: %q", got)
	}
}

func TestParseWindowsUpdates(t *testing.T) {
	st, err := ParseWindowsUpdates(updatesFixture(t, "wua.json"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Pending != 4 || st.Security != 2 {
		t.Errorf("pending %d, security %d; want 4 and 2", st.Pending, st.Security)
	}
	if want := time.Date(2023, 11, 14, 8, 0, 0, 0, time.UTC); !st.OldestSecurity.Equal(want) {
		t.Errorf("oldest security update %s, want %s (the .NET update)", st.OldestSecurity, want)
	}
	if want := time.Date(2023, 10, 2, 7, 0, 0, 0, time.UTC); !st.OldestPending.Equal(want) {
		t.Errorf("oldest update %s, want %s (the driver)", st.OldestPending, want)
	}
	if !st.LastSuccess.Equal(time.Date(2023, 11, 20, 3, 12, 44, 0, time.UTC)) || st.Automatic != "all" {
		t.Errorf("last success %s, automatic %q", st.LastSuccess, st.Automatic)
	}
	if !strings.Contains(st.Packages[0].Name, "KB5033375") || !st.Packages[0].Security {
		t.Errorf("first package %+v, want the cumulative update", st.Packages[0])
	}
	off, err := ParseWindowsUpdates(updatesFixture(t, "wua-policy-off.json"))
	if err != nil || off.Automatic != "off" || !strings.Contains(off.AutomaticDetail, "NoAutoUpdate") || off.Pending != 0 || !off.LastSuccess.IsZero() {
		t.Errorf("policy off: %+v, %v", off, err)
	}
	if _, err := ParseWindowsUpdates("Exception calling \"Search\" with \"1\" argument(s): \"0x8024402C\""); err == nil {
		t.Error("an error message from PowerShell parsed as a result")
	}
}

func TestParseSoftwareUpdate(t *testing.T) {
	ups := ParseSoftwareUpdateList(updatesFixture(t, "softwareupdate-l.txt"))
	want := []diag.PendingUpdate{
		{Name: "macOS Sonoma 14.2.1", Version: "14.2.1", Security: true},
		{Name: "Safari", Version: "17.2.1"},
		{Name: "Command Line Tools for Xcode", Version: "15.1"},
		{Name: "XProtectPlistConfigData", Version: "5212", Security: true},
	}
	if diff := cmp.Diff(want, ups); diff != "" {
		t.Errorf("softwareupdate -l (-want +got):\n%s", diff)
	}
	if got, _ := ParseSoftwareUpdateSchedule(updatesFixture(t, "softwareupdate-schedule.txt")); got != "download" {
		t.Errorf("schedule: %q", got)
	}
	if got := ParseSoftwareUpdateList("Software Update Tool\n\nFinding available software\nNo new software available.\n"); len(got) != 0 {
		t.Errorf("nothing pending: %+v", got)
	}
}

func TestPendingSince(t *testing.T) {
	p := &pendingSince{first: map[string]time.Time{}}
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	a := diag.PendingUpdate{Name: "libssl3", Version: "3.0.11-1~deb12u2", Security: true}
	b := diag.PendingUpdate{Name: "bash", Version: "5.2.15-2+b13"}
	var st diag.UpdateStatus
	p.stamp(&st, []diag.PendingUpdate{a}, t0)
	st = diag.UpdateStatus{}
	p.stamp(&st, []diag.PendingUpdate{a, b}, t0.Add(48*time.Hour))
	if !st.OldestSecurity.Equal(t0) || !st.OldestPending.Equal(t0) {
		t.Errorf("after two days: oldest security %s, oldest %s; want both %s", st.OldestSecurity, st.OldestPending, t0)
	}
	// A newer version of the same package is a new pending update.
	a2 := a
	a2.Version = "3.0.11-1~deb12u3"
	st = diag.UpdateStatus{}
	p.stamp(&st, []diag.PendingUpdate{a2, b}, t0.Add(72*time.Hour))
	if !st.OldestSecurity.Equal(t0.Add(72*time.Hour)) || !st.OldestPending.Equal(t0.Add(48*time.Hour)) {
		t.Errorf("after a new version: oldest security %s, oldest %s", st.OldestSecurity, st.OldestPending)
	}
}

func FuzzParseUpdates(f *testing.F) {
	for _, name := range []string{"apt-simulate-debian12.txt", "apt-history.log", "apt-conf-unattended.txt", "dnf-check-update.txt",
		"dnf-updateinfo-security.txt", "dnf-history.txt", "dnf-automatic.conf", "wua.json", "softwareupdate-l.txt"} {
		f.Add(updatesFixture(f, name))
	}
	f.Fuzz(func(t *testing.T, s string) {
		ParseAptSimulate(s)
		ParseAptHistory(s)
		ParseAptPeriodic(s)
		ParseDnfCheckUpdate(s)
		ParseDnfSecurity(s)
		ParseDnfAutomatic(s, true)
		ParseDnfHistory(s)
		ParseSoftwareUpdateList(s)
		ParseSoftwareUpdateSchedule(s)
		if st, err := ParseWindowsUpdates(s); err == nil && (st.Security > st.Pending || len(st.Packages) > diag.MaxPendingUpdates) {
			t.Fatalf("windows: %d security of %d pending, %d packages", st.Security, st.Pending, len(st.Packages))
		}
	})
}
