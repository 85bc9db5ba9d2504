package netstate

import (
	"bufio"
	"bytes"
	"net/netip"
	"strings"
)

// ResolvConf is what the agent uses of resolv.conf (on Linux and macOS):
// the name servers, as written (an IPv6 link-local one keeps its %zone),
// and the search domains.
type ResolvConf struct {
	Nameservers []string
	Search      []string
}

// ParseResolvConf parses resolv.conf text. Unknown lines are ignored.
func ParseResolvConf(b []byte) ResolvConf {
	var rc ResolvConf
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if _, err := netip.ParseAddr(strings.SplitN(f[1], "%", 2)[0]); err == nil {
				rc.Nameservers = append(rc.Nameservers, f[1])
			}
		case "search", "domain":
			rc.Search = f[1:]
		}
	}
	return rc
}
