package gateway

import (
	"context"
	"fmt"
	"time"

	"github.com/tierline/tierline/shared/wire"
)

// What hub/replicas needs of the gateway when several hubs share a
// PostgreSQL database: another replica asks, over LISTEN/NOTIFY, the one
// holding a device's connection to send it what the store has for it.

// resendTimeout bounds one device's resend.
const resendTimeout = 30 * time.Second

// SendPendingRuns sends a device connected here its queued fix runs (and
// those sent but not answered, which the agent answers without running
// again), as at its connection. It reports whether the device is here.
func (g *Gateway) SendPendingRuns(ctx context.Context, id string) bool {
	c := g.conn(id)
	if c == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, resendTimeout)
	defer cancel()
	g.sendPending(ctx, c)
	return true
}

// SendCatchUp sends a device connected here its tickets' recent updates,
// as at its connection.
func (g *Gateway) SendCatchUp(ctx context.Context, id string) bool {
	c := g.conn(id)
	if c == nil {
		return false
	}
	c.sendCatchUp(ctx)
	return true
}

// ResendAll sends every device connected here what the store holds for
// it (queued runs, ticket catch-up, policy, recipes), as at its
// connection: after a replica's listener reconnects, so nothing announced
// while it was not listening waits for the device's next connection.
func (g *Gateway) ResendAll(ctx context.Context) {
	g.mu.Lock()
	conns := make([]*agentConn, 0, len(g.conns))
	for _, c := range g.conns {
		conns = append(conns, c)
	}
	g.mu.Unlock()
	for _, c := range conns {
		if ctx.Err() != nil {
			return
		}
		cctx, cancel := context.WithTimeout(ctx, resendTimeout)
		g.sendPending(cctx, c)
		c.sendCatchUp(cctx)
		g.sendPolicy(cctx, c)
		g.sendRecipes(cctx, c)
		cancel()
	}
}

// ConnectedDevices lists the ids of the devices connected here.
func (g *Gateway) ConnectedDevices() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	ids := make([]string, 0, len(g.conns))
	for id := range g.conns {
		ids = append(ids, id)
	}
	return ids
}

// RunStoredElsewhere wakes this hub's WaitRun callers for a run whose
// result another replica stored.
func (g *Gateway) RunStoredElsewhere(id string) {
	g.waiters.mu.Lock()
	ws := g.waiters.m[id]
	delete(g.waiters.m, id)
	g.waiters.mu.Unlock()
	for _, w := range ws {
		close(w)
	}
}

// RequestChecksID is RequestChecks with the request id chosen by the
// caller (another replica that answered the API call).
func (g *Gateway) RequestChecksID(ctx context.Context, id, requestID string, names []string) error {
	c := g.conn(id)
	if c == nil {
		return ErrOffline
	}
	req := wire.CheckRequest{RequestID: requestID, Names: names}
	if err := req.Validate(); err != nil {
		return err
	}
	if err := c.write(ctx, req); err != nil {
		return fmt.Errorf("send check request: %w", err)
	}
	return nil
}

func (g *Gateway) conn(id string) *agentConn {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.conns[id]
}
