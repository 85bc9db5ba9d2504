package diag

import (
	"strings"
	"testing"
)

func TestNetworkPictureLimits(t *testing.T) {
	ok := NetworkPicture{NetworkConfig: NetworkConfig{Interfaces: []InterfaceConfig{{Name: "eth0", Addresses: []string{"10.0.0.2/24"}}},
		DNSServers: []string{"10.0.0.1"}, SearchDomains: []string{"corp.example"}, WiFi: &WiFi{SSID: "Office"}}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("a small picture: %v", err)
	}
	for name, change := range map[string]func(p *NetworkPicture){
		"too many interfaces": func(p *NetworkPicture) { p.Interfaces = make([]InterfaceConfig, MaxNetInterfaces+1) },
		"too many addresses":  func(p *NetworkPicture) { p.Interfaces[0].Addresses = make([]string, MaxNetAddresses+1) },
		"too many DNS":        func(p *NetworkPicture) { p.DNSServers = make([]string, MaxNetDNSServers+1) },
		"too many search":     func(p *NetworkPicture) { p.SearchDomains = make([]string, MaxNetSearchDomains+1) },
		"a long SSID":         func(p *NetworkPicture) { p.WiFi = &WiFi{SSID: strings.Repeat("x", MaxNetText+1)} },
		"a long address":      func(p *NetworkPicture) { p.Interfaces[0].Addresses = []string{strings.Repeat("1", MaxNetText+1)} },
		"a long reason":       func(p *NetworkPicture) { p.Unavailable = map[string]string{"wifi": strings.Repeat("x", MaxNetText+1)} },
	} {
		p := ok
		p.Interfaces = append([]InterfaceConfig(nil), ok.Interfaces...)
		change(&p)
		if err := p.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
		// What the agent clips to the counts validates, unless a text is too long.
		p.Clip()
		if err := p.Validate(); err != nil && !strings.Contains(err.Error(), "longer") {
			t.Errorf("%s: clipped picture refused: %v", name, err)
		}
	}
}
