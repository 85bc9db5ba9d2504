package inventory

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tierline/tierline/shared/diag"
)

func wifiRoot(t *testing.T, wireless bool) string {
	t.Helper()
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "sys/class/net/eth0"), 0o755)
	if wireless {
		os.MkdirAll(filepath.Join(root, "sys/class/net/wlp2s0/wireless"), 0o755)
		os.MkdirAll(filepath.Join(root, "proc/net"), 0o755)
		os.WriteFile(filepath.Join(root, "proc/net/wireless"), []byte(fixture(t, "wireless/associated")), 0o644)
	}
	return root
}

func TestFillWiFiLinux(t *testing.T) {
	tests := []struct {
		name     string
		wireless bool
		programs map[string]string
		want     *diag.WiFi
		unavail  string // substring of the error; "" for none
		ran      []string
	}{
		{"desktop without Wi-Fi runs nothing", false, map[string]string{"iw": "", "nmcli": ""}, nil, "no wireless interface", nil},
		{"iw", true, map[string]string{"iw": fixture(t, "wifi/iw-link-connected"), "nmcli": ""},
			&diag.WiFi{SSID: "Office Guest", SignalDBm: -61, Interface: "wlp2s0"}, "", []string{"iw dev wlp2s0 link"}},
		{"nmcli without iw; signal from /proc", true, map[string]string{"nmcli": fixture(t, "wifi/nmcli-active")},
			&diag.WiFi{SSID: "Home:5G", SignalPct: 78, SignalDBm: -56}, "",
			[]string{"nmcli -t -f ACTIVE,SSID,SIGNAL dev wifi list --rescan no"}},
		{"no tools: signal only", true, map[string]string{},
			&diag.WiFi{SignalDBm: -56, Interface: "wlp2s0"}, "neither iw nor nmcli", nil},
		{"iw says not connected, /proc has a level", true, map[string]string{"iw": fixture(t, "wifi/iw-link-not-connected")},
			&diag.WiFi{SignalDBm: -56, Interface: "wlp2s0"}, "no association", []string{"iw dev wlp2s0 link"}},
		{"nmcli fails", true, map[string]string{"nmcli": "!Error: NetworkManager is not running."},
			&diag.WiFi{SignalDBm: -56, Interface: "wlp2s0"}, "nmcli", []string{"nmcli -t -f ACTIVE,SSID,SIGNAL dev wifi list --rescan no"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fe := &fakeExec{programs: tt.programs}
			fe.install(t)
			var inv diag.Inventory
			err := fillWiFi(context.Background(), &Config{Root: wifiRoot(t, tt.wireless), fakeCommands: true}, &inv)
			if diff := cmp.Diff(tt.want, inv.Network.WiFi); diff != "" {
				t.Errorf("wifi (-want +got):\n%s", diff)
			}
			if (err == nil) != (tt.unavail == "") || err != nil && !strings.Contains(err.Error(), tt.unavail) {
				t.Errorf("err = %v, want one containing %q", err, tt.unavail)
			}
			if diff := cmp.Diff(tt.ran, fe.ran); diff != "" {
				t.Errorf("commands (-want +got):\n%s", diff)
			}
		})
	}
}
