package health

import (
	"strings"
	"testing"

	"github.com/tierline/tierline/agent/netstate"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

func TestGradeWiFi(t *testing.T) {
	wlan := func(admin, carrier bool) netstate.Link {
		return netstate.Link{Name: "wlp2s0", AdminUp: admin, Carrier: carrier, Wireless: true, Physical: true}
	}
	eth := netstate.Link{Name: "enp0s31f6", AdminUp: true, Carrier: true, Physical: true}
	sig := func(dbm int) *diag.WiFi { return &diag.WiFi{Interface: "wlp2s0", SignalDBm: dbm} }
	tests := []struct {
		name    string
		links   []netstate.Link
		signal  *diag.WiFi
		status  diag.Status
		fix     string
		summary string
	}{
		{"no adapter", []netstate.Link{eth}, nil, diag.StatusOK, "", "no Wi-Fi adapter"},
		{"good", []netstate.Link{wlan(true, true)}, sig(-56), diag.StatusOK, "", "good signal"},
		{"weak", []netstate.Link{wlan(true, true)}, sig(-74), diag.StatusWarning, "", "weak"},
		{"poor", []netstate.Link{wlan(true, true)}, sig(-85), diag.StatusFailing, "", "very weak"},
		{"not joined", []netstate.Link{wlan(true, false)}, nil, diag.StatusWarning, "", "not connected"},
		{"not joined, on cable", []netstate.Link{wlan(true, false), eth}, nil, diag.StatusOK, "", "another network connection"},
		{"switched off", []netstate.Link{wlan(false, false)}, nil, diag.StatusWarning, catalog.ResetNetwork, "switched off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := gradeWiFi(tt.links, tt.signal)
			if got.Status != tt.status || got.Fix != tt.fix || !strings.Contains(got.Summary, tt.summary) {
				t.Errorf("got %s %q %q", got.Status, got.Fix, got.Summary)
			}
		})
	}
}
