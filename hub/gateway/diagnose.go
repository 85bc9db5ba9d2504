package gateway

import (
	"context"
	"sync"

	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// checkWaiters are the callers of Diagnose waiting for a device's answer,
// by CheckRequest id.
type checkWaiters struct {
	mu sync.Mutex
	m  map[string]chan []diag.CheckResult
}

func (w *checkWaiters) add(id string) chan []diag.CheckResult {
	ch := make(chan []diag.CheckResult, 1)
	w.mu.Lock()
	if w.m == nil {
		w.m = map[string]chan []diag.CheckResult{}
	}
	w.m[id] = ch
	w.mu.Unlock()
	return ch
}

func (w *checkWaiters) remove(id string) {
	w.mu.Lock()
	delete(w.m, id)
	w.mu.Unlock()
}

// answer hands a stored Health message to whoever asked for it.
func (w *checkWaiters) answer(id string, checks []diag.CheckResult) {
	w.mu.Lock()
	ch := w.m[id]
	delete(w.m, id)
	w.mu.Unlock()
	if ch != nil {
		ch <- checks
	}
}

// Diagnose runs every health check of a device connected to this hub now
// and returns the results once the hub has stored them (so the device's
// page shows the same). It returns ErrOffline when the device is not
// connected, and the context's error when it does not answer in time.
func (g *Gateway) Diagnose(ctx context.Context, id string) ([]diag.CheckResult, error) {
	return g.DiagnoseID(ctx, id, wire.NewID())
}

// DiagnoseID is Diagnose with the request id chosen by the caller
// (another replica that took the ticket).
func (g *Gateway) DiagnoseID(ctx context.Context, id, requestID string) ([]diag.CheckResult, error) {
	g.mu.Lock()
	c := g.conns[id]
	g.mu.Unlock()
	if c == nil {
		return nil, ErrOffline
	}
	req := wire.CheckRequest{RequestID: requestID}
	ch := g.checks.add(req.RequestID)
	defer g.checks.remove(req.RequestID)
	if err := c.write(ctx, req); err != nil {
		return nil, err
	}
	select {
	case checks := <-ch:
		return checks, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
