package console

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/auth"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// TestTicketPageShowsNetwork: the network the agent read when the user
// asked for help shows on the ticket page (route, DNS, search domains,
// Wi-Fi, each interface's state and addresses), device-supplied names
// escaped; a ticket whose snapshot has none says so.
func TestTicketPageShowsNetwork(t *testing.T) {
	tc := newTestConsole(t)
	ctx := context.Background()
	secret := auth.Secret(16)
	if err := tc.st.CreateToken(ctx, store.Token{ID: wire.NewID(), MaxUses: 1, ExpiresAt: time.Now().Add(time.Hour), CreatedAt: time.Now()}, auth.HashSecret(secret)); err != nil {
		t.Fatal(err)
	}
	devID := wire.NewID()
	if _, err := tc.st.EnrollDevice(ctx, auth.HashSecret(secret), store.Device{ID: devID, Hostname: "pc-net", OS: "linux", Arch: "amd64"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	now := time.Now().UTC()
	req := wire.HelpRequest{RequestID: wire.NewID(), Text: "No network since this morning", Category: "cannot-connect", Filed: now,
		Snapshot: wire.Snapshot{Taken: now, Network: &diag.NetworkPicture{Taken: now, NetworkConfig: diag.NetworkConfig{
			Interfaces: []diag.InterfaceConfig{
				{Name: "eth0", MAC: "52:54:00:12:34:56", Up: true, Carrier: &no, Addresses: []string{"10.20.0.7/24"}},
				{Name: "wlan0", MAC: "52:54:00:ab:cd:ef", Up: true, Carrier: &yes, Wireless: true, Addresses: []string{"192.168.1.23/24", "fe80::1/64"}},
				{Name: "docker0", Up: false},
			},
			DefaultGateway: "192.168.1.1", DefaultInterface: "wlan0",
			DNSServers: []string{"192.168.1.1", "10.20.0.53"}, SearchDomains: []string{"corp.example"},
			WiFi: &diag.WiFi{SSID: hostile, SignalDBm: -71, Interface: "wlan0"},
		}, Unavailable: map[string]string{"wifi": "SSID unknown: iw is not installed"}}}}
	tk, _, err := tc.svc.File(ctx, devID, "pc-net", req)
	if err != nil {
		t.Fatal(err)
	}
	cl := tc.login(t, store.RoleTier1)
	res, page := tc.get(t, cl, "/tickets/"+tk.ID)
	if res.StatusCode != 200 {
		t.Fatalf("ticket page: %d\n%s", res.StatusCode, page)
	}
	for _, want := range []string{"Network at filing",
		`<dd id="network-route">via 192.168.1.1 on wlan0</dd>`,
		`<dd id="network-dns">192.168.1.1, 10.20.0.53</dd>`,
		`<dd id="network-search">corp.example</dd>`,
		"&lt;svg onload=alert(1)&gt; · -71 dBm · on wlan0</dd>",
		`<tr data-iface="eth0"><td>eth0</td><td><span class="badge fail">no link</span></td><td class="addrs">10.20.0.7/24</td>`,
		`<td>wlan0 (Wi-Fi) <span class="muted">default route</span></td><td><span class="badge pass">up</span></td><td class="addrs">192.168.1.23/24 fe80::1/64</td>`,
		`<tr data-iface="docker0"><td>docker0</td><td><span class="badge warn">down</span>`,
		"Not read: wifi: SSID unknown: iw is not installed"} {
		if !strings.Contains(page, want) {
			t.Errorf("ticket page lacks %s", want)
		}
	}
	for _, bad := range []string{"<script>window", "<img src=x", "<svg onload"} {
		if strings.Contains(page, bad) {
			t.Errorf("ticket page contains unescaped %q", bad)
		}
	}
	// A ticket filed by an agent that sent no network picture still renders, and says so.
	plain := tc.fileTicket(t, "pc-old", "filed by an older agent")
	res, page = tc.get(t, cl, "/tickets/"+plain.ID)
	if res.StatusCode != 200 || strings.Contains(page, "network-interfaces") {
		t.Errorf("a ticket without a network picture: %d, shows the interfaces table: %v", res.StatusCode, strings.Contains(page, "network-interfaces"))
	}
	if !strings.Contains(page, `id="network-missing"`) {
		t.Errorf("a ticket without a network picture does not say it has none")
	}
}
