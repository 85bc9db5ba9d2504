package health

import (
	"context"
	"errors"
	"io/fs"
	"os"

	"github.com/tierline/tierline/shared/diag"
)

const macUpdatePlist = "/Library/Preferences/com.apple.SoftwareUpdate.plist"

// checkReboot reads what softwareupdate last found (its preferences
// file; no network, no softwareupdate run): macOS updates waiting there
// install only with a restart.
func checkReboot(_ context.Context, c *Config) diag.CheckResult {
	b, err := os.ReadFile(c.path(macUpdatePlist))
	if errors.Is(err, fs.ErrNotExist) {
		return ok("No restart is pending.", ev("checked", "%s (absent)", macUpdatePlist))
	}
	if err != nil {
		return unknown("Could not read the software update state.", ev("error", "%v", err))
	}
	updates, err := ParseSoftwareUpdatePlist(b)
	if err != nil {
		return unknown("Could not parse the software update state.", ev("error", "%v", err))
	}
	return gradeMacUpdates(updates)
}
