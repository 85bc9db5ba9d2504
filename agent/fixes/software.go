package fixes

import (
	"context"
	"fmt"
	"os"
	"runtime"

	"github.com/tierline/tierline/agent/execx"
	"github.com/tierline/tierline/agent/inventory"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/software"
	"github.com/tierline/tierline/shared/wire"
)

// SoftwareSource gives the entries of the organisation's signed software
// catalog this agent accepted, each verified against the pinned key
// (agent/recipes.Store).
type SoftwareSource interface {
	Software(id string) (software.Entry, bool)
	SoftwareList() []software.Entry
}

// ActVerifyPackage reads the package database after an install.
const ActVerifyPackage = "verify-package"

// NotInCatalog is the reason install-software gives for an entry this
// device does not hold.
func NotInCatalog(id string) string {
	return fmt.Sprintf("%q is not in this device's signed software catalog: only packages of entries signed by the organisation's "+
		"pinned key and published to this device's group are installed (`tierline-agent software` lists them)", id)
}

// SoftwarePlan is install-software's plan for entry id on m: the
// manager's fixed commands (software.Plan), then the package database
// read to verify the package is there at the entry's version.
func SoftwarePlan(src SoftwareSource, id string, m Machine) (Plan, error) {
	if src == nil {
		return Plan{}, &RefusalError{Code: wire.RefuseBadParams, Reason: NotInCatalog(id)}
	}
	e, ok := src.Software(id)
	if !ok {
		return Plan{}, &RefusalError{Code: wire.RefuseBadParams, Reason: NotInCatalog(id)}
	}
	if e.OS() != m.GOOS {
		return Plan{}, notApplicable("%s is installed with %s, which is for %s; this computer runs %s", e.Title, e.Manager, e.OS(), m.GOOS)
	}
	prog := map[string]string{software.Apt: "apt-get", software.DNF: "dnf", software.Winget: "winget", software.Brew: "/usr/bin/sudo"}[e.Manager]
	if !m.has(prog) {
		return Plan{}, notApplicable("%s is installed with %s, and %s is not on this computer", e.Title, e.Manager, prog)
	}
	cmds, err := software.Plan(e, m.ConsoleUser)
	if err != nil {
		return Plan{}, notApplicable("%v", err)
	}
	var p Plan
	for _, c := range cmds {
		p.Steps = append(p.Steps, Step{Argv: c.Argv, Env: c.Env, OKExits: c.OKExits, Optional: c.Optional, KeepTail: true})
	}
	p.Steps = append(p.Steps, Step{Action: &Action{Name: ActVerifyPackage, Args: map[string]string{
		"manager": e.Manager, "package": e.Package, "pin": e.Pin, "min_version": e.MinVersion}}})
	p.Note, p.SelfVerified = fmt.Sprintf("(software %s version %d)", e.ID, e.Version), true
	return p, nil
}

// InstalledVersion is the version of manager's package name the OS's
// package database holds, "" when it is not installed. ok is false when
// the agent cannot read that manager's database here.
func InstalledVersion(ctx context.Context, manager, name string) (version string, ok bool, err error) {
	switch {
	case manager == software.Apt && runtime.GOOS == catalog.Linux:
		f, err := os.Open("/var/lib/dpkg/status")
		if err != nil {
			return "", true, fmt.Errorf("read the dpkg database: %w", err)
		}
		defer f.Close()
		pkgs, err := inventory.ParseDpkgStatus(f)
		if err != nil {
			return "", true, fmt.Errorf("read the dpkg database: %w", err)
		}
		for _, p := range pkgs {
			if p.Name == name {
				return p.Version, true, nil
			}
		}
		return "", true, nil
	case manager == software.DNF && runtime.GOOS == catalog.Linux:
		res, err := execx.Run(ctx, execx.Cmd{Argv: []string{"rpm", "-q", "--queryformat", inventory.RPMQueryFormat, "--", name}, MaxOutput: 4096})
		if err != nil && res.ExitCode != 1 {
			return "", true, fmt.Errorf("ask rpm: %w", err)
		}
		for _, p := range inventory.ParseRPMQuery(res.Output) {
			if p.Name == name {
				return p.Version, true, nil
			}
		}
		return "", true, nil
	}
	return "", false, nil
}

// verifyPackage is the action after an install: the package must be in
// the package database at the entry's version.
func verifyPackage(ctx context.Context, args map[string]string) ActionResult {
	e := software.Entry{Manager: args["manager"], Package: args["package"], Pin: args["pin"], MinVersion: args["min_version"]}
	v, ok, err := InstalledVersion(ctx, e.Manager, e.Package)
	switch {
	case err != nil:
		return ActionResult{Err: err}
	case !ok:
		return ActionResult{Output: fmt.Sprintf("%s reported success; the agent cannot read %s's package list on this OS to verify it\n", e.Manager, e.Manager),
			Summary: fmt.Sprintf("%s reported %s installed (not verified on this OS).", e.Manager, e.Package)}
	case v == "":
		return ActionResult{Err: fmt.Errorf("%s finished, but %s is not in the package database afterwards", e.Manager, e.Package)}
	case !e.Satisfied(v):
		return ActionResult{Err: fmt.Errorf("%s %s is installed, but the catalog asks for %s", e.Package, v, e.Constraint())}
	}
	return ActionResult{Output: fmt.Sprintf("package database: %s %s installed\n", e.Package, v),
		Summary: fmt.Sprintf("Verified: %s %s is installed (%s).", e.Package, v, e.Constraint())}
}
