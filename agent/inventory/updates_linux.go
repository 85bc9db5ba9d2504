package inventory

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tierline/tierline/shared/diag"
)

// fillUpdates reports pending OS updates from apt (Debian, Ubuntu) or dnf
// (Fedora, RHEL), whichever the machine has. It runs the package
// manager's own simulation or cache query (no download, no lock) once per
// inventory, under the part's timeout.
func fillUpdates(ctx context.Context, cfg *Config, inv *diag.Inventory) error {
	if _, err := os.Stat(cfg.path("/var/lib/dpkg/status")); err == nil {
		st, err := aptUpdates(ctx, cfg)
		if err != nil {
			return err
		}
		inv.Updates = st
		return nil
	}
	if _, err := os.Stat(cfg.path("/etc/dnf/dnf.conf")); err == nil {
		st, err := dnfUpdates(ctx, cfg)
		if err != nil {
			return err
		}
		inv.Updates = st
		return nil
	}
	return noData("neither apt nor dnf found")
}

func aptUpdates(ctx context.Context, cfg *Config) (*diag.UpdateStatus, error) {
	if !cfg.commands() {
		return nil, noData("apt updates not read from a fixture root")
	}
	if _, err := find("apt-get"); err != nil {
		return nil, noData("no apt-get program")
	}
	ups, err := aptPending(ctx, cfg)
	if err != nil {
		return nil, err
	}
	st := &diag.UpdateStatus{Manager: "apt"}
	setPending(st, ups)
	seenPending.stamp(st, ups, time.Now())
	st.LastCheck = aptListsTime(cfg)
	if f, err := os.Open(cfg.path("/var/log/apt/history.log")); err == nil {
		text, _ := tail(f, 256<<10)
		f.Close()
		if t := ParseAptHistory(text); !t.IsZero() {
			st.LastSuccess = t.UTC()
		}
	}
	st.Automatic, st.AutomaticDetail = ParseAptPeriodic(readConfDir(cfg.path("/etc/apt/apt.conf.d")))
	return st, nil
}

// aptCache keeps the last simulation's result with the state of apt's
// databases it was computed from: while dpkg's status and apt's lists are
// unchanged, so is the answer, and apt-get is not run again.
var aptCache struct {
	sync.Mutex
	key string
	ups []diag.PendingUpdate
}

// aptPending runs `apt-get -s dist-upgrade` (dist-upgrade, not upgrade:
// updates that need a new dependency are pending too) unless dpkg's status
// and apt's lists are as they were at the last run.
func aptPending(ctx context.Context, cfg *Config) ([]diag.PendingUpdate, error) {
	var key strings.Builder
	for _, p := range []string{"/var/lib/dpkg/status", "/var/lib/apt/lists", "/etc/apt/sources.list", "/etc/apt/sources.list.d"} {
		if fi, err := os.Stat(cfg.path(p)); err == nil {
			fmt.Fprintf(&key, "%s %d %d;", cfg.path(p), fi.ModTime().UnixNano(), fi.Size())
		}
	}
	aptCache.Lock()
	defer aptCache.Unlock()
	if aptCache.key != "" && aptCache.key == key.String() {
		return aptCache.ups, nil
	}
	out, err := output(ctx, 60*time.Second, 4<<20, "apt-get", "-s", "-q", "-o", "Debug::NoLocking=true", "dist-upgrade")
	if err != nil {
		return nil, fmt.Errorf("apt-get -s dist-upgrade: %w", err)
	}
	aptCache.key, aptCache.ups = key.String(), ParseAptSimulate(out)
	return aptCache.ups, nil
}

// aptListsTime is when apt last refreshed its lists: the newest Release
// file under /var/lib/apt/lists (one stat per archive).
func aptListsTime(cfg *Config) time.Time {
	var newest time.Time
	for _, pat := range []string{"*_InRelease", "*_Release"} {
		ms, _ := filepath.Glob(filepath.Join(cfg.path("/var/lib/apt/lists"), pat))
		for _, m := range ms {
			if fi, err := os.Stat(m); err == nil && fi.ModTime().After(newest) {
				newest = fi.ModTime()
			}
		}
	}
	if newest.IsZero() {
		return newest
	}
	return newest.UTC()
}

// readConfDir concatenates the files of an apt.conf.d-style directory in
// name order, each at most 64 KiB.
func readConfDir(dir string) string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		f, err := os.Open(filepath.Join(dir, n))
		if err != nil {
			continue
		}
		buf := make([]byte, 64<<10)
		k, _ := f.Read(buf)
		f.Close()
		b.Write(buf[:k])
		b.WriteByte('\n')
	}
	return b.String()
}

func dnfUpdates(ctx context.Context, cfg *Config) (*diag.UpdateStatus, error) {
	if !cfg.commands() {
		return nil, noData("dnf updates not read from a fixture root")
	}
	if _, err := find("dnf"); err != nil {
		return nil, noData("no dnf program")
	}
	// -C: from the metadata cache only; check-update exits 100 when
	// updates are pending, which is not a failure.
	out, err := output(ctx, 60*time.Second, 4<<20, "dnf", "-q", "-C", "check-update")
	if err != nil && !strings.Contains(err.Error(), "status 100") {
		return nil, fmt.Errorf("dnf check-update: %w", err)
	}
	ups := ParseDnfCheckUpdate(out)
	sec, err := output(ctx, 60*time.Second, 4<<20, "dnf", "-q", "-C", "updateinfo", "list", "--updates", "security")
	if err == nil {
		names := ParseDnfSecurity(sec)
		for i := range ups {
			ups[i].Security = names[ups[i].Name]
		}
	}
	st := &diag.UpdateStatus{Manager: "dnf"}
	setPending(st, ups)
	seenPending.stamp(st, ups, time.Now())
	if hist, err := output(ctx, 30*time.Second, 1<<20, "dnf", "-q", "history", "list"); err == nil {
		if t := ParseDnfHistory(hist); !t.IsZero() {
			st.LastSuccess = t.UTC()
		}
	}
	conf, err := os.ReadFile(cfg.path("/etc/dnf/automatic.conf"))
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		timers, _ := filepath.Glob(cfg.path("/etc/systemd/system/timers.target.wants/dnf-automatic*.timer"))
		st.Automatic, st.AutomaticDetail = ParseDnfAutomatic(string(conf), len(timers) > 0)
	} else {
		st.Automatic, st.AutomaticDetail = "off", "dnf-automatic is not installed"
	}
	return st, nil
}
