package health

import (
	"context"
	"errors"
	"net"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tierline/tierline/agent/netstate"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

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

// dialResult is one TCP connect of hub-reachable.
type dialResult struct {
	Target string
	Hub    bool
	Err    error
	Took   time.Duration
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
	rs := make([]dialResult, len(targets))
	var wg sync.WaitGroup
	var d net.Dialer
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dctx, cancel := context.WithTimeout(ctx, c.DialTimeout)
			defer cancel()
			start := time.Now()
			conn, err := d.DialContext(dctx, "tcp", t)
			rs[i] = dialResult{Target: t, Hub: i == 0 && c.HubAddr != "", Err: err, Took: time.Since(start)}
			if err == nil {
				conn.Close()
			}
		}()
	}
	wg.Wait()
	// The route is only asked about when the hub does not answer, to tell
	// whose fault that is.
	var route *diag.CheckResult
	if rs[0].Hub && rs[0].Err != nil {
		r := checkRoute(ctx, c)
		route = &r
	}
	return gradeReach(rs, route)
}

// gradeReach is the pure part of hub-reachable. route is the default-route
// result, given when the hub did not answer. A hub that refuses the
// connection, or that alone does not answer while the route and other
// targets are fine, is the help desk's fault, not this computer's network.
func gradeReach(rs []dialResult, route *diag.CheckResult) diag.CheckResult {
	var evidence []diag.Evidence
	failed, othersOK := 0, 0
	var hub *dialResult
	for i, r := range rs {
		took := r.Took.Round(time.Millisecond)
		if r.Hub {
			hub = &rs[i]
		}
		if r.Err != nil {
			failed++
			evidence = append(evidence, ev(r.Target, "not reachable after %s: %v", took, unwrapOp(r.Err)))
			continue
		}
		if !r.Hub {
			othersOK++
		}
		evidence = append(evidence, ev(r.Target, "connected in %s", took))
	}
	if hub != nil && hub.Err != nil {
		if route != nil {
			evidence = append(evidence, ev("default route", "%s: %s", route.Status, route.Summary))
		}
		var de *net.DNSError
		switch {
		case errors.As(hub.Err, &de):
			return result(diag.StatusFailing, catalog.FlushDNS, "The help desk's server name cannot be looked up, so it cannot be reached.", evidence...)
		case refused(hub.Err):
			return result(diag.StatusFailing, "", "The help desk's server is not answering: its computer refused the connection. "+
				"The problem is at the help desk's end, not on this computer's network.", evidence...)
		case route != nil && route.Status == diag.StatusFailing:
			return result(diag.StatusFailing, catalog.ResetNetwork, "This computer's network has no way out, so the help desk's server cannot be reached.", evidence...)
		case othersOK > 0:
			return result(diag.StatusFailing, "", "The help desk's server does not answer while other places do: "+
				"the problem is at the server or on the way to it, not on this computer.", evidence...)
		}
		return result(diag.StatusFailing, catalog.ResetNetwork, "The help desk's server cannot be reached.", evidence...)
	}
	switch {
	case failed == len(rs):
		return result(diag.StatusFailing, catalog.ResetNetwork, "The configured targets cannot be reached.", evidence...)
	case failed > 0:
		return result(diag.StatusWarning, catalog.ResetNetwork, "Some configured targets cannot be reached.", evidence...)
	}
	return ok("The hub is reachable.", evidence...)
}

// refused reports whether a connect was refused: the far end is up and
// answered, with nothing listening on the port.
func refused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(err.Error(), "refused")
}

func unwrapOp(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err
	}
	return err
}
