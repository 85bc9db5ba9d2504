package inventory

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"howett.net/plist"

	"github.com/tierline/tierline/shared/diag"
)

// fillSoftware reads each /Applications/*.app's Info.plist.
func fillSoftware(_ context.Context, cfg *Config, inv *diag.Inventory) error {
	apps, _ := filepath.Glob(cfg.path("/Applications/*.app"))
	for _, app := range apps {
		b, err := os.ReadFile(filepath.Join(app, "Contents", "Info.plist"))
		if err != nil {
			continue
		}
		sw, ok := parseInfoPlist(b)
		if !ok {
			sw.Name = strings.TrimSuffix(filepath.Base(app), ".app")
		}
		sw.Source = "applications"
		inv.Software = append(inv.Software, sw)
	}
	if len(inv.Software) == 0 {
		return noData("no applications found")
	}
	return nil
}

func parseInfoPlist(b []byte) (diag.Software, bool) {
	var p struct {
		Name    string `plist:"CFBundleName"`
		Display string `plist:"CFBundleDisplayName"`
		Short   string `plist:"CFBundleShortVersionString"`
		Version string `plist:"CFBundleVersion"`
		ID      string `plist:"CFBundleIdentifier"`
	}
	if _, err := plist.Unmarshal(b, &p); err != nil {
		return diag.Software{}, false
	}
	sw := diag.Software{Name: firstNonEmpty(p.Display, p.Name), Version: firstNonEmpty(p.Short, p.Version)}
	if parts := strings.Split(p.ID, "."); len(parts) >= 2 {
		sw.Publisher = parts[1]
	}
	return sw, sw.Name != ""
}
