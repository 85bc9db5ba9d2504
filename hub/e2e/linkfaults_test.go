package e2e

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/tierline/tierline/agent/localipc"
)

// Network faults between a real agent and a real hub: a toxiproxy
// (github.com/Shopify/toxiproxy/v2, its server run in the test's process)
// listens on loopback and forwards to the hub; the agent is enrolled with
// the proxy's address as the hub's URL, so all its traffic crosses it.
// Faults are toxics added to and removed from the running proxy; every
// connection the agent makes while a toxic is in place gets it.

// linkProxy is a fault-injecting TCP proxy in front of a hub.
type linkProxy struct {
	t    *testing.T
	p    *toxiproxy.Proxy
	addr string
}

func startLinkProxy(t *testing.T, upstream string) *linkProxy {
	t.Helper()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, "hub", "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		t.Fatalf("start the fault proxy: %v", err)
	}
	t.Cleanup(p.Stop)
	return &linkProxy{t: t, p: p, addr: p.Listen}
}

// add puts a toxic of type typ on stream ("upstream": agent to hub,
// "downstream": hub to agent) with the toxic's attributes as JSON.
func (lp *linkProxy) add(name, typ, stream, attrs string, toxicity ...float64) {
	lp.t.Helper()
	tox := 1.0
	if len(toxicity) > 0 {
		tox = toxicity[0]
	}
	js := fmt.Sprintf(`{"name":%q,"type":%q,"stream":%q,"toxicity":%g,"attributes":%s}`, name, typ, stream, tox, attrs)
	if _, err := lp.p.Toxics.AddToxicJson(strings.NewReader(js)); err != nil {
		lp.t.Fatalf("add toxic %s: %v", js, err)
	}
}

func (lp *linkProxy) remove(names ...string) {
	lp.t.Helper()
	for _, n := range names {
		if err := lp.p.Toxics.RemoveToxic(context.Background(), n); err != nil {
			lp.t.Fatalf("remove toxic %s: %v", n, err)
		}
	}
}

// proxiedAgent enrolls an agent whose hub URL is the proxy's and runs it
// with extra flags.
func proxiedAgent(t *testing.T, h *hub, lp *linkProxy, flags ...string) *agent {
	t.Helper()
	a := enroll(t, h.tokenCreate("--url", "https://"+lp.addr))
	a.run(flags...)
	return a
}

func (h *hub) lastSeq(id string) uint64 {
	h.t.Helper()
	var d device
	h.get("/api/v1/devices/"+id, &d)
	return d.LastSeq
}

// progress waits until the hub has stored more messages from the device
// than it had: the link carries traffic (under whatever fault is on).
// inventoryIn waits until the hub holds the device's first inventory: the
// one large message (the package list), read seconds after start. The
// tests squeeze the link only after it: at 24 KB/s a few hundred KB take
// longer than the 1 s these tests give a pong, so each connection would
// be dropped as dead before the inventory was through (with the default
// 30 s / 10 s ping the same link carries it).
func inventoryIn(t *testing.T, h *hub, id string) {
	t.Helper()
	eventually(t, "the device's first inventory at the hub", 90*time.Second, func() bool {
		var d device
		return h.get("/api/v1/devices/"+id, &d) == http.StatusOK && d.Inventory != nil
	})
}

func progress(t *testing.T, h *hub, id string, more uint64, what string) {
	t.Helper()
	from := h.lastSeq(id)
	eventually(t, fmt.Sprintf("%d more messages at the hub %s", more, what), 90*time.Second, func() bool {
		return h.lastSeq(id) >= from+more
	})
}

// sessions counts the sessions the agent has established (its log).
func sessions(a *agent) int { return strings.Count(a.proc.output(), `msg="connected to hub"`) }

// sessionsLost counts the established sessions the agent lost.
func sessionsLost(a *agent) int {
	return strings.Count(a.proc.output(), `msg="hub connection lost; reconnecting"`)
}

// reconnects waits until the agent has established n more sessions.
func reconnects(t *testing.T, a *agent, n int, what string) {
	t.Helper()
	from := sessions(a)
	eventually(t, fmt.Sprintf("%d new sessions %s", n, what), 90*time.Second, func() bool { return sessions(a) >= from+n })
}

// failedDials waits until n more of the agent's attempts to connect
// have failed.
func failedDials(t *testing.T, a *agent, n int, what string) {
	t.Helper()
	count := func() int { return strings.Count(a.proc.output(), `msg="cannot connect to hub; retrying"`) }
	from := count()
	eventually(t, fmt.Sprintf("%d failed dials %s", n, what), 90*time.Second, func() bool { return count() >= from+n })
}

// TestLinkFaultsEveryMessageOnce: the agent streams telemetry through
// latency with jitter, a bandwidth limit, frames cut into tiny segments,
// connections cut after a few kilobytes (so mid-frame, both before and
// after acks) with a FIN and with a reset (RST), acks that stop coming until the
// proxy closes the connection (a timeout), and dials reset before TLS.
// The hub stores every message
// once, in order, with nothing missing.
func TestLinkFaultsEveryMessageOnce(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	lp := startLinkProxy(t, h.addr)
	start := time.Now().Add(-time.Minute)
	a := proxiedAgent(t, h, lp, "--interval", "50ms", "--ping-interval", "3s", "--ping-timeout", "1s")
	progress(t, h, a.id, 5, "through the proxy")
	inventoryIn(t, h, a.id)

	lp.add("lag_up", "latency", "upstream", `{"latency":150,"jitter":100}`)
	lp.add("lag_down", "latency", "downstream", `{"latency":150,"jitter":100}`)
	progress(t, h, a.id, 20, "with 150±100 ms latency each way")
	lp.remove("lag_up", "lag_down")

	lp.add("narrow", "bandwidth", "upstream", `{"rate":24}`) // KB/s
	progress(t, h, a.id, 20, "at 24 KB/s")
	lp.remove("narrow")

	lp.add("crumbs", "slicer", "upstream", `{"average_size":9,"size_variation":8,"delay":50}`)
	progress(t, h, a.id, 20, "in segments of 1-17 bytes")
	lp.remove("crumbs")

	// Each connection is closed after 20 KB from the agent: the cut falls
	// inside a frame (a TLS record), with frames before it acked or not.
	lp.add("cut", "limit_data", "upstream", `{"bytes":20000}`)
	reconnects(t, a, 4, "with connections cut after 20 KB")
	lp.remove("cut")

	// The same cut as a reset: toxiproxy closes with SO_LINGER 0 (a RST,
	// unsent data discarded) on connections that start while a reset_peer
	// toxic is on; at toxicity 0 that toxic never drops data itself.
	lp.add("linger0", "reset_peer", "downstream", `{"timeout":0}`, 0)
	lp.add("cut", "limit_data", "upstream", `{"bytes":20000}`)
	reconnects(t, a, 4, "with connections reset after 20 KB")
	lp.remove("cut", "linger0")

	// Connections reset as they open, before TLS: the agent keeps dialling.
	lp.add("rst", "reset_peer", "upstream", `{"timeout":100}`)
	failedDials(t, a, 3, "reset as they open")
	lp.remove("rst")
	reconnects(t, a, 1, "once dials are no longer reset")

	// The hub's frames (its acks, its pongs) stop coming on a live
	// session and the proxy closes it once the hub has been quiet for
	// 1.5 s, or the agent's ping gives up first: the agent's
	// unacknowledged messages go again on the next connection, and the hub
	// must not store them twice.
	lost := sessionsLost(a)
	lp.add("stall", "timeout", "downstream", `{"timeout":1500}`)
	eventually(t, "the stalled session to end", 90*time.Second, func() bool { return sessionsLost(a) > lost })
	lp.remove("stall")
	reconnects(t, a, 1, "after the stall")

	progress(t, h, a.id, 20, "after the faults")
	if code := a.proc.stop(); code != 0 {
		t.Errorf("agent exit code = %d", code)
	}
	pts, last, inv := settledTelemetry(t, h, a.id, start)
	if last < 100 {
		t.Errorf("only %d messages reached the hub", last)
	}
	checkContiguous(t, pts, last, inv)
}

// TestLinkHalfOpenNoticed: the path to the hub goes silent, no FIN, no RST
// (the proxy drops everything both ways, as a dead NAT or a cut cable
// far away does; TCP keepalives still get through to the proxy). The
// agent notices by its ping within --ping-interval,
// tells the user it is not connected and why, and reconnects when the
// path works again; what it spooled meanwhile arrives once, in order.
func TestLinkHalfOpenNoticed(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	lp := startLinkProxy(t, h.addr)
	start := time.Now().Add(-time.Minute)
	a := proxiedAgent(t, h, lp, "--interval", "100ms", "--ping-interval", "2s", "--ping-timeout", "1s")
	progress(t, h, a.id, 5, "through the proxy")
	inventoryIn(t, h, a.id)
	eventually(t, "the agent to say it is connected", 30*time.Second, func() bool {
		st, ok := agentStatus(a)
		return ok && st.Connected
	})

	silentAt := time.Now()
	lp.add("silent_up", "timeout", "upstream", `{"timeout":0}`)
	lp.add("silent_down", "timeout", "downstream", `{"timeout":0}`)
	// Without the ping, nothing would end the session: the agent's writes
	// are taken by the proxy and its window of unacknowledged messages
	// fills and waits for acks that never come. A deadline of many ping
	// intervals, not a measurement.
	var st localipc.Status
	eventually(t, "the agent to notice the silent connection and say so", 30*time.Second, func() bool {
		var ok bool
		st, ok = agentStatus(a)
		return ok && !st.Connected
	})
	t.Logf("the agent noticed the silent connection after about %s (--ping-interval 2s: a ping after 1s of quiet, 1s for the pong; status polled every 50 ms)", time.Since(silentAt).Round(100*time.Millisecond))
	if !strings.Contains(st.LastError, "the hub did not answer a ping within 1s") {
		t.Errorf("the agent's status says %q; want why it dropped the connection (the hub did not answer its ping)", st.LastError)
	}
	if out := a.proc.output(); !strings.Contains(out, "hub did not answer ping") {
		t.Errorf("the agent's log does not say the hub stopped answering pings:\n%s", tail(out, 3000))
	}
	// It keeps sampling into the spool while the path is dead.
	eventually(t, "messages queued in the agent", 30*time.Second, func() bool {
		st, ok := agentStatus(a)
		return ok && st.Queued > 5
	})

	lp.remove("silent_up", "silent_down")
	eventually(t, "the agent connected again", 90*time.Second, func() bool {
		st, ok := agentStatus(a)
		return ok && st.Connected
	})
	progress(t, h, a.id, 10, "after the path came back")
	if code := a.proc.stop(); code != 0 {
		t.Errorf("agent exit code = %d", code)
	}
	pts, last, inv := settledTelemetry(t, h, a.id, start)
	checkContiguous(t, pts, last, inv)
	var d device
	if h.get("/api/v1/devices/"+a.id, &d); d.LastSeq != last {
		t.Errorf("last_seq %d, want %d", d.LastSeq, last)
	}
}

// agentStatus asks the running agent for its status over its local
// socket, as the tray does.
func agentStatus(a *agent) (localipc.Status, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := localipc.NewClient(filepath.Join(a.state, localipc.SocketName)).Status(ctx)
	return st, err == nil
}
