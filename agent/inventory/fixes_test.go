package inventory

import (
	"context"
	"runtime"
	"strings"
	"testing"

	"github.com/tierline/tierline/agent/fixes"
	"github.com/tierline/tierline/shared/wire"
)

// TestInventoryNamesFixesNotApplicable: the inventory says which fixes do
// not apply to this machine and why, as `tierline-agent fixes` does (on a
// host without CUPS or without systemd running, restart-print-spooler is
// one of them), and the hub accepts it.
func TestInventoryNamesFixesNotApplicable(t *testing.T) {
	inv, err := CollectWithConfig(context.Background(), Config{Disabled: []string{"software", "services", "updates", "gpu", "disks"},
		FixesNotApplicable: func() map[string]string { return fixes.NotApplicable(fixes.LocalMachine()) }})
	if err != nil {
		t.Fatal(err)
	}
	listing := fixes.List(fixes.Policy{MaxTier: 3}, fixes.LocalMachine())
	n := 0
	for _, l := range listing.Fixes {
		why, ok := strings.CutPrefix(l.Why, "not applicable here: ")
		if !ok {
			if got := inv.FixesNotApplicable[l.ID]; got != "" {
				t.Errorf("%s: inventory says %q; the listing says %q", l.ID, got, l.Why)
			}
			continue
		}
		n++
		if got := inv.FixesNotApplicable[l.ID]; got != why {
			t.Errorf("%s: inventory says %q; the listing says %q", l.ID, got, why)
		}
	}
	t.Logf("%d fixes do not apply on this %s machine: %v", n, runtime.GOOS, inv.FixesNotApplicable)
	if err := (wire.Inventory{Inventory: inv}).Validate(); err != nil {
		t.Errorf("the hub refuses the inventory: %v", err)
	}
}
