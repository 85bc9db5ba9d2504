package gateway

import (
	"context"
	"errors"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/wire"
)

// sendPolicy sends a device the policy of its group at its site (see
// store.PolicyFor for which), or version 0 when there is none, so an agent drops a policy
// taken away. The agent answers with a policy status.
func (g *Gateway) sendPolicy(ctx context.Context, c *agentConn) {
	c.policyMu.Lock()
	defer c.policyMu.Unlock()
	u := wire.PolicyUpdate{}
	p, err := g.cfg.Store.PolicyForDevice(ctx, c.deviceID, c.group())
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		c.log.Warn("read the device's policy; it is sent at its next connection", "err", err)
		return
	default:
		u = wire.PolicyUpdate{Group: p.Group, Version: p.Version, UpdatedAt: p.CreatedAt, Policy: &p.Doc}
	}
	// Validated when saved, and again here: the agent refuses what does not
	// validate, and a policy saved under older rules must not go out.
	if err := u.Validate(); err != nil {
		c.log.Error("not sending a policy that does not validate; save it again", "group", p.Group, "version", p.Version, "err", err)
		return
	}
	if err := c.write(ctx, u); err != nil {
		c.log.Info("sending the policy failed; it is sent at the next connection", "err", err)
	}
}

// PolicyChanged sends the new policy of group to the devices connected
// here that it reaches: the group's own, and for the default group every
// device (those whose group has a policy of its own get theirs again,
// which they answer without change).
func (g *Gateway) PolicyChanged(ctx context.Context, group string) {
	g.mu.Lock()
	var conns []*agentConn
	for _, c := range g.conns {
		if group == store.DefaultGroup || c.group() == group {
			conns = append(conns, c)
		}
	}
	g.mu.Unlock()
	for _, c := range conns {
		g.sendPolicy(ctx, c)
	}
}

// DeviceGroupChanged tells a connected device's connection its new group
// and sends it that group's policy and recipes.
func (g *Gateway) DeviceGroupChanged(ctx context.Context, id, group string) {
	g.mu.Lock()
	c := g.conns[id]
	g.mu.Unlock()
	if c == nil {
		return
	}
	c.setGroup(group)
	g.sendPolicy(ctx, c)
	g.sendRecipes(ctx, c)
}

// handlePolicyStatus records the policy a device says it applies.
func (c *agentConn) handlePolicyStatus(ctx context.Context, env wire.Envelope) error {
	st, err := wire.DecodeBody[wire.PolicyStatus](env)
	if err != nil {
		c.sendError(wire.CodeOf(err), errMessage(err), 0)
		return err
	}
	dp := store.DevicePolicy{Group: st.Group, Version: st.Version, Error: st.Error, Narrowed: st.Narrowed, Checks: st.Checks, ReportedAt: c.g.cfg.Now()}
	fixes := st.Fixes
	if fixes == nil {
		fixes = []string{}
	}
	if err := c.g.cfg.Store.SetDevicePolicy(ctx, c.deviceID, dp, fixes); err != nil {
		c.log.Warn("record the device's policy status", "err", err)
	}
	if st.Error != "" {
		c.log.Warn("device refused its policy", "version", st.Version, "error", st.Error)
	}
	return nil
}

func (c *agentConn) group() string {
	c.groupMu.Lock()
	defer c.groupMu.Unlock()
	return c.grp
}

func (c *agentConn) setGroup(g string) {
	c.groupMu.Lock()
	c.grp = g
	c.groupMu.Unlock()
}
