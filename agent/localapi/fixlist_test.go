package localapi

import (
	"context"
	"strings"
	"testing"

	"github.com/tierline/tierline/agent/fixes"
	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

// TestFixListSaysWhatAppliesHere: the fixes operation marks a fix that
// would only come back not_applicable on this machine (CUPS installed but
// systemd not running, no DNS cache) as not applicable with the plain
// reason, so Get help and the tray never offer it; each fix says the
// worst status of the checks it addresses.
func TestFixListSaysWhatAppliesHere(t *testing.T) {
	f := newOpsFixture(t)
	tools := map[string]bool{"systemctl": true, "cupsd": true, "cupsenable": true, "cupsaccept": true, "cancel": true, "lpstat": true}
	f.ops.machine = func() fixes.Machine {
		return fixes.Machine{GOOS: catalog.Linux, SystemdNotRunning: true, Has: func(p string) bool { return tools[p] }}
	}
	f.ops.SetChecks([]diag.CheckResult{
		{Name: "printer-stopped", Status: diag.StatusWarning, Fix: catalog.ResumePrinter},
		{Name: "print-jobs-stuck", Status: diag.StatusFailing, Fix: catalog.CancelPrintJobs},
	})
	user := localipc.Caller{UID: 1001, User: "alice"}
	got := map[string]localipc.Fix{}
	for _, x := range f.ops.fixList(context.Background(), user).Fixes {
		got[x.ID] = x
	}
	for id, want := range map[string]string{
		catalog.RestartPrintSpooler: "it does not run systemd",
		catalog.FlushDNS:            "neither resolvectl (systemd-resolved) nor nscd is installed",
	} {
		if x := got[id]; x.Applicable || x.Reason == "" || !strings.Contains(x.Reason, want) {
			t.Errorf("%s: applicable %v, reason %q; want not applicable saying %q", id, x.Applicable, x.Reason, want)
		}
	}
	for _, id := range []string{catalog.ResumePrinter, catalog.CancelPrintJobs, catalog.ClearTemp} {
		if x := got[id]; !x.Applicable {
			t.Errorf("%s: not applicable (%q); CUPS's tools are installed", id, x.Reason)
		}
	}
	if x := got[catalog.ResumePrinter]; x.Worst != "warning" {
		t.Errorf("resume-printer addresses %v, worst %q; want warning", x.Addresses, x.Worst)
	}
	if x := got[catalog.ResumePrinter]; !x.Suggested {
		t.Error("resume-printer is not marked as the fix printer-stopped names")
	}
	if x := got[catalog.RestartPrintSpooler]; x.Suggested || len(x.Addresses) != 2 {
		t.Errorf("restart-print-spooler addresses %v, suggested %v; want both printing checks, suggested by neither", x.Addresses, x.Suggested)
	}
	if x := got[catalog.CancelPrintJobs]; x.Worst != "failing" {
		t.Errorf("cancel-print-jobs addresses %v, worst %q; want failing", x.Addresses, x.Worst)
	}
	if x := got[catalog.ClearTemp]; x.Worst != "" || len(x.Addresses) != 0 {
		t.Errorf("clear-temp addresses %v (%q); want none", x.Addresses, x.Worst)
	}
	if _, ok := got[catalog.ResetNetwork]; ok {
		t.Error("a user's list holds the Tier 1 reset-network")
	}
}
