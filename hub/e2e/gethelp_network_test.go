package e2e

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tierline/tierline/agent/netstate"
)

// TestGetHelpNetworkAndNotApplicable: on this machine some Tier 0 fixes
// do not apply (no CUPS, systemd not running: restart-print-spooler among
// them). Get help never offers them; the ticket filed from the page
// carries the machine's network as the agent read it (API), and the
// ticket page shows it, with the fix form showing the fixes that do not
// apply disabled, with the reason the agent gave; at phone width too.
func TestGetHelpNetworkAndNotApplicable(t *testing.T) {
	needSelfHelpChromium(t)
	h := startHub(t)
	const tier1PW = "tier one network pw"
	conAddUser(t, h, "nora", "tier1", tier1PW)
	a := enroll(t, h.tokenCreate())
	a.run()
	var inv struct {
		Inventory *struct {
			FixesNotApplicable map[string]string `json:"fixes_not_applicable"`
		} `json:"inventory"`
	}
	eventually(t, "the agent's inventory with the fixes that do not apply here", 120*time.Second, func() bool {
		h.get("/api/v1/devices/"+a.id, &inv)
		return inv.Inventory != nil && inv.Inventory.FixesNotApplicable != nil
	})
	notHere := inv.Inventory.FixesNotApplicable
	spoolerWhy := notHere["restart-print-spooler"]
	if spoolerWhy == "" {
		t.Skipf("restart-print-spooler applies on this machine (%v); the test needs a machine where it does not", notHere)
	}
	t.Logf("fixes that do not apply here: %v", notHere)

	// Get help offers none of them.
	_, link := startGetHelp(t, a.state)
	ctx := selfHelpBrowser(t)
	if err := uiDo(ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("problem"))); err != nil {
		t.Fatalf("open the page: %v", err)
	}
	pageWait(t, ctx, "the fixes listed", `document.getElementById("fixes-note").textContent.indexOf("Loading") < 0 && document.querySelector("#fixes [data-fix]") !== null`)
	offered := func() []string {
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`Array.prototype.map.call(document.querySelectorAll("#fixes [data-fix]"), function(e){return e.getAttribute("data-fix")}).join(",")`))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(s, ",")
	}
	for _, cat := range []string{"", "printing", "cannot-connect"} {
		if cat != "" {
			if err := uiDo(ctx, chromedp.Click(chromedp.ID("cat-"+cat))); err != nil {
				t.Fatal(err)
			}
			pageWait(t, ctx, "the fixes listed again for "+cat, `document.querySelector("#fixes [data-fix]") !== null`)
		}
		got := offered()
		if !slices.Contains(got, "clear-temp") {
			t.Errorf("category %q: Get help offers %v; want clear-temp, which applies here", cat, got)
		}
		for id := range notHere {
			if slices.Contains(got, id) {
				t.Errorf("category %q: Get help offers %s, which does not apply here (%s)", cat, id, notHere[id])
			}
		}
	}
	// The interfaces there before the ticket is filed: the machine tests
	// running beside this package add and remove veths of their own.
	before := map[string]bool{}
	if ifs, err := net.Interfaces(); err == nil {
		for _, i := range ifs {
			before[i.Name] = true
		}
	}
	if err := uiDo(ctx, chromedp.SendKeys(chromedp.ID("problem"), "No network since this morning"), chromedp.Click(chromedp.ID("file"))); err != nil {
		t.Fatal(err)
	}
	pageWait(t, ctx, "the ticket number", `document.querySelector('#filed[data-state="filed"]') !== null`)

	// The ticket's snapshot has the network as this machine has it.
	var list struct{ Tickets []ticketJSON }
	h.get("/api/v1/tickets?device="+a.id, &list)
	if len(list.Tickets) != 1 {
		t.Fatalf("tickets %+v, want one", list.Tickets)
	}
	tid := list.Tickets[0].ID
	var tk struct {
		Ticket struct {
			Snapshot *struct {
				Network *struct {
					Interfaces       []ticketIface
					DefaultGateway   string   `json:"default_gateway"`
					DefaultInterface string   `json:"default_interface"`
					DNSServers       []string `json:"dns_servers"`
				}
			}
		}
	}
	h.get("/api/v1/tickets/"+tid, &tk)
	if tk.Ticket.Snapshot == nil || tk.Ticket.Snapshot.Network == nil {
		t.Fatalf("the ticket's snapshot has no network picture")
	}
	n := tk.Ticket.Snapshot.Network
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 || !before[i.Name] {
			continue
		}
		k := slices.IndexFunc(n.Interfaces, func(c ticketIface) bool { return c.Name == i.Name })
		if k < 0 {
			t.Errorf("interface %s is missing from the ticket's network %+v", i.Name, n.Interfaces)
			continue
		}
		addrs, _ := i.Addrs()
		if got := n.Interfaces[k]; got.MAC != i.HardwareAddr.String() || len(got.Addresses) != len(addrs) || got.Carrier == nil {
			t.Errorf("interface %s on the ticket: %+v; the kernel has mac %s, addresses %v", i.Name, got, i.HardwareAddr, addrs)
		}
	}
	var wantGW, wantIf string
	if tab, err := netstate.ReadRouteTable("/"); err == nil {
		if gw, ifc, ok := tab.DefaultGateway(); ok {
			wantGW, wantIf = gw.String(), ifc
		}
	}
	if n.DefaultGateway != wantGW || n.DefaultInterface != wantIf {
		t.Errorf("default route on the ticket via %q on %q; the kernel says %q on %q", n.DefaultGateway, n.DefaultInterface, wantGW, wantIf)
	}
	var wantDNS []string
	if b, err := os.ReadFile("/etc/resolv.conf"); err == nil {
		wantDNS = netstate.ParseResolvConf(b).Nameservers
	}
	if !slices.Equal(n.DNSServers, wantDNS) {
		t.Errorf("DNS servers on the ticket %v; resolv.conf has %v", n.DNSServers, wantDNS)
	}

	// The technician's ticket page.
	b := newConsoleBrowser(t)
	b.login(h, "nora", tier1PW)
	b.open(h, "/tickets/"+tid, "#snapshot-network")
	if wantGW != "" {
		b.waitText("#network-route", "via "+wantGW+" on "+wantIf)
	} else {
		b.waitText("#network-route", "no default route")
	}
	if len(wantDNS) > 0 {
		b.waitText("#network-dns", strings.Join(wantDNS, ", "))
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 || !before[i.Name] {
			continue
		}
		row := fmt.Sprintf(`#network-interfaces tr[data-iface=%q]`, i.Name)
		b.waitJS("interface "+i.Name+" on the page", fmt.Sprintf(`document.querySelector(%q) !== null`, row))
		if addrs, _ := i.Addrs(); len(addrs) > 0 {
			b.waitText(row, strings.Split(addrs[0].String(), "/")[0])
		}
	}
	// The fix form shows the fixes that do not apply, disabled, with the
	// agent's reason; it offers clear-temp.
	b.waitJS("the fix form loaded", `document.querySelector('#fix-select option[value="clear-temp"]') !== null`)
	if v := b.eval(`String(document.querySelector('#fix-select option[value="restart-print-spooler"]').disabled)`); v != "true" {
		t.Errorf("restart-print-spooler in the fix form: disabled %s, want disabled", v)
	}
	if v := b.eval(`String(document.querySelector('#fix-select option[value="clear-temp"]').disabled)`); v != "false" {
		t.Errorf("clear-temp in the fix form: disabled %s, want offered", v)
	}
	b.waitText(`#fix-not-applicable li[data-fix="restart-print-spooler"]`, spoolerWhy)
	b.shot("ticket-network")

	b.do("phone width", chromedp.EmulateViewport(phoneWidth, 844, chromedp.EmulateMobile))
	b.open(h, "/tickets/"+tid, "#snapshot-network")
	b.waitJS("the interfaces at phone width", `document.querySelector("#network-interfaces tr[data-iface]") !== null || document.querySelector("#snapshot-network p.muted") !== null`)
	b.fitsWidth("the ticket page with its network")
	b.shot("ticket-network-phone")
	b.do("desktop width", chromedp.EmulateViewport(1280, 900))
	b.noXSS("ticket network")
}

// ticketIface is one interface of a ticket's network picture, as the API
// shows it.
type ticketIface struct {
	Name      string
	MAC       string
	Up        bool
	Carrier   *bool
	Addresses []string
}
