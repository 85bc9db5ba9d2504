package inventory

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tierline/tierline/shared/diag"
)

func fixture(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseProcWireless(t *testing.T) {
	iface, w := ParseProcWireless([]byte(fixture(t, "wireless/associated")))
	if iface != "wlp2s0" || w == nil || w.SignalDBm != -56 || w.Interface != "wlp2s0" {
		t.Errorf("associated: %q %+v", iface, w)
	}
	if _, w := ParseProcWireless([]byte(fixture(t, "wireless/none"))); w != nil {
		t.Errorf("no wireless: %+v", w)
	}
}

func TestWiFiParsers(t *testing.T) {
	tests := []struct {
		file  string
		parse func(string) *diag.WiFi
		want  *diag.WiFi
	}{
		{"wifi/iw-link-connected", ParseIwLink, &diag.WiFi{SSID: "Office Guest", SignalDBm: -61, Interface: "wlp2s0"}},
		{"wifi/iw-link-not-connected", ParseIwLink, nil},
		{"wifi/nmcli-active", ParseNmcliWifi, &diag.WiFi{SSID: "Home:5G", SignalPct: 78}},
		{"wifi/nmcli-none", ParseNmcliWifi, nil},
		{"wifi/netsh-connected", ParseNetshWlan, &diag.WiFi{SSID: "CORP-WLAN", SignalPct: 92, SignalDBm: -45, Interface: "Wi-Fi"}},
		{"wifi/netsh-two-interfaces", ParseNetshWlan, &diag.WiFi{SSID: "Home", SignalPct: 64, Interface: "Wi-Fi 2"}},
		{"wifi/netsh-no-wlansvc", ParseNetshWlan, nil},
		{"wifi/wdutil-connected", ParseWdutil, &diag.WiFi{SSID: "Studio 5G", SignalDBm: -58, Interface: "en0"}},
		{"wifi/wdutil-redacted", ParseWdutil, &diag.WiFi{SignalDBm: -58, Interface: "en0"}},
		{"wifi/wdutil-off", ParseWdutil, nil},
		{"wifi/system_profiler-airport", ParseSystemProfilerAirPort, &diag.WiFi{SSID: "Studio 5G", SignalDBm: -58, Interface: "en0"}},
		{"wifi/system_profiler-airport-not-associated", ParseSystemProfilerAirPort, nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.parse(fixture(t, tt.file))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzWiFiParsers(f *testing.F) {
	files, _ := filepath.Glob("testdata/wifi/*")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(string(b))
	}
	f.Add("yes:a\\")
	f.Fuzz(func(t *testing.T, s string) {
		for _, parse := range []func(string) *diag.WiFi{ParseIwLink, ParseNmcliWifi, ParseNetshWlan, ParseWdutil, ParseSystemProfilerAirPort} {
			if w := parse(s); w != nil && (w.SignalPct < 0 || w.SignalPct > 100 || w.SignalDBm > 1000 || w.SignalDBm < -1000) {
				t.Errorf("signal out of range: %+v", w)
			}
		}
		ParseProcWireless([]byte(s))
	})
}
