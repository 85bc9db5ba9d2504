package diag

import (
	"errors"
	"fmt"
	"time"
)

// NetworkPicture is the machine's network at one moment, as a ticket's
// snapshot carries it (wire.Snapshot.Network): each interface with its
// state and addresses, the default route, the DNS servers and search
// domains, the Wi-Fi association. It is read when the user asks for help,
// not taken from the hourly inventory: the network is what most often
// changed.
type NetworkPicture struct {
	Taken time.Time `json:"taken"`
	NetworkConfig
	// Unavailable names the parts that could not be read here, with the
	// reason ("wifi": "no wireless interface").
	Unavailable map[string]string `json:"unavailable,omitempty"`
}

// Limits of a NetworkPicture: a machine with more is cut to these by the
// agent (Clip) and refused beyond them by the hub (Validate).
const (
	MaxNetInterfaces    = 64
	MaxNetAddresses     = 32 // per interface
	MaxNetDNSServers    = 16
	MaxNetSearchDomains = 16
	MaxNetText          = 255 // any one name, address or reason
)

// Clip cuts p to the limits, so a machine with a hundred container
// interfaces still files its ticket.
func (p *NetworkPicture) Clip() {
	if len(p.Interfaces) > MaxNetInterfaces {
		p.Interfaces = p.Interfaces[:MaxNetInterfaces]
	}
	for i := range p.Interfaces {
		if len(p.Interfaces[i].Addresses) > MaxNetAddresses {
			p.Interfaces[i].Addresses = p.Interfaces[i].Addresses[:MaxNetAddresses]
		}
	}
	if len(p.DNSServers) > MaxNetDNSServers {
		p.DNSServers = p.DNSServers[:MaxNetDNSServers]
	}
	if len(p.SearchDomains) > MaxNetSearchDomains {
		p.SearchDomains = p.SearchDomains[:MaxNetSearchDomains]
	}
}

// Validate refuses a picture beyond the limits.
func (p NetworkPicture) Validate() error {
	if len(p.Interfaces) > MaxNetInterfaces {
		return fmt.Errorf("network: more than %d interfaces", MaxNetInterfaces)
	}
	if len(p.DNSServers) > MaxNetDNSServers || len(p.SearchDomains) > MaxNetSearchDomains {
		return fmt.Errorf("network: more than %d DNS servers or %d search domains", MaxNetDNSServers, MaxNetSearchDomains)
	}
	if len(p.Unavailable) > 16 {
		return errors.New("network: more than 16 unavailable parts")
	}
	texts := []string{p.DefaultGateway, p.DefaultInterface}
	texts = append(texts, p.DNSServers...)
	texts = append(texts, p.SearchDomains...)
	for _, i := range p.Interfaces {
		if len(i.Addresses) > MaxNetAddresses {
			return fmt.Errorf("network: interface has more than %d addresses", MaxNetAddresses)
		}
		texts = append(texts, i.Name, i.MAC, i.Gateway)
		texts = append(texts, i.Addresses...)
	}
	if w := p.WiFi; w != nil {
		texts = append(texts, w.SSID, w.Interface)
	}
	for k, v := range p.Unavailable {
		texts = append(texts, k, v)
	}
	for _, t := range texts {
		if len(t) > MaxNetText {
			return fmt.Errorf("network: a value is longer than %d bytes", MaxNetText)
		}
	}
	return nil
}
