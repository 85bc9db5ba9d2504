package inventory

import (
	"context"

	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// fillFixes names the catalog fixes that would only come back
// not_applicable on this machine (the tool they need is missing, systemd
// is not running, ...), with the reason, so the console does not offer
// them. The agent passes Config.FixesNotApplicable (agent/fixes plans each
// fix and runs nothing); the inventory does not import the fixes, which
// import the health checks in their tests.
func fillFixes(_ context.Context, cfg *Config, inv *diag.Inventory) error {
	if cfg.FixesNotApplicable == nil {
		return noData("not asked for")
	}
	for id, why := range cfg.FixesNotApplicable() {
		if inv.FixesNotApplicable == nil {
			inv.FixesNotApplicable = map[string]string{}
		}
		if len(why) > wire.MaxFixReason {
			why = why[:wire.MaxFixReason]
		}
		inv.FixesNotApplicable[id] = why
	}
	return nil
}
