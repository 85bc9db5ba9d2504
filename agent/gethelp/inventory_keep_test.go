package gethelp

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/health"
	"github.com/tierline/tierline/agent/history"
	"github.com/tierline/tierline/shared/diag"
)

// TestSnapshotInventoryKept: the desk keeps only the packages and services
// a help request's snapshot carries, as copies: the snapshot lists the
// first snapshotListMax with the machine's totals, the same entries the
// inventory had, whatever the caller does with its inventory afterwards.
func TestSnapshotInventoryKept(t *testing.T) {
	installed := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	big := diag.Inventory{Hostname: "pc-7", Hash: "h1", Updates: &diag.UpdateStatus{Pending: 3}}
	for i := range snapshotListMax + 50 {
		s := diag.Software{Name: fmt.Sprintf("pkg-%03d", i), Version: fmt.Sprintf("1.%d", i), Source: "dpkg"}
		if i%2 == 0 {
			s.Publisher, s.Installed = "Debian", installed
		}
		big.Software = append(big.Software, s)
	}
	for i := range snapshotListMax + 10 {
		big.Services = append(big.Services, diag.Service{Name: fmt.Sprintf("svc-%03d.service", i), State: "running", Enabled: i%3 == 0})
	}
	small := diag.Inventory{Hostname: "pc-8", Software: []diag.Software{{Name: "firefox", Version: "128.0"}, {Name: "cups", Source: "dpkg"}}}
	for _, tc := range []struct {
		name                   string
		inv                    diag.Inventory
		soft, svcs             int
		softTotal, servicesTot int
	}{
		{"cut", big, snapshotListMax, snapshotListMax, snapshotListMax + 50, snapshotListMax + 10},
		{"whole", small, 2, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.inv
			want.Software = append([]diag.Software(nil), tc.inv.Software...)
			want.Services = append([]diag.Service(nil), tc.inv.Services...)
			d := NewDesk(Config{Checks: health.NewRunnerOf(time.Second), History: history.New(history.Config{}), Dir: t.TempDir()})
			d.SetInventory(tc.inv)
			// The caller reuses its slices: the kept copy does not change.
			for i := range tc.inv.Software {
				tc.inv.Software[i].Name = "overwritten"
			}
			for i := range tc.inv.Services {
				tc.inv.Services[i].State = "overwritten"
			}
			got := d.snapshot(context.Background()).Inventory
			if got == nil {
				t.Fatal("snapshot without the inventory")
			}
			if len(got.Software) != tc.soft || len(got.Services) != tc.svcs || got.SoftwareTotal != tc.softTotal || got.ServicesTotal != tc.servicesTot {
				t.Fatalf("snapshot lists %d packages (total %d) and %d services (total %d); want %d (%d) and %d (%d)",
					len(got.Software), got.SoftwareTotal, len(got.Services), got.ServicesTotal, tc.soft, tc.softTotal, tc.svcs, tc.servicesTot)
			}
			if !reflect.DeepEqual(got.Software, want.Software[:tc.soft]) {
				t.Fatalf("snapshot packages differ from the inventory's first %d: %+v", tc.soft, got.Software[:min(3, len(got.Software))])
			}
			if tc.svcs > 0 && !reflect.DeepEqual(got.Services, want.Services[:tc.svcs]) {
				t.Fatalf("snapshot services differ from the inventory's first %d: %+v", tc.svcs, got.Services[:3])
			}
			if got.Hostname != want.Hostname || got.Hash != want.Hash || !reflect.DeepEqual(got.Updates, want.Updates) {
				t.Fatalf("snapshot inventory %s/%s/%+v; want %s/%s/%+v", got.Hostname, got.Hash, got.Updates, want.Hostname, want.Hash, want.Updates)
			}
		})
	}
}
