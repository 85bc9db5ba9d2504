package gateway

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/wire"
)

// runs tracks the waiters for fix-run results on this hub.
type runWaiters struct {
	mu sync.Mutex
	m  map[string][]chan struct{}
}

// DispatchRun sends a queued run to its device when the device is
// connected to this hub. Otherwise the run waits in the device's queue in
// the store and is sent, in order, when the device connects. It reports
// whether the run went out now.
func (g *Gateway) DispatchRun(ctx context.Context, r store.Run) (bool, error) {
	g.mu.Lock()
	c := g.conns[r.DeviceID]
	g.mu.Unlock()
	if c == nil {
		return false, nil
	}
	c.runMu.Lock()
	defer c.runMu.Unlock()
	if err := c.write(ctx, r.Request()); err != nil {
		return false, fmt.Errorf("send run %s: %w", r.ID, err)
	}
	if r.State == store.RunSent {
		return true, nil // stored as sent already
	}
	// Recording the delivery is off the request path: until it is
	// recorded the run only looks queued, and a result stored first wins.
	at := g.cfg.Now()
	go func() {
		if err := g.cfg.Store.MarkRunSent(context.WithoutCancel(ctx), r.ID, at); err != nil {
			g.log.Warn("mark run sent", "run", r.ID, "err", err)
		}
	}()
	return true, nil
}

// sendPending delivers a newly connected device's queue, oldest first.
// Runs sent before but never answered go again: the agent answers a run
// it already handled with its recorded result and does not run it twice.
func (g *Gateway) sendPending(ctx context.Context, c *agentConn) {
	c.runMu.Lock()
	defer c.runMu.Unlock()
	runs, err := g.cfg.Store.PendingRuns(ctx, c.deviceID, g.cfg.Now())
	if err != nil {
		c.log.Warn("read the device's queued fix runs; they will be sent at its next connection", "err", err)
		return
	}
	for _, r := range runs {
		if err := c.write(ctx, r.Request()); err != nil {
			c.log.Info("sending queued fix runs stopped", "err", err)
			return
		}
		if r.State == store.RunQueued {
			if err := g.cfg.Store.MarkRunSent(ctx, r.ID, g.cfg.Now()); err != nil {
				c.log.Warn("mark run sent", "run", r.ID, "err", err)
			}
		}
	}
	if len(runs) > 0 {
		c.log.Info("sent queued fix runs", "runs", len(runs))
	}
}

// WaitRun returns a channel closed when this hub stores the result of run
// id, and a function to stop waiting. Callers check the store after
// calling WaitRun, so a result stored in between is not missed.
func (g *Gateway) WaitRun(id string) (<-chan struct{}, func()) {
	ch := make(chan struct{})
	g.waiters.mu.Lock()
	g.waiters.m[id] = append(g.waiters.m[id], ch)
	g.waiters.mu.Unlock()
	return ch, func() {
		g.waiters.mu.Lock()
		defer g.waiters.mu.Unlock()
		ws := g.waiters.m[id]
		for i, w := range ws {
			if w == ch {
				ws = append(ws[:i], ws[i+1:]...)
				break
			}
		}
		if len(ws) == 0 {
			delete(g.waiters.m, id)
		} else {
			g.waiters.m[id] = ws
		}
	}
}

// runFinished is called after a run's result (or its expiry) is stored.
func (g *Gateway) runFinished(r store.Run) {
	g.waiters.mu.Lock()
	ws := g.waiters.m[r.ID]
	delete(g.waiters.m, r.ID)
	g.waiters.mu.Unlock()
	for _, w := range ws {
		close(w)
	}
	outcome := r.Outcome
	if outcome == "" {
		outcome = r.State
	}
	g.metrics.runs.WithLabelValues(r.Fix, outcome).Inc()
	if r.FinishedAt != nil {
		g.metrics.runSeconds.Observe(r.FinishedAt.Sub(r.CreatedAt).Seconds())
	}
	if g.cfg.OnRunFinished != nil {
		g.cfg.OnRunFinished(r)
	}
}

// expiryLoop ends runs that can no longer be delivered.
func (g *Gateway) expiryLoop(ctx context.Context) {
	t := time.NewTicker(g.cfg.RunExpiryPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ids, err := g.cfg.Store.ExpireRuns(ctx, g.cfg.Now())
		if err != nil && ctx.Err() == nil {
			g.log.Warn("expire fix runs", "err", err)
		}
		for _, id := range ids {
			g.runFinished(store.Run{ID: id, State: store.RunExpired})
		}
	}
}

// Notify sends an unsequenced message to a connected device (a ticket
// update, say). ErrOffline when it is not connected to this hub.
func (g *Gateway) Notify(ctx context.Context, deviceID string, body wire.Body) error {
	g.mu.Lock()
	c := g.conns[deviceID]
	g.mu.Unlock()
	if c == nil {
		return ErrOffline
	}
	return c.write(ctx, body)
}
