package inventory

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tierline/tierline/shared/diag"
)

// rpmDBDirs are where RPM keeps its database: the newer location first
// (Fedora 36+, openSUSE), then the traditional one.
var rpmDBDirs = []string{"/usr/lib/sysimage/rpm", "/var/lib/rpm"}

// fillSoftware reads dpkg's database directly (no exec) and, when an RPM
// database is present, asks `rpm -qa` for it (RPM keeps it in SQLite or
// Berkeley DB, which the agent does not link a driver for). A machine may
// have both (Debian with rpm installed); packages from both are listed.
func fillSoftware(ctx context.Context, cfg *Config, inv *diag.Inventory) error {
	var errs []error
	dpkgFound := false
	if f, err := os.Open(cfg.path("/var/lib/dpkg/status")); err == nil {
		dpkgFound = true
		sw, err := ParseDpkgStatus(f)
		f.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("parse dpkg status: %w", err))
		}
		setDpkgInstallTimes(cfg, sw)
		inv.Software = append(inv.Software, sw...)
	}
	sw, err := rpmSoftware(ctx, cfg)
	inv.Software = append(inv.Software, sw...)
	switch {
	case err == nil:
	case errors.Is(err, ErrNoData) && dpkgFound:
		// dpkg machine without RPM: nothing missing.
	default:
		errs = append(errs, err)
	}
	if len(inv.Software) == 0 && len(errs) == 0 {
		return noData("no package database found")
	}
	return errors.Join(errs...)
}

// rpmSoftware lists the packages of the first non-empty RPM database
// under the root.
func rpmSoftware(ctx context.Context, cfg *Config) ([]diag.Software, error) {
	dbdir := ""
	for _, d := range rpmDBDirs {
		for _, f := range []string{"rpmdb.sqlite", "Packages", "Packages.db"} {
			if st, err := os.Stat(filepath.Join(cfg.path(d), f)); err == nil && st.Size() > 0 && dbdir == "" {
				dbdir = cfg.path(d)
			}
		}
	}
	if dbdir == "" {
		return nil, noData("no rpm database")
	}
	if !cfg.commands() {
		return nil, noData("rpm database at %s not read from a fixture root", dbdir)
	}
	if _, err := find("rpm"); err != nil {
		return nil, noData("rpm database at %s but no rpm program to read it", dbdir)
	}
	out, err := output(ctx, 60*time.Second, 16<<20, "rpm", "-qa", "--dbpath", dbdir, "--queryformat", RPMQueryFormat)
	if err != nil {
		return ParseRPMQuery(out), fmt.Errorf("rpm -qa: %w", err)
	}
	sw := ParseRPMQuery(out)
	if len(sw) == 0 {
		return nil, noData("rpm database at %s lists no packages", dbdir)
	}
	return sw, nil
}
