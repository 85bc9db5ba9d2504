package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/api"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

// TestCatalogSaysWhatDoesNotApply: with ?device=, the catalog carries the
// reason the device's latest inventory gives for a fix that does not
// apply there; the fix stays allowed (the agent is the judge of a run).
func TestCatalogSaysWhatDoesNotApply(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	now := time.Now().UTC()
	const why = "Printing cannot be restarted on this computer: it does not run systemd, the service manager this needs"
	if _, err := f.store.Ingest(ctx, []store.IngestItem{{DeviceID: f.device, Seq: 1, Kind: store.KindInventory, Received: now,
		Inventory: &diag.Inventory{Time: now, FixesNotApplicable: map[string]string{catalog.RestartPrintSpooler: why}}}}); err != nil {
		t.Fatal(err)
	}
	rec := f.call(t, "GET", "/api/v1/catalog?device="+f.device, f.tokens[store.RoleTier1], "")
	if rec.Code != http.StatusOK {
		t.Fatalf("catalog: %d %s", rec.Code, rec.Body.String())
	}
	var got struct{ Fixes []api.CatalogFix }
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	seen := false
	for _, fx := range got.Fixes {
		switch fx.ID {
		case catalog.RestartPrintSpooler:
			seen = true
			if fx.NotApplicable != why || !fx.Allowed {
				t.Errorf("restart-print-spooler: allowed %v, not applicable %q; want allowed, with the inventory's reason", fx.Allowed, fx.NotApplicable)
			}
		default:
			if fx.NotApplicable != "" {
				t.Errorf("%s: not applicable %q; the inventory says nothing of it", fx.ID, fx.NotApplicable)
			}
		}
	}
	if !seen {
		t.Error("restart-print-spooler is missing from the catalog")
	}
	// Without ?device= there is no device to say it of.
	rec = f.call(t, "GET", "/api/v1/catalog", f.tokens[store.RoleTier1], "")
	got.Fixes = nil
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	for _, fx := range got.Fixes {
		if fx.NotApplicable != "" {
			t.Errorf("the catalog without a device says %s does not apply", fx.ID)
		}
	}
}
