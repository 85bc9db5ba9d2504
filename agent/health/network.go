package health

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

// ResolvConf is what dns-resolution needs from resolv.conf.
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

func checkDNS(ctx context.Context, c *Config) diag.CheckResult {
	var names []string
	if c.HubAddr != "" {
		host, _, _ := net.SplitHostPort(c.HubAddr)
		if _, err := netip.ParseAddr(host); err != nil {
			names = append(names, host)
		}
	}
	names = append(names, c.DNSNames...)
	if len(names) == 0 {
		if c.HubAddr != "" {
			return unknown("The hub is addressed by IP; there is no name to resolve.", ev("hub", "%s", c.HubAddr))
		}
		return unknown("No hub configured; there is no name to resolve.")
	}
	resolver := net.DefaultResolver
	rcPath := c.path("/etc/resolv.conf")
	if c.ResolvConf != "" {
		rcPath = c.ResolvConf
	}
	var evidence []diag.Evidence
	b, err := os.ReadFile(rcPath)
	if err == nil {
		rc := ParseResolvConf(b)
		if len(rc.Nameservers) == 0 {
			evidence = append(evidence, ev("name servers", "none in %s", rcPath))
		} else {
			evidence = append(evidence, ev("name servers", "%s (%s)", strings.Join(rc.Nameservers, ", "), rcPath))
		}
		if c.ResolvConf != "" {
			if len(rc.Nameservers) == 0 {
				return result(diag.StatusFailing, catalog.RenewDHCP, "No DNS server is configured.", evidence...)
			}
			resolver = fileResolver(rc.Nameservers, c.DNSPort)
		}
	} else if c.ResolvConf != "" {
		return unknown("Could not read the resolver configuration.", ev("error", "%v", err))
	}
	failed := 0
	for _, name := range names {
		lctx, cancel := context.WithTimeout(ctx, c.DialTimeout)
		start := time.Now()
		addrs, err := resolver.LookupHost(lctx, name)
		cancel()
		took := time.Since(start).Round(time.Millisecond)
		if err != nil {
			failed++
			evidence = append(evidence, ev(name, "failed after %s: %s", took, dnsError(err)))
			continue
		}
		evidence = append(evidence, ev(name, "%s in %s", strings.Join(addrs, ", "), took))
	}
	switch {
	case failed == len(names):
		return result(diag.StatusFailing, catalog.FlushDNS, "Names do not resolve: DNS is not working.", evidence...)
	case failed > 0:
		return result(diag.StatusWarning, catalog.FlushDNS, "Some names do not resolve.", evidence...)
	}
	return ok("DNS resolves the hub's name.", evidence...)
}

func dnsError(err error) string {
	var de *net.DNSError
	if errors.As(err, &de) {
		switch {
		case de.IsNotFound:
			return "no such name"
		case de.IsTimeout:
			return "timed out"
		}
		return de.Err
	}
	return err.Error()
}

// fileResolver is a Go resolver that queries the given servers instead of
// those of the system configuration.
func fileResolver(servers []string, port int) *net.Resolver {
	var d net.Dialer
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var errs []error
			for _, s := range servers {
				conn, err := d.DialContext(ctx, network, net.JoinHostPort(s, strconv.Itoa(port)))
				if err == nil {
					return conn, nil
				}
				errs = append(errs, err)
			}
			return nil, errors.Join(errs...)
		},
	}
}

// Route is one IPv4 route of /proc/net/route.
type Route struct {
	Iface   string
	Dest    netip.Prefix
	Gateway netip.Addr
	Flags   uint32
	Metric  int
}

const (
	rtfUp      = 0x1
	rtfGateway = 0x2
	rtfReject  = 0x200
)

// ParseRoutes parses /proc/net/route.
func ParseRoutes(b []byte) ([]Route, error) {
	var out []Route
	sc := bufio.NewScanner(bytes.NewReader(b))
	first := true
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if first {
			first = false
			if len(f) > 0 && f[0] == "Iface" {
				continue
			}
		}
		if len(f) < 8 {
			continue
		}
		dst, err1 := hexIPv4(f[1])
		gw, err2 := hexIPv4(f[2])
		flags, err3 := strconv.ParseUint(f[3], 16, 32)
		metric, err4 := strconv.Atoi(f[6])
		mask, err5 := hexIPv4(f[7])
		if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
			return nil, fmt.Errorf("parse route %q: %w", sc.Text(), err)
		}
		bits := 0
		for _, by := range mask.As4() {
			for i := 7; i >= 0 && by&(1<<i) != 0; i-- {
				bits++
			}
		}
		out = append(out, Route{Iface: f[0], Dest: netip.PrefixFrom(dst, bits), Gateway: gw, Flags: uint32(flags), Metric: metric})
	}
	return out, sc.Err()
}

// hexIPv4 decodes an address as /proc/net/route prints it: 8 hex digits in
// host (little-endian on every Linux we run on) byte order.
func hexIPv4(s string) (netip.Addr, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 4 {
		return netip.Addr{}, fmt.Errorf("bad address %q", s)
	}
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], binary.LittleEndian.Uint32(b))
	return netip.AddrFrom4(a), nil
}

// DefaultRoutes returns the usable default routes, best metric first.
func DefaultRoutes(rs []Route) []Route {
	var out []Route
	for _, r := range rs {
		if r.Dest.Bits() == 0 && r.Flags&rtfUp != 0 && r.Flags&rtfReject == 0 {
			out = append(out, r)
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Metric < out[j-1].Metric; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// Neighbor is one entry of /proc/net/arp.
type Neighbor struct {
	IP     netip.Addr
	Flags  uint32
	HWAddr string
	Iface  string
}

// Complete reports whether the neighbour answered (ATF_COM).
func (n Neighbor) Complete() bool { return n.Flags&0x2 != 0 }

// ParseARP parses /proc/net/arp.
func ParseARP(b []byte) ([]Neighbor, error) {
	var out []Neighbor
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 || f[0] == "IP" {
			continue
		}
		ip, err := netip.ParseAddr(f[0])
		if err != nil {
			return nil, fmt.Errorf("parse arp %q: %w", sc.Text(), err)
		}
		flags, err := strconv.ParseUint(strings.TrimPrefix(f[2], "0x"), 16, 32)
		if err != nil {
			return nil, fmt.Errorf("parse arp flags %q: %w", f[2], err)
		}
		out = append(out, Neighbor{IP: ip, Flags: uint32(flags), HWAddr: f[3], Iface: f[5]})
	}
	return out, sc.Err()
}

// HasIPv6Default reports whether /proc/net/ipv6_route holds a usable
// default route (::/0, up, not a reject route, not on lo).
func HasIPv6Default(b []byte) (iface string, okRoute bool) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[0] != strings.Repeat("0", 32) || f[1] != "00" || f[9] == "lo" {
			continue
		}
		flags, err := strconv.ParseUint(f[8], 16, 32)
		if err != nil || flags&rtfUp == 0 || flags&rtfReject != 0 {
			continue
		}
		return f[9], true
	}
	return "", false
}

// gradeRoute is the pure part of default-route.
func gradeRoute(routes []Route, neigh []Neighbor, v6iface string, v6 bool) diag.CheckResult {
	defs := DefaultRoutes(routes)
	if len(defs) == 0 {
		if v6 {
			return ok("There is an IPv6 default route.", ev("default route", "::/0 via %s", v6iface))
		}
		return result(diag.StatusFailing, catalog.RenewDHCP, "There is no default route: the machine cannot reach other networks.",
			ev("routes", "%d, none default", len(routes)))
	}
	r := defs[0]
	if r.Flags&rtfGateway == 0 || !r.Gateway.IsValid() || r.Gateway.IsUnspecified() {
		return ok("The default route goes straight out of an interface.", ev("default route", "dev %s (no gateway)", r.Iface))
	}
	evidence := []diag.Evidence{ev("default route", "via %s dev %s metric %d", r.Gateway, r.Iface, r.Metric)}
	for _, n := range neigh {
		if n.IP != r.Gateway || n.Iface != r.Iface {
			continue
		}
		if n.Complete() {
			return ok("The default gateway is known and answering.", append(evidence, ev("gateway neighbour", "%s, complete", n.HWAddr))...)
		}
		return result(diag.StatusWarning, catalog.ResetNetwork, "The default gateway does not answer.",
			append(evidence, ev("gateway neighbour", "incomplete (flags 0x%x)", n.Flags))...)
	}
	// No neighbour entry only means the gateway was not used recently.
	return ok("There is a default gateway.", append(evidence, ev("gateway neighbour", "no entry (not contacted recently)"))...)
}

func checkReachable(ctx context.Context, c *Config) diag.CheckResult {
	var targets []string
	if c.HubAddr != "" {
		targets = append(targets, c.HubAddr)
	}
	targets = append(targets, c.Targets...)
	if len(targets) == 0 {
		return unknown("No hub configured; nothing to reach.")
	}
	var evidence []diag.Evidence
	failed := 0
	hubFailed := false
	var d net.Dialer
	for i, t := range targets {
		dctx, cancel := context.WithTimeout(ctx, c.DialTimeout)
		start := time.Now()
		conn, err := d.DialContext(dctx, "tcp", t)
		cancel()
		took := time.Since(start).Round(time.Millisecond)
		if err != nil {
			failed++
			if i == 0 && c.HubAddr != "" {
				hubFailed = true
			}
			evidence = append(evidence, ev(t, "not reachable after %s: %v", took, unwrapOp(err)))
			continue
		}
		conn.Close()
		evidence = append(evidence, ev(t, "connected in %s", took))
	}
	switch {
	case hubFailed || failed == len(targets):
		return result(diag.StatusFailing, catalog.ResetNetwork, "The hub cannot be reached.", evidence...)
	case failed > 0:
		return result(diag.StatusWarning, catalog.ResetNetwork, "Some configured targets cannot be reached.", evidence...)
	}
	return ok("The hub is reachable.", evidence...)
}

func unwrapOp(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err
	}
	return err
}
