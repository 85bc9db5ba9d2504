package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/diag"
)

func TestSoftwareRoutes(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	inv := func(seq uint64, at time.Time, sw ...diag.Software) store.IngestItem {
		return store.IngestItem{DeviceID: f.device, Seq: seq, Kind: store.KindInventory, Received: at,
			Inventory: &diag.Inventory{Time: at, Software: sw,
				Updates: &diag.UpdateStatus{Manager: "apt", Pending: 4, Security: 1, OldestSecurity: at.Add(-20 * 24 * time.Hour)}}}
	}
	if _, err := f.store.Ingest(ctx, []store.IngestItem{inv(1, now.Add(-2*time.Hour),
		diag.Software{Name: "firefox-esr", Version: "115.5.0esr-1", Source: "dpkg"})}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Ingest(ctx, []store.IngestItem{inv(2, now.Add(-time.Hour),
		diag.Software{Name: "firefox-esr", Version: "115.10.0esr-1", Source: "dpkg"},
		diag.Software{Name: "libreoffice", Version: "4:7.4.7-1", Source: "dpkg"})}); err != nil {
		t.Fatal(err)
	}
	tok := f.tokens[store.RoleTier1]
	get := func(path string, v any) {
		t.Helper()
		rec := f.call(t, "GET", path, tok, "")
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body.String())
		}
		if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	var found struct {
		Devices []store.SoftwareMatch `json:"devices"`
		More    bool                  `json:"more"`
	}
	get("/api/v1/software?name=Firefox-ESR&version="+url.QueryEscape("115.11"), &found)
	if len(found.Devices) != 1 || found.Devices[0].DeviceID != f.device || found.Devices[0].Version != "115.10.0esr-1" {
		t.Errorf("firefox-esr below 115.11: %+v", found)
	}
	get("/api/v1/software?name=firefox-esr&version=115.9", &found)
	if len(found.Devices) != 0 {
		t.Errorf("firefox-esr below 115.9 (115.10 is not below it): %+v", found)
	}
	var sw struct {
		Software []store.InstalledSoftware `json:"software"`
	}
	get("/api/v1/devices/"+f.device+"/software?q=office", &sw)
	if len(sw.Software) != 1 || sw.Software[0].Name != "libreoffice" {
		t.Errorf("device software q=office: %+v", sw)
	}
	var ch struct {
		Changes []store.SoftwareChange `json:"changes"`
	}
	get("/api/v1/devices/"+f.device+"/software/changes", &ch)
	if len(ch.Changes) != 2 || ch.Changes[0].Change != store.SoftwareUpgraded || ch.Changes[1].Change != store.SoftwareInstalled {
		t.Errorf("changes: %+v", ch)
	}
	var ups struct {
		Devices []store.OSUpdates `json:"devices"`
	}
	get("/api/v1/os-updates?security=true", &ups)
	if len(ups.Devices) != 1 || ups.Devices[0].Security != 1 || ups.Devices[0].Manager != "apt" {
		t.Errorf("os-updates: %+v", ups)
	}
	var u store.OSUpdates
	get("/api/v1/devices/"+f.device+"/os-updates", &u)
	if u.Pending != 4 {
		t.Errorf("device os-updates: %+v", u)
	}
	var ds struct {
		Devices []store.Device `json:"devices"`
	}
	get("/api/v1/fleet/devices?updates=security", &ds)
	if len(ds.Devices) != 1 {
		t.Errorf("fleet/devices?updates=security: %+v", ds)
	}

	for _, path := range []string{
		"/api/v1/software",
		"/api/v1/software?name=*",
		"/api/v1/software?name=x&limit=0",
		"/api/v1/software?name=" + strings.Repeat("x", 201),
		"/api/v1/devices/" + f.device + "/software/changes?since=yesterday",
		"/api/v1/devices/" + f.device + "/software/changes?since=2026-12-02&until=2026-12-01",
		"/api/v1/devices/nope/software",
		"/api/v1/os-updates?security=maybe",
		"/api/v1/fleet/devices?updates=all",
	} {
		if rec := f.call(t, "GET", path, tok, ""); rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400: %s", path, rec.Code, rec.Body.String())
		}
	}
	if rec := f.call(t, "GET", "/api/v1/software?name=x", "", ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("without a token: %d, want 401", rec.Code)
	}
}
