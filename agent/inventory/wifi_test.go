package inventory

import (
	"os"
	"testing"
)

func TestParseProcWireless(t *testing.T) {
	b, _ := os.ReadFile("testdata/wireless/associated")
	iface, w := ParseProcWireless(b)
	if iface != "wlp2s0" || w == nil || w.SignalDBm != -56 {
		t.Errorf("associated: %q %+v", iface, w)
	}
	b, _ = os.ReadFile("testdata/wireless/none")
	if _, w := ParseProcWireless(b); w != nil {
		t.Errorf("no wireless: %+v", w)
	}
}
