package inventory

import (
	"context"
	"runtime"

	"github.com/tierline/tierline/agent/fixes"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// fillFixes names the catalog fixes for this OS that would only come back
// not_applicable here (the tool they need is missing, systemd is not
// running, ...), with the reason, so the console does not offer them. It
// plans each fix and runs nothing. The policy is not asked: the hello
// already leaves out what the device's policy disables.
func fillFixes(_ context.Context, cfg *Config, inv *diag.Inventory) error {
	if cfg.Root != "/" {
		return noData("fixes are planned on the live machine only")
	}
	m := fixes.LocalMachine()
	for _, f := range catalog.For(runtime.GOOS) {
		if why := fixes.NotApplicableHere(f, m); why != "" {
			if inv.FixesNotApplicable == nil {
				inv.FixesNotApplicable = map[string]string{}
			}
			if len(why) > wire.MaxFixReason {
				why = why[:wire.MaxFixReason]
			}
			inv.FixesNotApplicable[f.ID] = why
		}
	}
	return nil
}
