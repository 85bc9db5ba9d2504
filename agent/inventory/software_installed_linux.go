package inventory

import (
	"os"
	"strings"
	"time"

	"github.com/tierline/tierline/shared/diag"
)

// setDpkgInstallTimes fills Installed for dpkg packages from the
// modification time of their file list in /var/lib/dpkg/info
// (NAME.list, or NAME:ARCH.list for multi-arch packages), which dpkg
// rewrites when it installs or upgrades the package. One directory read
// and one stat per list file, at inventory time.
func setDpkgInstallTimes(cfg *Config, sw []diag.Software) {
	dir := cfg.path("/var/lib/dpkg/info")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	want := map[string]bool{}
	for _, s := range sw {
		if s.Source == "dpkg" {
			want[s.Name] = true
		}
	}
	times := map[string]time.Time{}
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".list")
		if !ok {
			continue
		}
		name, _, _ = strings.Cut(name, ":")
		if !want[name] {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		if t := fi.ModTime().UTC(); t.After(times[name]) {
			times[name] = t
		}
	}
	for i := range sw {
		if sw[i].Source == "dpkg" {
			sw[i].Installed = times[sw[i].Name]
		}
	}
}
