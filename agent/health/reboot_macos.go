package health

import (
	"strings"

	"howett.net/plist"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

// MacUpdate is one entry of RecommendedUpdates in macOS's
// /Library/Preferences/com.apple.SoftwareUpdate.plist.
type MacUpdate struct {
	Name       string `plist:"Display Name"`
	Version    string `plist:"Display Version"`
	Identifier string `plist:"Identifier"`
	ProductKey string `plist:"Product Key"`
}

// NeedsRestart reports whether installing the update restarts the Mac:
// macOS system updates (product keys MSU_UPDATE_*, or named macOS) do;
// Safari, XProtect and command-line tools updates do not.
func (u MacUpdate) NeedsRestart() bool {
	return strings.HasPrefix(u.ProductKey, "MSU_UPDATE_") || strings.HasPrefix(u.Name, "macOS") ||
		strings.Contains(u.Identifier, "macOS") || strings.Contains(u.Name, "Security Response")
}

// ParseSoftwareUpdatePlist reads com.apple.SoftwareUpdate.plist (binary
// or XML) and returns its recommended updates.
func ParseSoftwareUpdatePlist(b []byte) ([]MacUpdate, error) {
	var p struct {
		Recommended []MacUpdate `plist:"RecommendedUpdates"`
	}
	if _, err := plist.Unmarshal(b, &p); err != nil {
		return nil, err
	}
	return p.Recommended, nil
}

// gradeMacUpdates is the pure part of pending-reboot on macOS.
func gradeMacUpdates(updates []MacUpdate) diag.CheckResult {
	var names []string
	for _, u := range updates {
		if u.NeedsRestart() {
			names = append(names, strings.TrimSpace(u.Name+" "+u.Version))
		}
	}
	if len(names) == 0 {
		return ok("No restart is pending.", ev("recommended updates", "%d, none needing a restart", len(updates)))
	}
	if len(names) > 5 {
		names = append(names[:5], "...")
	}
	return result(diag.StatusWarning, catalog.ScheduleReboot, "macOS updates are waiting to be installed with a restart.",
		ev("updates", "%s", strings.Join(names, ", ")))
}
