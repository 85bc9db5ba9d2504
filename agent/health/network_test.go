package health

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tierline/tierline/agent/netstate"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

// route is one route as netstate reads it.
func route(iface, dest, gw string, flags uint32, metric int) netstate.Route {
	return netstate.Route{Iface: iface, Dest: netip.MustParsePrefix(dest), Gateway: netip.MustParseAddr(gw), Flags: flags, Metric: metric}
}

func neighbor(ip, iface, mac string, flags uint32) netstate.Neighbor {
	return netstate.Neighbor{IP: netip.MustParseAddr(ip), Iface: iface, HWAddr: mac, Flags: flags}
}

const (
	up   = netstate.RouteUp
	upGw = netstate.RouteUp | netstate.RouteGateway
)

// The tables of netstate's fixtures (route/single, route/laptop-two-defaults,
// route/no-default, route/vpn-device-route, ...) and of its macOS and
// Windows readers' tests, as the default-route check gets them.
var (
	single = []netstate.Route{
		route("eth0", "0.0.0.0/0", "192.0.2.1", upGw, 0),
		route("eth0", "192.0.2.0/24", "0.0.0.0", up, 0),
	}
	laptopTwoDefaults = []netstate.Route{
		route("wlp2s0", "0.0.0.0/0", "192.168.1.1", upGw, 600),
		route("enp0s31f6", "0.0.0.0/0", "10.0.0.1", upGw, 100),
		route("enp0s31f6", "10.0.0.0/24", "0.0.0.0", up, 100),
		route("wlp2s0", "192.168.1.0/24", "0.0.0.0", up, 600),
		route("docker0", "172.17.0.0/16", "0.0.0.0", up, 0),
	}
	laptopGatewayIncomplete = []netstate.Neighbor{
		neighbor("10.0.0.1", "enp0s31f6", "00:00:00:00:00:00", 0),
		neighbor("192.168.1.1", "wlp2s0", "a4:91:b1:00:11:22", netstate.NeighborComplete),
	}
)

func TestGradeRoute(t *testing.T) {
	tests := []struct {
		name         string
		table        netstate.Table
		wantStatus   diag.Status
		wantFix      string
		wantEvidence []string // values of the evidence, in order
	}{
		{"gateway answering", netstate.Table{Routes: single, Neighbors: []netstate.Neighbor{neighbor("192.0.2.1", "eth0", "02:fc:00:00:00:05", netstate.NeighborComplete)}},
			diag.StatusOK, "", []string{"via 192.0.2.1 dev eth0 metric 0", "02:fc:00:00:00:05, complete"}},
		// The wired route (metric 100) wins over Wi-Fi (600); its gateway did not answer ARP.
		{"best default's gateway not answering", netstate.Table{Routes: laptopTwoDefaults, Neighbors: laptopGatewayIncomplete},
			diag.StatusWarning, catalog.ResetNetwork, []string{"via 10.0.0.1 dev enp0s31f6 metric 100", "incomplete (flags 0x0)"}},
		{"gateway not contacted recently", netstate.Table{Routes: single},
			diag.StatusOK, "", []string{"via 192.0.2.1 dev eth0 metric 0", "no entry (not contacted recently)"}},
		{"gateway's address answering on another interface", netstate.Table{Routes: laptopTwoDefaults[1:3], Neighbors: []netstate.Neighbor{neighbor("10.0.0.1", "wlp2s0", "a4:91:b1:00:11:22", netstate.NeighborComplete)}},
			diag.StatusOK, "", []string{"via 10.0.0.1 dev enp0s31f6 metric 100", "no entry (not contacted recently)"}},
		{"no default route", netstate.Table{Routes: laptopTwoDefaults[2:3]},
			diag.StatusFailing, catalog.RenewDHCP, []string{"1, none default"}},
		{"container without network", netstate.Table{},
			diag.StatusFailing, catalog.RenewDHCP, []string{"0, none default"}},
		{"IPv6 default only", netstate.Table{V6: true, V6Iface: "wlp2s0"},
			diag.StatusOK, "", []string{"::/0 via wlp2s0"}},
		{"VPN device route", netstate.Table{Routes: []netstate.Route{route("wg0", "0.0.0.0/0", "0.0.0.0", up, 0)}},
			diag.StatusOK, "", []string{"dev wg0 (no gateway)"}},
		{"macOS interface-scoped default", netstate.Table{Routes: []netstate.Route{route("en0", "0.0.0.0/0", "192.168.1.1", upGw, 1)}},
			diag.StatusOK, "", []string{"via 192.168.1.1 dev en0 metric 1", "no entry (not contacted recently)"}},
		{"reject default", netstate.Table{Routes: []netstate.Route{route("lo0", "0.0.0.0/0", "0.0.0.0", up|netstate.RouteReject, 0)}},
			diag.StatusFailing, catalog.RenewDHCP, []string{"1, none default"}},
		{"down default", netstate.Table{Routes: []netstate.Route{route("en0", "0.0.0.0/0", "10.0.0.1", netstate.RouteGateway, 0)}},
			diag.StatusFailing, catalog.RenewDHCP, []string{"1, none default"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := gradeRoute(tt.table)
			if got.Status != tt.wantStatus || got.Fix != tt.wantFix {
				t.Errorf("status %s fix %q, want %s %q (%+v)", got.Status, got.Fix, tt.wantStatus, tt.wantFix, got)
			}
			var values []string
			for _, e := range got.Evidence {
				values = append(values, e.Value)
			}
			if diff := cmp.Diff(tt.wantEvidence, values); diff != "" {
				t.Errorf("evidence (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGradeReach(t *testing.T) {
	refusedErr := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	timeout := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("i/o timeout")}
	noName := &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "hub.corp.example", IsNotFound: true}}
	routeOK := &diag.CheckResult{Status: diag.StatusOK, Summary: "There is a default gateway."}
	noRoute := &diag.CheckResult{Status: diag.StatusFailing, Summary: "There is no default route."}
	hub := func(err error) dialResult { return dialResult{Target: "hub.corp.example:8443", Hub: true, Err: err} }
	other := func(err error) dialResult { return dialResult{Target: "intranet.corp.example:443", Err: err} }
	tests := []struct {
		name    string
		rs      []dialResult
		route   *diag.CheckResult
		status  diag.Status
		fix     string
		summary string
	}{
		{"all reachable", []dialResult{hub(nil), other(nil)}, nil, diag.StatusOK, "", "The hub is reachable."},
		{"hub refuses", []dialResult{hub(refusedErr)}, routeOK, diag.StatusFailing, "", "not on this computer's network"},
		{"hub silent, others fine", []dialResult{hub(timeout), other(nil)}, routeOK, diag.StatusFailing, "", "not on this computer"},
		{"no route", []dialResult{hub(timeout), other(timeout)}, noRoute, diag.StatusFailing, catalog.ResetNetwork, "no way out"},
		{"hub silent, nothing else to compare", []dialResult{hub(timeout)}, routeOK, diag.StatusFailing, catalog.ResetNetwork, "cannot be reached"},
		{"hub name unknown", []dialResult{hub(noName)}, routeOK, diag.StatusFailing, catalog.FlushDNS, "cannot be looked up"},
		{"only a target down", []dialResult{hub(nil), other(timeout)}, nil, diag.StatusWarning, catalog.ResetNetwork, "Some configured targets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := gradeReach(tt.rs, tt.route)
			if got.Status != tt.status || got.Fix != tt.fix || !strings.Contains(got.Summary, tt.summary) {
				t.Errorf("got %s %q %q, want %s %q ~%q", got.Status, got.Fix, got.Summary, tt.status, tt.fix, tt.summary)
			}
		})
	}
}
