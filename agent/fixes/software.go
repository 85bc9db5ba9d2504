package fixes

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/tierline/tierline/agent/execx"
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
		p.Steps = append(p.Steps, Step{Argv: c.Argv, Env: c.Env, OKExits: c.OKExits, Optional: c.Optional, KeepTail: true, AptStatus: c.AptStatus})
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
		f, err := os.Open(dpkgStatus)
		if err != nil {
			return "", true, fmt.Errorf("read the dpkg database: %w", err)
		}
		defer f.Close()
		v, err := dpkgVersion(f, name)
		if err != nil {
			return "", true, fmt.Errorf("read the dpkg database: %w", err)
		}
		return v, true, nil
	case manager == software.DNF && runtime.GOOS == catalog.Linux:
		res, err := execx.Run(ctx, execx.Cmd{Argv: []string{"rpm", "-q", "--queryformat", rpmVersionFormat, "--", name}, MaxOutput: 4096})
		switch {
		case err != nil && res.ExitCode == 1: // "package NAME is not installed"
			return "", true, nil
		case err != nil:
			return "", true, fmt.Errorf("ask rpm: %w", err)
		}
		v := strings.TrimSpace(res.Output)
		if strings.ContainsAny(v, " \n") {
			return "", true, fmt.Errorf("rpm answered %q", wire.Clip(v, 80))
		}
		return v, true, nil
	}
	return "", false, nil
}

const (
	dpkgStatus       = "/var/lib/dpkg/status"
	rpmVersionFormat = `%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}`
)

// dpkgVersion finds name's installed version in dpkg's status database
// (paragraphs of "Field: value" lines; continuation lines start with a
// space), "" when it is not installed.
func dpkgVersion(r io.Reader, name string) (string, error) {
	var pkg, ver, status string
	done := func() bool {
		return pkg == name && strings.HasSuffix(status, " installed") && !strings.HasPrefix(status, "deinstall")
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if done() {
				return ver, nil
			}
			pkg, ver, status = "", "", ""
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue
		}
		k, v, _ := strings.Cut(line, ":")
		switch v = strings.TrimSpace(v); k {
		case "Package":
			pkg = v
		case "Version":
			ver = v
		case "Status":
			status = v
		}
	}
	if done() {
		return ver, sc.Err()
	}
	return "", sc.Err()
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
