package inventory

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"

	"github.com/tierline/tierline/shared/diag"
)

// ParseProcWireless reads /proc/net/wireless: the first associated
// interface and its signal level in dBm. The SSID is not in it (it takes an
// nl80211 netlink query), so SSID stays empty.
func ParseProcWireless(b []byte) (iface string, w *diag.WiFi) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 4 {
			continue
		}
		level, err := strconv.ParseFloat(strings.TrimSuffix(f[2], "."), 64)
		if err != nil {
			continue
		}
		if level > 0 { // some drivers report an unsigned 0..255 scale
			level -= 256
		}
		return strings.TrimSpace(name), &diag.WiFi{SignalDBm: int(level)}
	}
	return "", nil
}
