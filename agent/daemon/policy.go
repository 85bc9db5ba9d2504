package daemon

import (
	"context"
	"errors"
	"runtime"
	"strconv"

	"github.com/tierline/tierline/agent/fixes"
	"github.com/tierline/tierline/agent/health"
	"github.com/tierline/tierline/agent/hubpolicy"
	"github.com/tierline/tierline/agent/link"
	"github.com/tierline/tierline/agent/localapi"
	"github.com/tierline/tierline/shared/wire"
)

// policyUpdate is a policy from the hub, or why it was refused.
type policyUpdate struct {
	u   wire.PolicyUpdate
	err error
}

// policyDeps are the parts of the running agent a policy changes.
type policyDeps struct {
	link   *link.Link
	checks *health.Runner
	base   health.Config
	runner *fixes.Runner
	api    *localapi.API
}

// applyPolicy applies a policy from the hub (narrowed by the local policy
// file), caches it and reports the version applied. A policy the agent
// refuses leaves the one it applies in place, and the status says why.
// It reports whether the policy changed.
func (a *Agent) applyPolicy(ctx context.Context, pu policyUpdate, d policyDeps) bool {
	log := a.log.With("component", "policy")
	report := func(st wire.PolicyStatus) {
		if err := d.link.Notify(ctx, st); err != nil && !errors.Is(err, link.ErrOffline) {
			log.Warn("reporting the policy applied failed; it is reported again at the next connection", "err", err)
		}
	}
	refuse := func(err error) bool {
		log.Warn("refusing the hub's policy; the one applied stays", "group", pu.u.Group, "version", pu.u.Version, "err", err)
		st := a.hub.Status(runtime.GOOS)
		st.Error = wire.Clip("refused version "+itoa(pu.u.Version)+": "+err.Error(), 1900)
		report(st)
		return false
	}
	if pu.err != nil {
		return refuse(pu.err)
	}
	if pu.u.Version == a.hub.Version && pu.u.Group == a.hub.Group {
		report(a.hub.Status(runtime.GOOS)) // a reconnect: nothing changed
		return false
	}
	ap := hubpolicy.Narrow(a.local, pu.u)
	if err := d.checks.Reconfigure(ap.HealthConfig(d.base), ap.Checks); err != nil {
		return refuse(err)
	}
	if err := hubpolicy.SaveCache(a.cfg.State, pu.u); err != nil {
		log.Error("caching the hub's policy failed; it applies until the agent restarts", "err", err)
	}
	a.hub, a.policy = ap, ap.Fixes
	d.runner.SetPolicy(ap.Fixes)
	d.api.SetPolicy(ap.Fixes)
	d.link.SetFixes(fixes.Supported(runtime.GOOS, ap.Fixes))
	log.Info("applying the hub's policy", "group", ap.Group, "version", ap.Version, "checks", len(ap.Checks), "narrowed", len(ap.Narrowed))
	for _, n := range ap.Narrowed {
		log.Info("the local policy narrows the hub's", "note", n)
	}
	report(ap.Status(runtime.GOOS))
	return true
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
