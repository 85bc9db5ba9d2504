//go:build !linux

package fixes

import "context"

func (l *Local) vacuumJournals(ctx context.Context, x Executor, args map[string]string) ActionResult {
	return ActionResult{NotApplicable: "vacuum-journals trims systemd's journal, which only Linux has"}
}
