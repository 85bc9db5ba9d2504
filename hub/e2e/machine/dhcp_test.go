//go:build linux

package machine

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"

	"github.com/tierline/tierline/scripts/testmachine/nspawn"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// dhcpLeaseSecs is the lease the test's DHCP server gives: long enough
// that the client renews only when asked (T1 is half of it).
const dhcpLeaseSecs = 3600

// dhcpServer is a DHCP server of the test's on port 67 of the test's
// namespace, bound to its end of the veth pair (nothing else hears it): it
// leases MachineIP with HubIP as the router and the DNS server, and
// records what it was asked.
type dhcpServer struct {
	mu sync.Mutex
	// acks counts DHCPACKs sent; renewals those that answered a client
	// already holding the lease (ciaddr set: renewing or rebinding), as
	// `networkctl renew` makes it ask.
	acks, renewals int
	log            []string
}

func (s *dhcpServer) counts() (acks, renewals int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acks, s.renewals
}

func (s *dhcpServer) handle(conn net.PacketConn, peer net.Addr, m *dhcpv4.DHCPv4) {
	var reply dhcpv4.MessageType
	switch m.MessageType() {
	case dhcpv4.MessageTypeDiscover:
		reply = dhcpv4.MessageTypeOffer
	case dhcpv4.MessageTypeRequest:
		reply = dhcpv4.MessageTypeAck
	default:
		return
	}
	hub, machine := net.ParseIP(nspawn.HubIP).To4(), net.ParseIP(nspawn.MachineIP).To4()
	resp, err := dhcpv4.NewReplyFromRequest(m,
		dhcpv4.WithMessageType(reply),
		dhcpv4.WithYourIP(machine),
		dhcpv4.WithServerIP(hub),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(hub)),
		dhcpv4.WithNetmask(net.CIDRMask(nspawn.Prefix, 32)),
		dhcpv4.WithRouter(hub),
		dhcpv4.WithDNS(hub),
		dhcpv4.WithLeaseTime(dhcpLeaseSecs),
	)
	if err != nil {
		return
	}
	if _, err := conn.WriteTo(resp.ToBytes(), peer); err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	renewal := reply == dhcpv4.MessageTypeAck && m.ClientIPAddr != nil && !m.ClientIPAddr.IsUnspecified()
	if reply == dhcpv4.MessageTypeAck {
		s.acks++
	}
	if renewal {
		s.renewals++
	}
	s.log = append(s.log, time.Now().Format("15:04:05.000")+" "+m.MessageType().String()+" from "+peer.String()+
		" ciaddr "+m.ClientIPAddr.String()+" -> "+reply.String())
}

// startDHCP serves DHCP in the test's namespace until the test ends.
func startDHCP(t *testing.T, n *nspawn.Network) *dhcpServer {
	t.Helper()
	s := &dhcpServer{}
	var conn *net.UDPConn
	err := nspawn.InNetns(n.Path(), func() error {
		var err error
		conn, err = server4.NewIPv4UDPConn(n.HostIf, &net.UDPAddr{Port: dhcpv4.ServerPort})
		return err
	})
	if err != nil {
		t.Fatalf("DHCP server in %s: %v", n.NS, err)
	}
	srv, err := server4.NewServer("", nil, s.handle, server4.WithConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() {
		srv.Close()
		if t.Failed() {
			s.mu.Lock()
			t.Logf("--- the DHCP server's exchanges:\n%s", strings.Join(s.log, "\n"))
			s.mu.Unlock()
		}
	})
	return s
}

// dhcpNetwork is the machine's veth configured by DHCP, as an admin (or
// a desktop's installer) sets it: a .network file that sorts before the
// root's static one.
const dhcpNetwork = "[Match]\nName=tlm*\n\n[Network]\nDHCP=ipv4\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n"

// TestRenewDHCPOnNetworkd: the machine's network is systemd-networkd
// with DHCP from a server of the test's. The technician sees the lease in
// dhcp-lease's evidence. With the default route gone, default-route fails
// naming renew-dhcp (Tier 0); renew-dhcp run from the hub runs `networkctl
// renew` on the interface, the DHCP server answers the client's renewal,
// networkd puts the lease's route back, and the run is verified fixed:
// default-route failing before and ok after.
func TestRenewDHCPOnNetworkd(t *testing.T) {
	var dhcp *dhcpServer
	p := newPC(t, pcOptions{Env: agentEnv(), Before: func(p *pc) {
		startDNS(t, p.net) // the DNS server DHCP names, for dns-resolution, which renew-dhcp verifies
		dhcp = startDHCP(t, p.net)
		p.write("/etc/systemd/network/10-tierline-dhcp.network", dhcpNetwork, 0o644)
		// reload configures the interface again with the file that now
		// matches it (a second `networkctl reconfigure` raced with it,
		// running the DHCP client twice).
		p.exec("networkctl", "reload")
		var route string
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			acks, _ := dhcp.counts()
			route, _ = p.try("ip", "-4", "route", "show", "default")
			if acks > 0 && strings.Contains(route, "via "+nspawn.HubIP) && strings.Contains(route, "proto dhcp") {
				break
			}
			if time.Now().After(deadline) {
				addr, _ := p.try("ip", "-4", "addr")
				journal, _ := p.try("journalctl", "--no-pager", "-u", "systemd-networkd", "-n", "40")
				t.Fatalf("no DHCP lease with its default route after 60 s (%d acks): default route %q\naddresses:\n%s\nnetworkd:\n%s", acks, route, addr, journal)
			}
		}
		t.Logf("the machine's network by DHCP:\n%s", p.exec("networkctl", "status", "--no-pager", p.net.MachineIf))
	}})

	// The lease as the technician sees it.
	lease := p.waitCheck("dhcp-lease", diag.StatusOK)
	if !hasEvidence(lease, p.net.MachineIf, nspawn.MachineIP+" from "+nspawn.HubIP+", valid for") ||
		!hasEvidence(lease, p.net.MachineIf, "/run/systemd/netif/leases/") {
		t.Fatalf("dhcp-lease: %+v; want %s's lease of %s from %s with its expiry and lease file", lease, p.net.MachineIf, nspawn.MachineIP, nspawn.HubIP)
	}
	renew, _ := catalog.Get(catalog.RenewDHCP)
	if f := p.offered(catalog.RenewDHCP); !f.Allowed || f.Tier != renew.Tier || renew.Tier != catalog.TierSelfHelp {
		t.Fatalf("renew-dhcp for the device: %+v; want allowed at tier 0", f)
	}

	p.exec("ip", "route", "del", "default")
	c := p.waitCheck("default-route", diag.StatusFailing)
	if c.Fix != catalog.RenewDHCP {
		t.Fatalf("default-route without a route: %+v; want renew-dhcp as its fix", c)
	}
	_, renewalsBefore := dhcp.counts()
	r := p.run(catalog.RenewDHCP, nil)
	if r.Outcome != wire.OutcomeFixed || status(r.Result.Before, "default-route") != diag.StatusFailing ||
		status(r.Result.After, "default-route") != diag.StatusOK || status(r.Result.After, "dns-resolution") != diag.StatusOK {
		t.Fatalf("renew-dhcp: %s %q; want fixed: default-route failing before, default-route and dns-resolution ok after", r.Outcome, r.Reason)
	}
	if len(r.Result.Steps) != 1 || strings.Join(r.Result.Steps[0].Argv, " ") != "networkctl renew "+p.net.MachineIf || r.Result.Steps[0].ExitCode != 0 {
		t.Fatalf("renew-dhcp steps: %+v; want networkctl renew %s, exit 0", r.Result.Steps, p.net.MachineIf)
	}
	if _, renewals := dhcp.counts(); renewals <= renewalsBefore {
		t.Fatalf("the DHCP server answered no renewal from the machine (%d before the run, %d after)", renewalsBefore, renewals)
	}
	if out, _ := p.try("ip", "-4", "route", "show", "default"); !strings.Contains(out, "via "+nspawn.HubIP) {
		t.Fatalf("default route after renew-dhcp: %q", out)
	}
	lease = p.waitCheck("dhcp-lease", diag.StatusOK)
	t.Logf("dhcp-lease after the renewal: %+v", lease)
}
