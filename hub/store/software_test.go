package store_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/shared/diag"
)

func inventoryItem(dev string, seq uint64, at time.Time, sw ...diag.Software) store.IngestItem {
	return store.IngestItem{DeviceID: dev, Seq: seq, Kind: store.KindInventory, Received: at,
		Inventory: &diag.Inventory{Time: at, Hostname: dev, Software: sw}}
}

func dpkg(name, version string) diag.Software {
	return diag.Software{Name: name, Version: version, Source: "dpkg"}
}

func TestSoftwareInventoryAndChanges(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		enroll(t, s, "d1", "alpha")
		enroll(t, s, "d2", "beta")
		installed := t0.Add(-48 * time.Hour)
		ff := dpkg("Firefox-ESR", "115.5.0esr-1~deb12u1")
		ff.Installed = installed
		mustIngest(t, s, inventoryItem("d1", 1, t0, ff, dpkg("curl", "7.88.1-10"), dpkg("vim", "2:9.0.1378-2")))
		mustIngest(t, s, inventoryItem("d2", 1, t0, dpkg("firefox-esr", "115.10.0esr-1~deb12u1"), dpkg("curl", "7.88.1-10+deb12u5")))

		// The first inventory is the baseline: no history.
		if ch, err := s.SoftwareChanges(ctx, "d1", time.Time{}, time.Time{}, 0); err != nil || len(ch) != 0 {
			t.Fatalf("changes after the first inventory = %v, %v; want none", ch, err)
		}
		got, err := s.DeviceSoftware(ctx, "d1", "")
		if err != nil {
			t.Fatal(err)
		}
		want := []store.InstalledSoftware{
			{Name: "curl", Version: "7.88.1-10", Source: "dpkg"},
			{Name: "Firefox-ESR", Version: "115.5.0esr-1~deb12u1", Source: "dpkg", Installed: installed},
			{Name: "vim", Version: "2:9.0.1378-2", Source: "dpkg"},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("device software (-want +got):\n%s", diff)
		}
		if got, _ := s.DeviceSoftware(ctx, "d1", "FIRE"); len(got) != 1 || got[0].Name != "Firefox-ESR" {
			t.Errorf("device software filtered by FIRE = %v", got)
		}

		// Which devices have firefox-esr below 115.6? Dotted and Debian
		// versions compare by their parts, not as text.
		m, more, err := s.SearchSoftware(ctx, store.SoftwareSearch{Name: "firefox-esr", Below: "115.6"})
		if err != nil || more {
			t.Fatalf("search: %v, more %v", err, more)
		}
		if len(m) != 1 || m[0].DeviceID != "d1" || m[0].Hostname != "alpha" || m[0].Version != "115.5.0esr-1~deb12u1" {
			t.Errorf("firefox-esr below 115.6 = %+v, want d1 only", m)
		}
		m, _, _ = s.SearchSoftware(ctx, store.SoftwareSearch{Name: "FIREFOX-esr"})
		if len(m) != 2 || m[0].Hostname != "alpha" || m[1].Hostname != "beta" {
			t.Errorf("firefox-esr on any version = %+v, want alpha and beta", m)
		}
		m, _, _ = s.SearchSoftware(ctx, store.SoftwareSearch{Name: "cu*"})
		if len(m) != 2 || m[0].Name != "curl" {
			t.Errorf("cu* = %+v, want curl on both", m)
		}
		m, _, _ = s.SearchSoftware(ctx, store.SoftwareSearch{Name: "curl", Below: "7.88.1-10+deb12u1"})
		if len(m) != 1 || m[0].DeviceID != "d1" {
			t.Errorf("curl below 7.88.1-10+deb12u1 = %+v, want d1", m)
		}
		if m, more, _ := s.SearchSoftware(ctx, store.SoftwareSearch{Name: "curl", Limit: 1}); len(m) != 1 || !more {
			t.Errorf("limit 1: %d matches, more %v", len(m), more)
		}

		// Second inventory: firefox upgraded, curl removed, htop installed,
		// vim downgraded.
		t1 := t0.Add(time.Hour)
		mustIngest(t, s, inventoryItem("d1", 2, t1, dpkg("firefox-esr", "115.10.0esr-1~deb12u1"),
			dpkg("Firefox-ESR", "115.10.0esr-1~deb12u1"), dpkg("htop", "3.2.2-2"), dpkg("vim", "2:9.0.1000-1")))
		ch, err := s.SoftwareChanges(ctx, "d1", t0, t1.Add(time.Second), 0)
		if err != nil {
			t.Fatal(err)
		}
		wantCh := []store.SoftwareChange{
			{DeviceID: "d1", Time: t1, Change: store.SoftwareRemoved, Name: "curl", Source: "dpkg", FromVersion: "7.88.1-10"},
			{DeviceID: "d1", Time: t1, Change: store.SoftwareUpgraded, Name: "Firefox-ESR", Source: "dpkg", FromVersion: "115.5.0esr-1~deb12u1", ToVersion: "115.10.0esr-1~deb12u1"},
			{DeviceID: "d1", Time: t1, Change: store.SoftwareInstalled, Name: "firefox-esr", Source: "dpkg", ToVersion: "115.10.0esr-1~deb12u1"},
			{DeviceID: "d1", Time: t1, Change: store.SoftwareInstalled, Name: "htop", Source: "dpkg", ToVersion: "3.2.2-2"},
			{DeviceID: "d1", Time: t1, Change: store.SoftwareDowngraded, Name: "vim", Source: "dpkg", FromVersion: "2:9.0.1378-2", ToVersion: "2:9.0.1000-1"},
		}
		if diff := cmp.Diff(wantCh, ch); diff != "" {
			t.Errorf("changes (-want +got):\n%s", diff)
		}
		if ch, _ := s.SoftwareChanges(ctx, "d1", t0, t1, 0); len(ch) != 0 {
			t.Errorf("changes before t1 = %v, want none", ch)
		}
		if got, _ := s.DeviceSoftware(ctx, "d1", ""); len(got) != 4 {
			t.Errorf("after the second inventory: %d packages, want 4: %v", len(got), got)
		}
		if m, _, _ := s.SearchSoftware(ctx, store.SoftwareSearch{Name: "firefox-esr", Below: "115.6"}); len(m) != 0 {
			t.Errorf("after the upgrade firefox-esr below 115.6 = %+v, want none", m)
		}

		// An inventory whose software part failed leaves the rows alone.
		failed := inventoryItem("d1", 3, t1.Add(time.Hour))
		failed.Inventory.Unavailable = map[string]string{"software": "no package database found"}
		mustIngest(t, s, failed)
		if got, _ := s.DeviceSoftware(ctx, "d1", ""); len(got) != 4 {
			t.Errorf("after a failed software read: %d packages, want 4", len(got))
		}

		// A revoked device drops out of the fleet search.
		if err := s.RevokeDevice(ctx, "d2", t1); err != nil {
			t.Fatal(err)
		}
		if m, _, _ := s.SearchSoftware(ctx, store.SoftwareSearch{Name: "curl"}); len(m) != 0 {
			t.Errorf("curl after d1 removed it and d2 was revoked = %+v", m)
		}
	})
}

func TestOSUpdatesStatus(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		enroll(t, s, "d1", "alpha")
		enroll(t, s, "d2", "beta")
		enroll(t, s, "d3", "gamma")
		item := func(dev string, u *diag.UpdateStatus) store.IngestItem {
			it := inventoryItem(dev, 1, t0)
			it.Inventory.Updates = u
			return it
		}
		old := t0.Add(-20 * 24 * time.Hour)
		mustIngest(t, s,
			item("d1", &diag.UpdateStatus{Manager: "apt", Pending: 5, Security: 2, OldestSecurity: old, OldestPending: old, Automatic: "security"}),
			item("d2", &diag.UpdateStatus{Manager: "apt", Pending: 3}),
			item("d3", nil))
		u, err := s.DeviceOSUpdates(ctx, "d1")
		if err != nil {
			t.Fatal(err)
		}
		want := store.OSUpdates{DeviceID: "d1", Hostname: "alpha", Manager: "apt", Pending: 5, Security: 2,
			OldestPending: old, OldestSecurity: old, Automatic: "security", ReportedAt: t0}
		if diff := cmp.Diff(want, u); diff != "" {
			t.Errorf("d1 update status (-want +got):\n%s", diff)
		}
		if _, err := s.DeviceOSUpdates(ctx, "d3"); err == nil {
			t.Error("d3 reported no update status, yet one was found")
		}
		sec, _, err := s.ListOSUpdates(ctx, store.OSUpdatesFilter{Security: true})
		if err != nil || len(sec) != 1 || sec[0].DeviceID != "d1" {
			t.Errorf("devices with pending security updates = %+v, %v; want d1", sec, err)
		}
		any, _, _ := s.ListOSUpdates(ctx, store.OSUpdatesFilter{})
		if len(any) != 2 {
			t.Errorf("devices with pending updates = %+v, want d1 and d2", any)
		}
		ds, _, err := s.SearchDevices(ctx, store.DeviceSearch{Updates: "security"})
		if err != nil || len(ds) != 1 || ds[0].ID != "d1" {
			t.Errorf("device search updates=security = %v, %v; want d1", ds, err)
		}
		ds, _, _ = s.SearchDevices(ctx, store.DeviceSearch{Updates: "pending"})
		if len(ds) != 2 {
			t.Errorf("device search updates=pending = %d devices, want 2", len(ds))
		}
	})
}

// A device whose last inventory was stored before the software table
// existed is compared with that inventory: its next inventory records
// what changed since, not everything as installed.
func TestSoftwareChangesAfterUpgradeOfTheHub(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		enroll(t, s, "d1", "alpha")
		mustIngest(t, s, inventoryItem("d1", 1, t0, dpkg("curl", "7.88.1-10"), dpkg("vim", "2:9.0.1378-2")))
		// As the hub before the software table: the inventory JSON only.
		if _, err := s.DB().ExecContext(ctx, "DELETE FROM device_software"); err != nil {
			t.Fatal(err)
		}
		t1 := t0.Add(time.Hour)
		mustIngest(t, s, inventoryItem("d1", 2, t1, dpkg("curl", "7.88.1-10+deb12u5"), dpkg("vim", "2:9.0.1378-2")))
		ch, err := s.SoftwareChanges(ctx, "d1", time.Time{}, time.Time{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		want := []store.SoftwareChange{{DeviceID: "d1", Time: t1, Change: store.SoftwareUpgraded, Name: "curl", Source: "dpkg",
			FromVersion: "7.88.1-10", ToVersion: "7.88.1-10+deb12u5"}}
		if diff := cmp.Diff(want, ch); diff != "" {
			t.Errorf("changes (-want +got):\n%s", diff)
		}
		if got, _ := s.DeviceSoftware(ctx, "d1", ""); len(got) != 2 {
			t.Errorf("rows after the second inventory: %v", got)
		}
	})
}
