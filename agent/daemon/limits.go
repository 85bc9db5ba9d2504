package daemon

import (
	"flag"

	"github.com/tierline/tierline/shared/ratelimit"
)

// Limits bound what the local socket's callers can make the agent do
// (docs/operations.md, "Limits"). A zero Limit is no limit.
type Limits struct {
	// Help bounds the help requests of one local user, HelpDevice those
	// of the whole computer (gethelp.Limits).
	Help, HelpDevice ratelimit.Limit
	// Fix bounds the fixes one unprivileged local user runs.
	Fix ratelimit.Limit
}

// AddLimitFlags registers the `run` flags of the local limits.
func (c *Config) AddLimitFlags(fs *flag.FlagSet) {
	fs.Var(&c.Limits.Help, "help-limit", "help requests one local user may file, COUNT/DURATION (a burst of COUNT, then one every DURATION/COUNT), or off; the user is told when they can ask again")
	fs.Var(&c.Limits.HelpDevice, "help-device-limit", "help requests this computer may file in all, COUNT/DURATION or off (keep it below the hub's --device-budgets help_request)")
	fs.Var(&c.Limits.Fix, "fix-limit", "fixes one local user (not the administrator) may run from the tray or the Get help page, COUNT/DURATION or off")
}
