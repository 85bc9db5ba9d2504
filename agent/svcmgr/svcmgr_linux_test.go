package svcmgr

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/tierline/tierline/shared/diag"
)

// fakeRun replaces output for one test with a function of the argv and
// returns the commands run.
func fakeRun(t *testing.T, f func(argv []string) (string, error)) *[]string {
	t.Helper()
	old := output
	t.Cleanup(func() { output = old })
	var ran []string
	output = func(_ context.Context, _ time.Duration, _ int, argv ...string) (string, error) {
		ran = append(ran, strings.Join(argv, " "))
		return f(argv)
	}
	return &ran
}

// noBus takes the system bus away for one test, as in a container.
func noBus(t *testing.T) {
	t.Helper()
	old := connectBus
	queryBus.reset()
	t.Cleanup(func() { connectBus = old; queryBus.reset() })
	connectBus = func(...dbus.ConnOption) (*dbus.Conn, error) { return nil, errors.New("no system bus") }
}

var errNoSystemd = errors.New("systemctl exited with status 1")

const noSystemd = "System has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: Host is down\n"

func TestUnitFiles(t *testing.T) {
	got := UnitFiles("testdata/systemd")
	want := map[string]bool{"ssh.service": true, "cups.service": false, "local-backup.service": true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestSystemctlFallback(t *testing.T) {
	show := read(t, "systemctl-show")
	ran := fakeRun(t, func([]string) (string, error) { return show, nil })
	got, err := systemctlStates(context.Background(), []string{"ssh", "cups", "nosuch"})
	if err != nil || len(got) != 3 || !got[0].Running || got[1].State != "failed" {
		t.Errorf("states %+v, %v", got, err)
	}
	if want := []string{"systemctl show --property=" + ShowProperties + " -- ssh.service cups.service nosuch.service"}; !cmp.Equal(want, *ran) {
		t.Errorf("ran %q", *ran)
	}
	fakeRun(t, func([]string) (string, error) { return noSystemd, errNoSystemd })
	if _, err := systemctlStates(context.Background(), []string{"ssh"}); err == nil || !strings.Contains(err.Error(), "not been booted with systemd") {
		t.Errorf("no systemd: %v", err)
	}
}

func TestQueryWithoutBus(t *testing.T) {
	noBus(t)
	show := read(t, "systemctl-show")
	fakeRun(t, func([]string) (string, error) { return show, nil })
	got, err := Query(context.Background(), []string{"ssh", "cups", "nosuch"})
	want := []Status{{Name: "ssh", State: "active", Running: true}, {Name: "cups", State: "failed"}, {Name: "nosuch", State: "not installed"}}
	if diff := cmp.Diff(want, got); err != nil || diff != "" {
		t.Errorf("%v (-want +got):\n%s", err, diff)
	}
	fakeRun(t, func([]string) (string, error) { return noSystemd, errNoSystemd })
	if _, err := Query(context.Background(), []string{"ssh"}); err == nil ||
		!strings.Contains(err.Error(), "no system bus") || !strings.Contains(err.Error(), "not been booted with systemd") {
		t.Errorf("neither bus nor systemctl: %v", err)
	}
}

func TestListWithoutBus(t *testing.T) {
	noBus(t)
	units := read(t, "systemctl-list-units")
	ran := fakeRun(t, func([]string) (string, error) { return units, nil })
	got, err := List(context.Background(), ListOptions{Root: "testdata/systemd", Commands: true})
	slices.SortFunc(got, func(a, b diag.Service) int { return strings.Compare(a.Name, b.Name) })
	want := []diag.Service{
		{Name: "cups", State: "failed"},
		{Name: "local-backup", State: "inactive", Enabled: true},
		{Name: "ssh", State: "running", Enabled: true},
	}
	if diff := cmp.Diff(want, got); err != nil || diff != "" {
		t.Errorf("%v (-want +got):\n%s", err, diff)
	}
	if want := []string{"systemctl list-units --type=service --all --no-legend --plain"}; !cmp.Equal(want, *ran) {
		t.Errorf("ran %q", *ran)
	}

	// systemctl fails too: unit files listed, states unknown, and why.
	fakeRun(t, func([]string) (string, error) { return noSystemd, errNoSystemd })
	got, err = List(context.Background(), ListOptions{Root: "testdata/systemd", Commands: true})
	var na *NotAvailableError
	if !errors.As(err, &na) || na.Reason != "service states unknown (systemd not reachable: no system bus; systemctl: "+
		"systemctl exited with status 1 (System has not been booted with systemd as init system (PID 1). Can't operate.)); unit files listed" {
		t.Errorf("no systemd: %v", err)
	}
	if len(got) != 3 || got[0].State != "unknown" {
		t.Errorf("no systemd: %+v", got)
	}

	// From a fixture root nothing runs.
	ran = fakeRun(t, func([]string) (string, error) { return units, nil })
	if _, err := List(context.Background(), ListOptions{Root: "testdata/systemd"}); !errors.As(err, &na) || len(*ran) != 0 {
		t.Errorf("fixture root: %v, ran %q", err, *ran)
	}

	// No unit files at all.
	if got, err := List(context.Background(), ListOptions{Root: t.TempDir()}); got != nil || !errors.As(err, &na) || na.Reason != "no systemd unit files" {
		t.Errorf("empty root: %+v, %v", got, err)
	}
}

// TestLive asks this machine's service manager, whatever it is (systemd
// over the bus, systemctl, or none in a container): a service that does
// not exist is never running, and List fails only as "not available".
func TestLive(t *testing.T) {
	ctx := context.Background()
	st, err := Query(ctx, []string{"tierline-no-such-unit"})
	if err == nil && (len(st) != 1 || st[0].Running || st[0].Name != "tierline-no-such-unit") {
		t.Errorf("no such unit: %+v", st)
	}
	t.Logf("query: %+v, %v", st, err)
	svcs, err := List(ctx, ListOptions{Commands: true})
	var na *NotAvailableError
	if err != nil && !errors.As(err, &na) {
		t.Errorf("list: %v", err)
	}
	for _, s := range svcs {
		if s.Name == "" || strings.HasSuffix(s.Name, ".service") || s.State == "" {
			t.Errorf("list: %+v", s)
		}
	}
	t.Logf("list: %d services, %v", len(svcs), err)
}
