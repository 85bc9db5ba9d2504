package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/diag"
)

func TestFleetHealthRoute(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	now := time.Now()
	if _, err := f.store.Ingest(ctx, []store.IngestItem{{DeviceID: f.device, Seq: 1, Kind: store.KindHealth, Received: now,
		Checks: []diag.CheckResult{{Name: "dns-resolution", Status: diag.StatusFailing, Time: now}}}}); err != nil {
		t.Fatal(err)
	}
	// Tier 1 and 2 are refused; Tier 3 and admins see the aggregates.
	for _, role := range []store.Role{store.RoleTier1, store.RoleTier2} {
		if rec := f.call(t, "GET", "/api/v1/fleet/health", f.tokens[role], ""); rec.Code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", role, rec.Code)
		}
	}
	rec := f.call(t, "GET", "/api/v1/fleet/health", f.tokens[store.RoleTier3], "")
	if rec.Code != http.StatusOK {
		t.Fatalf("tier3: %d %s", rec.Code, rec.Body.String())
	}
	var h store.FleetHealth
	if err := json.Unmarshal(rec.Body.Bytes(), &h); err != nil {
		t.Fatal(err)
	}
	if h.Devices.Total != 1 || len(h.FailingChecks) != 1 || h.FailingChecks[0].Name != "dns-resolution" || h.FailingChecks[0].Failing != 1 {
		t.Errorf("health %+v", h)
	}
	if len(h.SLABreaches) < 30 || len(h.SLABreaches) > 31 || h.To.Sub(h.From) != 30*24*time.Hour {
		t.Errorf("default range: %s to %s with %d days", h.From, h.To, len(h.SLABreaches))
	}
	rec = f.call(t, "GET", "/api/v1/fleet/health?from=2026-11-01&to=2026-11-08", f.tokens[store.RoleAdmin], "")
	json.Unmarshal(rec.Body.Bytes(), &h)
	if rec.Code != http.StatusOK || len(h.SLABreaches) != 7 {
		t.Errorf("a week by dates: %d, %d days", rec.Code, len(h.SLABreaches))
	}
	for _, q := range []string{"from=yesterday", "to=2026-13-01", "from=2026-11-08&to=2026-11-01", "from=2020-01-01&to=2026-01-01", "top=0", "top=x"} {
		if rec := f.call(t, "GET", "/api/v1/fleet/health?"+q, f.tokens[store.RoleAdmin], ""); rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", q, rec.Code)
		}
	}
}

func TestDeviceSearchAndSeriesRoutes(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	now := time.Now()
	if _, err := f.store.Ingest(ctx, []store.IngestItem{
		{DeviceID: f.device, Seq: 1, Kind: store.KindHealth, Received: now, Checks: []diag.CheckResult{{Name: "disk-space", Status: diag.StatusWarning, Time: now}}},
		{DeviceID: f.device, Seq: 2, Kind: store.KindTelemetry, Received: now.Add(-time.Minute), Sample: &diag.Sample{Time: now.Add(-time.Minute), CPU: diag.CPU{TotalPct: 42}}},
	}); err != nil {
		t.Fatal(err)
	}
	tier1 := f.tokens[store.RoleTier1]
	var got struct {
		Devices []store.Device
		More    bool
	}
	for q, want := range map[string]int{"": 1, "?q=PC": 1, "?q=nothing": 0, "?check=disk-space": 1, "?check=disk-space&status=failing": 0, "?online=true": 0} {
		rec := f.call(t, "GET", "/api/v1/fleet/devices"+q, tier1, "")
		got.Devices = nil
		json.Unmarshal(rec.Body.Bytes(), &got)
		if rec.Code != http.StatusOK || len(got.Devices) != want {
			t.Errorf("search %q: %d, %d devices, want %d", q, rec.Code, len(got.Devices), want)
		}
	}
	for _, q := range []string{"?status=failing", "?check=x&status=bad", "?online=maybe", "?limit=0", "?limit=5000", "?offset=-1", "?q=" + strings.Repeat("a", 101)} {
		if rec := f.call(t, "GET", "/api/v1/fleet/devices"+q, tier1, ""); rec.Code != http.StatusBadRequest {
			t.Errorf("search %q: %d, want 400", q, rec.Code)
		}
	}

	var series struct {
		Range       string
		StepSeconds int `json:"step_seconds"`
		Points      []store.TelemetryPoint
	}
	for _, rg := range []string{"1h", "24h", "7d", "30d"} {
		rec := f.call(t, "GET", "/api/v1/devices/"+f.device+"/series?range="+rg, tier1, "")
		series.Points = nil
		json.Unmarshal(rec.Body.Bytes(), &series)
		if rec.Code != http.StatusOK || series.Range != rg || len(series.Points) != 1 || series.Points[0].Summary.CPUPct != 42 {
			t.Errorf("series %s: %d %s", rg, rec.Code, rec.Body.String())
		}
	}
	for _, q := range []string{"?range=2h", "?until=noon"} {
		if rec := f.call(t, "GET", "/api/v1/devices/"+f.device+"/series"+q, tier1, ""); rec.Code != http.StatusBadRequest {
			t.Errorf("series %s: %d, want 400", q, rec.Code)
		}
	}
	if rec := f.call(t, "GET", "/api/v1/devices/0123456789abcdef0123456789abcdef/series", tier1, ""); rec.Code != http.StatusNotFound {
		t.Errorf("series of an unknown device: %d", rec.Code)
	}
}
