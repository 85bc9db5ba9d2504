// Package software is the organisation's self-service software catalog:
// packages users may install themselves from the OS's own package manager,
// each entry a document signed with the organisation's key (shared/orgdoc,
// kind "software"), like a fix recipe.
//
// An entry names one package of one manager (apt, dnf, winget, Homebrew),
// an optional version constraint, and what the user is shown. Names and
// versions are checked against each manager's own grammar (a Debian
// package name is [a-z0-9][a-z0-9+.-]+), so nothing in an entry can be an
// option, a path or a shell word, and the command that installs it is
// fixed per manager (Plan): the entry gives the package and nothing else.
// See docs/software.md.
package software

import (
	"crypto/ed25519"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/tierline/tierline/shared/orgdoc"
	"github.com/tierline/tierline/shared/pkgversion"
)

// Package managers.
const (
	Apt    = "apt"
	DNF    = "dnf"
	Winget = "winget"
	Brew   = "brew"
)

// Managers lists the package managers an entry may name.
var Managers = []string{Apt, DNF, Winget, Brew}

// MaxVersion bounds an entry's version.
const MaxVersion = 1 << 53

// Entry is one catalog entry.
type Entry struct {
	// ID names the entry; install requests name it. It shares the
	// namespace of recipe ids (a group's documents are one set).
	ID      string `json:"id"`
	Version int64  `json:"version"`
	Title   string `json:"title"`
	// Description is what the user reads before installing.
	Description string `json:"description,omitempty"`
	Manager     string `json:"manager"`
	// Package is the manager's name for it: a Debian or RPM package
	// name, a winget package id, a Homebrew formula.
	Package string `json:"package"`
	// Pin, when set, is the exact version to install (apt NAME=V, dnf
	// NAME-V, winget --version V); MinVersion the lowest version the
	// verification accepts. Both are package versions of the manager's
	// grammar.
	Pin        string `json:"pin,omitempty"`
	MinVersion string `json:"min_version,omitempty"`
}

// OS is the operating system the entry's manager runs on.
func (e Entry) OS() string {
	switch e.Manager {
	case Winget:
		return "windows"
	case Brew:
		return "darwin"
	}
	return "linux"
}

func invalid(format string, args ...any) error {
	return &orgdoc.Error{Reason: fmt.Sprintf(format, args...)}
}

var (
	// Debian policy 5.6.1: at least two characters, lower case letters,
	// digits, + - ., starting with a letter or digit.
	debName = regexp.MustCompile(`\A[a-z0-9][a-z0-9+.-]{1,127}\z`)
	// RPM names: no glob characters, no leading '-'.
	rpmName = regexp.MustCompile(`\A[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}\z`)
	// winget ids: Publisher.Package (and Store ids like 9WZDNCRFJ3PZ).
	wingetID = regexp.MustCompile(`\A[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}\z`)
	// Homebrew formulae: python@3.12, node, gnu-sed; an optional tap
	// (user/tap/formula) is not allowed: only the core taps.
	brewName = regexp.MustCompile(`\A[a-z0-9][a-z0-9@._+-]{0,127}\z`)
	// A package version as dpkg and rpm write them: an optional epoch,
	// then letters, digits and . + ~ - _, starting with a digit.
	pkgVersion = regexp.MustCompile(`\A([0-9]{1,9}:)?[0-9][A-Za-z0-9.+~_-]{0,127}\z`)
)

// CheckName checks a package name against manager's grammar.
func CheckName(manager, name string) error {
	var re *regexp.Regexp
	switch manager {
	case Apt:
		re = debName
	case DNF:
		re = rpmName
	case Winget:
		re = wingetID
	case Brew:
		re = brewName
	default:
		return invalid("package manager %q is not one of %s", orgdoc.Clip(manager), strings.Join(Managers, ", "))
	}
	if !re.MatchString(name) || strings.Contains(name, "..") {
		return invalid("%q is not a valid %s package name (%s)", orgdoc.Clip(name), manager, grammar(manager))
	}
	return nil
}

func grammar(manager string) string {
	switch manager {
	case Apt:
		return "2 to 128 of a-z, 0-9, '+', '-' and '.', starting with a letter or digit"
	case DNF:
		return "1 to 128 of letters, digits, '_', '.', '+' and '-', not starting with '-' or '.'"
	case Winget:
		return "a winget package id: letters, digits, '.', '_', '+' and '-', starting with a letter or digit"
	}
	return "a Homebrew formula: 1 to 128 of a-z, 0-9, '@', '.', '_', '+' and '-', starting with a letter or digit"
}

// CheckVersion checks a package version string.
func CheckVersion(v string) error {
	if !pkgVersion.MatchString(v) || strings.Contains(v, "..") {
		return invalid("%q is not a package version (digits first, then letters, digits and . + ~ - _; an epoch N: may lead)", orgdoc.Clip(v))
	}
	return nil
}

// Validate checks every field. An entry that fails it is refused whole.
func (e Entry) Validate() error {
	if !orgdoc.ValidID(e.ID) {
		return invalid("software entry id %q must be 1 to 64 of a-z, 0-9 and '-'", orgdoc.Clip(e.ID))
	}
	if e.Version < 1 || e.Version > MaxVersion {
		return invalid("software %s: version must be a whole number from 1", e.ID)
	}
	for name, s := range map[string]struct {
		v        string
		min, max int
	}{"title": {e.Title, 1, 200}, "description": {e.Description, 0, 2000}} {
		if len(s.v) < s.min || len(s.v) > s.max || strings.ContainsFunc(s.v, unicode.IsControl) || strings.ContainsRune(s.v, unicode.ReplacementChar) {
			return invalid("software %s: %s must be %d to %d bytes without control characters", e.ID, name, s.min, s.max)
		}
	}
	if !slices.Contains(Managers, e.Manager) {
		return invalid("software %s: package manager %q is not one of %s", e.ID, orgdoc.Clip(e.Manager), strings.Join(Managers, ", "))
	}
	if err := CheckName(e.Manager, e.Package); err != nil {
		return invalid("software %s: %v", e.ID, err)
	}
	for name, v := range map[string]string{"pin": e.Pin, "min_version": e.MinVersion} {
		if v == "" {
			continue
		}
		if err := CheckVersion(v); err != nil {
			return invalid("software %s: %s: %v", e.ID, name, err)
		}
	}
	if e.Pin != "" && e.Manager == Brew {
		return invalid("software %s: Homebrew installs only a formula's current version; leave pin empty (min_version is checked after)", e.ID)
	}
	if e.Pin != "" && e.MinVersion != "" && pkgversion.Less(e.Pin, e.MinVersion) {
		return invalid("software %s: pin %s is below min_version %s", e.ID, e.Pin, e.MinVersion)
	}
	return nil
}

// Satisfied reports whether installed, the version the OS reports, meets
// the entry's constraint ("" is not installed).
func (e Entry) Satisfied(installed string) bool {
	switch {
	case installed == "":
		return false
	case e.Pin != "" && pkgversion.Compare(installed, e.Pin) != 0:
		return false
	case e.MinVersion != "" && pkgversion.Less(installed, e.MinVersion):
		return false
	}
	return true
}

// Constraint describes the entry's version rule for people.
func (e Entry) Constraint() string {
	switch {
	case e.Pin != "":
		return "version " + e.Pin
	case e.MinVersion != "":
		return "version " + e.MinVersion + " or later"
	}
	return "any version"
}

// Command is one command of an install plan.
type Command struct {
	Argv []string
	// Env is the command's whole environment (nil: the minimal one).
	Env []string
	// OKExits are exit codes besides 0 that mean success.
	OKExits []int
	// Optional: a failure does not stop the install.
	Optional bool
	// AptStatus: the command writes apt's status lines
	// ("pmstatus:hello:40:Unpacking hello") to standard output
	// (APT::Status-Fd=1), which the agent reports as the run's progress.
	AptStatus bool
}

// SystemEnv is the environment apt and dnf run with.
var SystemEnv = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "LC_ALL=C"}

// Plan returns the fixed commands that install e. The entry contributes
// only its package name and pinned version, which Validate checked; every
// other element is fixed here, and the package is always after "--" or
// an option that takes it as its value. user is the console user's
// account name for Homebrew, which refuses to run as root ("" refuses).
func Plan(e Entry, user string) ([]Command, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	switch e.Manager {
	case Apt:
		target := e.Package
		if e.Pin != "" {
			target += "=" + e.Pin
		}
		env := append(slices.Clone(SystemEnv), "DEBIAN_FRONTEND=noninteractive", "APT_LISTCHANGES_FRONTEND=none", "NEEDRESTART_MODE=l")
		return []Command{
			// A source that cannot be reached fails update but leaves the
			// lists it had: install then says whether the package is there.
			{Argv: []string{"apt-get", "-q", "update"}, Env: env, Optional: true},
			{Argv: []string{"apt-get", "install", "-y", "-q", "--no-install-recommends",
				"-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold", "-o", "APT::Status-Fd=1", "--", target},
				Env: env, AptStatus: true},
		}, nil
	case DNF:
		target := e.Package
		if e.Pin != "" {
			target += "-" + e.Pin
		}
		return []Command{{Argv: []string{"dnf", "install", "-y", "-q", "--setopt=install_weak_deps=False", "--", target},
			Env: slices.Clone(SystemEnv)}}, nil
	case Winget:
		argv := []string{"winget", "install", "--exact", "--id", e.Package, "--source", "winget", "--scope", "machine", "--silent",
			"--disable-interactivity", "--accept-package-agreements", "--accept-source-agreements"}
		if e.Pin != "" {
			argv = append(argv, "--version", e.Pin)
		}
		return []Command{{Argv: argv}}, nil
	case Brew:
		if !accountName.MatchString(user) || user == "root" {
			return nil, invalid("Homebrew installs as the logged-in user, and no user is logged in at the screen")
		}
		// Homebrew refuses root; it runs as the console user, with the
		// prefix's brew (Apple silicon first, then Intel).
		return []Command{{Argv: []string{"/usr/bin/sudo", "-n", "-H", "-u", user, "--", brewPath, "install", "--formula", "--", e.Package}}}, nil
	}
	return nil, invalid("package manager %q is not one of %s", orgdoc.Clip(e.Manager), strings.Join(Managers, ", "))
}

const brewPath = "/opt/homebrew/bin/brew"

var accountName = regexp.MustCompile(`\A[a-z_][a-z0-9_.-]{0,31}\z`)

// Sign signs e (after checking it) with the organisation's key.
func Sign(priv ed25519.PrivateKey, e Entry) (orgdoc.Signed, error) {
	return orgdoc.SignDoc(priv, orgdoc.KindSoftware, e)
}

// Open verifies a signed entry against pub and returns it checked.
func Open(s orgdoc.Signed, pub ed25519.PublicKey) (Entry, error) {
	return orgdoc.OpenDoc[Entry](s, orgdoc.KindSoftware, pub)
}

// Parse decodes and checks a signed entry's body without verifying the
// signature: for the hub, which holds no key, and after Verify.
func Parse(s orgdoc.Signed) (Entry, error) {
	return orgdoc.ParseDoc[Entry](s, orgdoc.KindSoftware)
}
