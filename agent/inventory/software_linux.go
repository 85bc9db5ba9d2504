package inventory

import (
	"context"
	"fmt"
	"os"

	"github.com/tierline/tierline/shared/diag"
)

// fillSoftware reads dpkg's database directly (no exec). RPM keeps its
// database in SQLite or Berkeley DB; reading it would take exec or an SQL
// driver in the agent, so RPM systems report software as unavailable.
func fillSoftware(_ context.Context, cfg *Config, inv *diag.Inventory) error {
	f, err := os.Open(cfg.path("/var/lib/dpkg/status"))
	if err != nil {
		if _, rerr := os.Stat(cfg.path("/var/lib/rpm")); rerr == nil {
			return noData("rpm database not read (would need exec or an SQL driver)")
		}
		return noData("no package database found")
	}
	defer f.Close()
	sw, err := ParseDpkgStatus(f)
	if err != nil {
		return fmt.Errorf("parse dpkg status: %w", err)
	}
	inv.Software = sw
	return nil
}
