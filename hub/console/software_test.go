package console

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/diag"
)

// ingestInventory stores an inventory of a device at a time.
func (tc *testConsole) ingestInventory(t *testing.T, dev string, seq uint64, at time.Time, u *diag.UpdateStatus, sw ...diag.Software) {
	t.Helper()
	if _, err := tc.st.Ingest(context.Background(), []store.IngestItem{{DeviceID: dev, Seq: seq, Kind: store.KindInventory,
		Received: at, Inventory: &diag.Inventory{Time: at, Software: sw, Updates: u}}}); err != nil {
		t.Fatal(err)
	}
}

func TestSoftwarePages(t *testing.T) {
	tc := newTestConsole(t)
	tk := tc.fileTicket(t, "pc-software", "word crashes since yesterday")
	dev := tk.DeviceID
	filed := tk.CreatedAt
	evil := diag.Software{Name: "evil" + hostile, Version: "1.0", Source: "dpkg"}
	tc.ingestInventory(t, dev, 1, filed.Add(-30*time.Hour), nil,
		diag.Software{Name: "firefox-esr", Version: "115.5.0esr-1", Source: "dpkg"},
		diag.Software{Name: "vlc", Version: "3.0.18-2", Source: "dpkg"})
	// A day and a half before filing vlc goes; three hours before, firefox
	// is upgraded and libreoffice and a hostile name arrive.
	tc.ingestInventory(t, dev, 2, filed.Add(-28*time.Hour), nil,
		diag.Software{Name: "firefox-esr", Version: "115.5.0esr-1", Source: "dpkg"})
	tc.ingestInventory(t, dev, 3, filed.Add(-3*time.Hour), &diag.UpdateStatus{Manager: "apt", Pending: 7, Security: 2,
		OldestSecurity: filed.Add(-20*24*time.Hour - time.Hour), Automatic: "security"},
		diag.Software{Name: "firefox-esr", Version: "115.10.0esr-1", Source: "dpkg", Installed: filed.Add(-3 * time.Hour)},
		diag.Software{Name: "libreoffice-writer", Version: "4:7.4.7-1", Source: "dpkg"}, evil)
	cl := tc.login(t, store.RoleTier1)

	// The device page lists the software, with search, its changes and
	// the OS update status.
	_, page := tc.get(t, cl, "/devices/"+dev)
	for _, want := range []string{"firefox-esr", "115.10.0esr-1", "libreoffice-writer", "3 packages", "upgraded", "115.5.0esr-1 → 115.10.0esr-1",
		"removed", "vlc", `id="updates-pending">7`, "2 security", "security</dd>"} {
		if !strings.Contains(page, want) {
			t.Errorf("device page lacks %q", want)
		}
	}
	_, page = tc.get(t, cl, "/devices/"+dev+"?software=OFFICE")
	if !strings.Contains(page, "libreoffice-writer") || strings.Contains(page, "/software?name=firefox-esr") || !strings.Contains(page, `1 package matching “OFFICE”`) {
		t.Errorf("device page searched for OFFICE:\n%s", page)
	}
	if res, _ := tc.get(t, cl, "/devices/"+dev+"?software="+strings.Repeat("x", 201)); res.StatusCode != 400 {
		t.Errorf("a 201-character software search: %d, want 400", res.StatusCode)
	}

	// The fleet search answers which devices have a package below a
	// version, with links to them.
	res, page := tc.get(t, cl, "/software?name=firefox-esr&version="+url.QueryEscape("115.11"))
	if res.StatusCode != 200 || !strings.Contains(page, "1 device has") || !strings.Contains(page, "/devices/"+dev) {
		t.Errorf("/software below 115.11: %d\n%s", res.StatusCode, page)
	}
	_, page = tc.get(t, cl, "/software?name=firefox-esr&version=115.9")
	if !strings.Contains(page, "No device has") {
		t.Errorf("/software below 115.9 lists a device (115.10 is newer):\n%s", page)
	}
	if res, page := tc.get(t, cl, "/software?version=1"); res.StatusCode != 400 || !strings.Contains(page, "name is required") {
		t.Errorf("/software without a name: %d\n%s", res.StatusCode, page)
	}

	// The ticket shows the changes of the 24 hours before it was filed.
	_, page = tc.get(t, cl, "/tickets/"+tk.ID)
	i := strings.Index(page, `id="software-before"`)
	if i < 0 {
		t.Fatalf("ticket page has no software changes section:\n%s", page)
	}
	sec := page[i:]
	sec = sec[:strings.Index(sec, "</section>")]
	for _, want := range []string{"firefox-esr", "115.5.0esr-1 → 115.10.0esr-1", "libreoffice-writer"} {
		if !strings.Contains(sec, want) {
			t.Errorf("ticket's software changes lack %q:\n%s", want, sec)
		}
	}
	if strings.Contains(sec, "vlc") {
		t.Errorf("ticket's software changes show vlc, removed 28 hours before filing:\n%s", sec)
	}

	// Devices with pending security updates, and the devices filter.
	_, page = tc.get(t, cl, "/os-updates")
	if !strings.Contains(page, "/devices/"+dev) || !strings.Contains(page, "20 days") {
		t.Errorf("/os-updates:\n%s", page)
	}
	_, page = tc.get(t, cl, "/devices?updates=security")
	if !strings.Contains(page, "pc-software") {
		t.Errorf("/devices?updates=security lacks the device:\n%s", page)
	}
	if res, _ := tc.get(t, cl, "/devices?updates=maybe"); res.StatusCode != 400 {
		t.Errorf("/devices?updates=maybe: %d, want 400", res.StatusCode)
	}

	for _, p := range []string{"/devices/" + dev, "/software?name=evil*", "/tickets/" + tk.ID} {
		_, page := tc.get(t, cl, p)
		for _, bad := range []string{"<script>window", "<img src=x", "<svg onload"} {
			if strings.Contains(page, bad) {
				t.Errorf("%s contains unescaped %q", p, bad)
			}
		}
	}
}
