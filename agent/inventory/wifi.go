package inventory

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"

	"github.com/tierline/tierline/shared/diag"
)

// Wi-Fi is read at inventory time only, from what the OS already knows
// about the current association: no command used here scans or sends
// anything (`nmcli ... --rescan no`, `iw dev IFACE link`).

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
		if err != nil || level != level || level > 1000 || level < -1000 {
			continue
		}
		if level > 0 { // some drivers report an unsigned 0..255 scale
			level -= 256
		}
		name = strings.TrimSpace(name)
		return name, &diag.WiFi{SignalDBm: int(level), Interface: name}
	}
	return "", nil
}

// ParseIwLink parses `iw dev IFACE link`. It returns nil when the
// interface is not associated ("Not connected.").
func ParseIwLink(out string) *diag.WiFi {
	var w *diag.WiFi
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "Connected to "):
			w = &diag.WiFi{}
			if _, on, ok := strings.Cut(line, "(on "); ok {
				w.Interface = strings.TrimSuffix(on, ")")
			}
		case w == nil:
		case strings.HasPrefix(line, "SSID: "):
			w.SSID = strings.TrimPrefix(line, "SSID: ")
		case strings.HasPrefix(line, "signal: "):
			w.SignalDBm = leadingInt(strings.TrimPrefix(line, "signal: "))
		}
	}
	return w
}

// ParseNmcliWifi parses `nmcli -t -f ACTIVE,SSID,SIGNAL dev wifi list`
// (terse: colon-separated, colons in values escaped as "\:") and returns the
// active network, or nil.
func ParseNmcliWifi(out string) *diag.WiFi {
	for _, line := range strings.Split(out, "\n") {
		f := splitEscaped(strings.TrimRight(line, "\r"), ':')
		if len(f) != 3 || f[0] != "yes" {
			continue
		}
		w := &diag.WiFi{SSID: f[1]}
		if p, err := strconv.Atoi(f[2]); err == nil && p >= 0 && p <= 100 {
			w.SignalPct = p
		}
		return w
	}
	return nil
}

// splitEscaped splits s at sep, honouring backslash escapes.
func splitEscaped(s string, sep byte) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
		case s[i] == sep:
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(s[i])
		}
	}
	return append(out, cur.String())
}

// keyValues parses "Key : Value" lines (netsh, wdutil), in order. Keys
// are trimmed; lines without " : " or ": " are skipped.
func keyValues(out string) [][2]string {
	var kv [][2]string
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kv = append(kv, [2]string{strings.TrimSpace(k), strings.TrimSpace(strings.TrimRight(v, "\r"))})
	}
	return kv
}

// ParseNetshWlan parses `netsh wlan show interfaces` (English output) and
// returns the first connected interface's network, or nil.
func ParseNetshWlan(out string) *diag.WiFi {
	var cur diag.WiFi
	connected := false
	var found *diag.WiFi
	flush := func() {
		if connected && found == nil && cur.SSID != "" {
			w := cur
			found = &w
		}
		cur, connected = diag.WiFi{}, false
	}
	for _, p := range keyValues(out) {
		k, v := p[0], p[1]
		switch k {
		case "Name":
			flush()
			cur.Interface = v
		case "State":
			connected = strings.EqualFold(v, "connected")
		case "SSID":
			cur.SSID = v
		case "Signal":
			if n, err := strconv.Atoi(strings.TrimSuffix(v, "%")); err == nil && n >= 0 && n <= 100 {
				cur.SignalPct = n
			}
		case "Rssi":
			if n, err := strconv.Atoi(v); err == nil && n < 0 && n > -200 {
				cur.SignalDBm = n
			}
		}
	}
	flush()
	return found
}

// ParseWdutil parses the WIFI section of macOS `wdutil info`. It returns
// nil when not associated. A withheld SSID ("<redacted>") is left empty.
func ParseWdutil(out string) *diag.WiFi {
	inWiFi := false
	var w diag.WiFi
	associated := false
	for _, line := range strings.Split(out, "\n") {
		t := strings.TrimSpace(line)
		if t != "" && !strings.Contains(t, ":") && strings.ToUpper(t) == t && strings.IndexFunc(t, isLetter) >= 0 {
			inWiFi = t == "WIFI"
			continue
		}
		if !inWiFi {
			continue
		}
		k, v, ok := strings.Cut(t, ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "Interface Name":
			w.Interface = v
		case "SSID":
			if v != "" && v != "None" {
				associated = true
				if !redacted(v) {
					w.SSID = v
				}
			}
		case "RSSI":
			if n := leadingInt(v); n < 0 {
				w.SignalDBm = n
				associated = associated || v != ""
			}
		case "Op Mode":
			if v == "" || v == "None" {
				return nil
			}
		}
	}
	if !associated {
		return nil
	}
	return &w
}

// ParseSystemProfilerAirPort parses `system_profiler SPAirPortDataType`:
// the network under "Current Network Information:" and its
// "Signal / Noise". It returns nil when not associated.
func ParseSystemProfilerAirPort(out string) *diag.WiFi {
	var w *diag.WiFi
	iface := ""
	inCurrent := false
	for _, line := range strings.Split(out, "\n") {
		t := strings.TrimSpace(strings.TrimRight(line, "\r"))
		switch {
		case t == "":
		case t == "Current Network Information:":
			inCurrent = true
		case strings.HasSuffix(t, ":") && !inCurrent && strings.HasPrefix(t, "en") && !strings.Contains(t, " "):
			iface = strings.TrimSuffix(t, ":")
		case !inCurrent:
		case w == nil && strings.HasSuffix(t, ":"):
			w = &diag.WiFi{SSID: strings.TrimSuffix(t, ":"), Interface: iface}
			if redacted(w.SSID) {
				w.SSID = ""
			}
		case w == nil:
			inCurrent = false
		case strings.HasSuffix(t, ":"): // the next section
			return w
		case strings.HasPrefix(t, "Signal / Noise:"):
			w.SignalDBm = leadingInt(strings.TrimSpace(strings.TrimPrefix(t, "Signal / Noise:")))
		}
	}
	return w
}

func redacted(s string) bool { return s == "<redacted>" || s == "<SSID Redacted>" }

func isLetter(r rune) bool { return r >= 'A' && r <= 'Z' }

// leadingInt parses the integer at the start of s ("-56 dBm" → -56); 0 if
// there is none.
func leadingInt(s string) int {
	s = strings.TrimSpace(s)
	end := 0
	for end < len(s) && (s[end] >= '0' && s[end] <= '9' || end == 0 && s[end] == '-') {
		end++
	}
	n, err := strconv.Atoi(s[:end])
	if err != nil || n < -1000 || n > 1000 {
		return 0
	}
	return n
}
