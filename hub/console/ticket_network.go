package console

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tierline/tierline/shared/diag"
)

// networkView is a ticket's network picture (wire.Snapshot.Network) as
// the ticket page shows it.
type networkView struct {
	Gateway, Interface string
	DNS, Search        []string
	WiFi               string // "" when not associated
	Rows               []networkRow
	Unavailable        []string // "part: reason"
}

// networkRow is one interface.
type networkRow struct {
	Name, Kind, MAC string
	// State is "up", "no link", "down" or "up (link not read)"; Class its
	// badge.
	State, Class string
	Addresses    []string
	Default      bool // the default route goes out of it
}

// Network is the ticket's network picture at filing, or nil when its
// snapshot has none (filed by an older agent, or without a device).
func (d ticketData) Network() *networkView {
	if d.T.Snapshot == nil || d.T.Snapshot.Network == nil {
		return nil
	}
	return makeNetworkView(*d.T.Snapshot.Network)
}

func makeNetworkView(p diag.NetworkPicture) *networkView {
	v := &networkView{Gateway: p.DefaultGateway, Interface: p.DefaultInterface, DNS: p.DNSServers, Search: p.SearchDomains}
	if w := p.WiFi; w != nil {
		parts := []string{w.SSID}
		if w.SSID == "" {
			parts[0] = "network name not known"
		}
		if w.SignalDBm != 0 {
			parts = append(parts, fmt.Sprintf("%d dBm", w.SignalDBm))
		}
		if w.SignalPct != 0 {
			parts = append(parts, fmt.Sprintf("%d%% signal", w.SignalPct))
		}
		if w.Interface != "" {
			parts = append(parts, "on "+w.Interface)
		}
		v.WiFi = strings.Join(parts, " · ")
	}
	for _, i := range p.Interfaces {
		r := networkRow{Name: i.Name, MAC: i.MAC, Addresses: i.Addresses, Default: i.Name != "" && i.Name == p.DefaultInterface}
		if i.Wireless {
			r.Kind = "Wi-Fi"
		}
		switch {
		case !i.Up:
			r.State, r.Class = "down", "warn"
		case i.Carrier == nil:
			r.State, r.Class = "up (link not read)", ""
		case *i.Carrier:
			r.State, r.Class = "up", "pass"
		default:
			r.State, r.Class = "no link", "fail"
		}
		v.Rows = append(v.Rows, r)
	}
	for k, why := range p.Unavailable {
		v.Unavailable = append(v.Unavailable, k+": "+why)
	}
	sort.Strings(v.Unavailable)
	return v
}
