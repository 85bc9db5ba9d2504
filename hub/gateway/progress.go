package gateway

import (
	"context"

	"github.com/tierline/tierline/shared/wire"
)

// handleRunProgress records a progress step of one of the device's
// running fix runs and tells OnRunProgress. A step of a run that is not
// the device's, or not running (finished, cancelled, unknown), is dropped
// without an error: the agent's step and the run's result may cross.
func (c *agentConn) handleRunProgress(ctx context.Context, env wire.Envelope) error {
	p, err := wire.DecodeBody[wire.RunProgress](env)
	if err != nil {
		c.sendError(wire.CodeOf(err), errMessage(err), 0)
		return err
	}
	ok, err := c.g.cfg.Store.SetRunProgress(ctx, c.deviceID, p, c.g.cfg.Now())
	if err != nil {
		c.log.Warn("record a run's progress", "run", p.RunID, "err", err)
		return nil
	}
	if ok && c.g.cfg.OnRunProgress != nil {
		c.g.cfg.OnRunProgress(ctx, p.RunID)
	}
	return nil
}
