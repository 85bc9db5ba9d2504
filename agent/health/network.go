package health

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/tierline/tierline/agent/netstate"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

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
		rc := netstate.ParseResolvConf(b)
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

func checkRoute(_ context.Context, c *Config) diag.CheckResult {
	t, err := netstate.ReadRouteTable(c.Root)
	if errors.Is(err, errors.ErrUnsupported) {
		return unknown("The default-route check is not implemented on " + runtime.GOOS + ".")
	}
	if err != nil {
		return unknown("Could not read the routing table.", ev("error", "%v", err))
	}
	return gradeRoute(t)
}

// gradeRoute is the pure part of default-route.
func gradeRoute(t netstate.Table) diag.CheckResult {
	defs := netstate.DefaultRoutes(t.Routes)
	if len(defs) == 0 {
		if t.V6 {
			return ok("There is an IPv6 default route.", ev("default route", "::/0 via %s", t.V6Iface))
		}
		return result(diag.StatusFailing, catalog.RenewDHCP, "There is no default route: the machine cannot reach other networks.",
			ev("routes", "%d, none default", len(t.Routes)))
	}
	r := defs[0]
	if !r.ViaGateway() {
		return ok("The default route goes straight out of an interface.", ev("default route", "dev %s (no gateway)", r.Iface))
	}
	evidence := []diag.Evidence{ev("default route", "via %s dev %s metric %d", r.Gateway, r.Iface, r.Metric)}
	if n, found := t.Neighbor(r.Gateway, r.Iface); found {
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
