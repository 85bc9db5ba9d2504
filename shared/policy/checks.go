package policy

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

// Kinds of declarative check: exactly one of a Check's kind fields is set.
const (
	KindFile     = "file"
	KindRegistry = "registry"
	KindPlist    = "plist"
	KindProcess  = "process"
	KindService  = "service"
	KindDNS      = "dns"
	KindTCP      = "tcp"
	KindHTTP     = "http"
	KindPackage  = "package"
)

// Kinds lists the declarative check kinds.
var Kinds = []string{KindFile, KindRegistry, KindPlist, KindProcess, KindService, KindDNS, KindTCP, KindHTTP, KindPackage}

// Limits of declarative checks.
const (
	// MaxTimeout bounds a network check's timeout; DefaultTimeout is used
	// without one.
	MaxTimeout     = 10 * time.Second
	DefaultTimeout = 3 * time.Second
	// MaxMatchRead is how much of a file a content match reads.
	MaxMatchRead = 1 << 20
	maxPattern   = 512
	// DefaultEvery is how often a check runs in scheduled runs without
	// Every: 50 of them then stay within the agent's CPU budget
	// (docs/benchmarks.md).
	DefaultEvery = 5 * time.Minute
)

// Check is a declarative health check: what to look at and what counts as
// healthy. The agent evaluates it into a result like a built-in check's.
type Check struct {
	// Name is kebab-case, unique, and not a built-in check's name.
	Name string `json:"name"`
	// Title says what is checked, in a few words people understand ("VPN
	// client configured"); the result's summary is built from it.
	Title string `json:"title"`
	// Severity is the status when the check is not met: "failing"
	// (default) or "warning".
	Severity diag.Status `json:"severity,omitempty"`
	// Fix is the catalog fix offered when the check is not met.
	Fix string `json:"fix,omitempty"`
	// OS limits the check to these operating systems (runtime.GOOS names);
	// elsewhere it reports ok with "does not apply". Registry checks are
	// Windows only, plist checks macOS only.
	OS []string `json:"os,omitempty"`
	// Every is how often the check runs at most (1m to 24h, default
	// DefaultEvery): between two runs the agent's scheduled check runs
	// report its last result. Asking for checks (a technician, Get help, a
	// fix's verification) always runs them.
	Every Duration `json:"every,omitzero"`

	File     *FileCheck     `json:"file,omitempty"`
	Registry *RegistryCheck `json:"registry,omitempty"`
	Plist    *PlistCheck    `json:"plist,omitempty"`
	Process  *ProcessCheck  `json:"process,omitempty"`
	Service  *ServiceCheck  `json:"service,omitempty"`
	DNS      *DNSCheck      `json:"dns,omitempty"`
	TCP      *TCPCheck      `json:"tcp,omitempty"`
	HTTP     *HTTPCheck     `json:"http,omitempty"`
	Package  *PackageCheck  `json:"package,omitempty"`
}

// FileCheck: a file exists (or not), is young and big enough, and its
// content matches.
type FileCheck struct {
	// Path is absolute. Environment variables are not expanded.
	Path string `json:"path"`
	// Absent: the check is met when the file does not exist.
	Absent bool `json:"absent,omitempty"`
	// MaxAge: the file was modified at most this long ago.
	MaxAge Duration `json:"max_age,omitzero"`
	// MinSize and MaxSize bound its size in bytes (0: no bound).
	MinSize int64 `json:"min_size,omitempty"`
	MaxSize int64 `json:"max_size,omitempty"`
	// Match is a regular expression (RE2) its first MiB must match. The
	// result says whether it matched, never what.
	Match string `json:"match,omitempty"`
}

// RegistryCheck: a value under HKEY_LOCAL_MACHINE exists (and equals).
type RegistryCheck struct {
	// Key is under HKLM, e.g. `SOFTWARE\Vendor\App`.
	Key string `json:"key"`
	// Value is the value's name ("" is the key's default value).
	Value string `json:"value"`
	// Equals, when set, is what the value must read as (numbers in
	// decimal).
	Equals *string `json:"equals,omitempty"`
}

// PlistCheck: a key of a property list file exists (and equals).
type PlistCheck struct {
	Path string `json:"path"`
	// Key is a top-level key, or a path of keys joined by '/'.
	Key    string  `json:"key"`
	Equals *string `json:"equals,omitempty"`
}

// ProcessCheck: a process of this name is running (or, with Absent, is not).
type ProcessCheck struct {
	Name   string `json:"name"`
	Absent bool   `json:"absent,omitempty"`
}

// ServiceCheck: a service is in a state, as the agent's service manager
// reads it.
type ServiceCheck struct {
	Name string `json:"name"`
	// State is "running" (default) or "stopped".
	State string `json:"state,omitempty"`
}

// DNSCheck: a name resolves through the system resolver.
type DNSCheck struct {
	Name    string   `json:"name"`
	Timeout Duration `json:"timeout,omitzero"`
}

// TCPCheck: a TCP port on a named host accepts a connection.
type TCPCheck struct {
	Host    string   `json:"host"`
	Port    int      `json:"port"`
	Timeout Duration `json:"timeout,omitzero"`
}

// HTTPCheck: a URL answers a HEAD request with the expected status.
// Redirects are not followed: a redirect is the status seen.
type HTTPCheck struct {
	URL string `json:"url"`
	// Status is the expected status (default 200).
	Status  int      `json:"status,omitempty"`
	Timeout Duration `json:"timeout,omitzero"`
}

// PackageCheck: a package is installed (by the agent's inventory) and at
// least a version.
type PackageCheck struct {
	Name string `json:"name"`
	// MinVersion, when set, is the lowest acceptable version (compared as
	// dpkg compares versions).
	MinVersion string `json:"min_version,omitempty"`
	// Absent: the check is met when the package is not installed.
	Absent bool `json:"absent,omitempty"`
}

// Kind returns the kind of check c is ("" when none or several are set).
func (c Check) Kind() string {
	var kinds []string
	for _, k := range []struct {
		name string
		set  bool
	}{{KindFile, c.File != nil}, {KindRegistry, c.Registry != nil}, {KindPlist, c.Plist != nil},
		{KindProcess, c.Process != nil}, {KindService, c.Service != nil}, {KindDNS, c.DNS != nil},
		{KindTCP, c.TCP != nil}, {KindHTTP, c.HTTP != nil}, {KindPackage, c.Package != nil}} {
		if k.set {
			kinds = append(kinds, k.name)
		}
	}
	if len(kinds) != 1 {
		return ""
	}
	return kinds[0]
}

// ValidCheckName reports whether n is kebab-case of 1 to 64 characters.
func ValidCheckName(n string) bool {
	if n == "" || len(n) > 64 || n[0] == '-' || n[len(n)-1] == '-' {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

func (c Check) validate(path string, ps *problems) {
	switch {
	case !ValidCheckName(c.Name):
		ps.add(path+".name", "%q is not a check name (1 to 64 of a-z, 0-9 and '-')", clip(c.Name))
	case diag.KnownCheck(c.Name):
		ps.add(path+".name", "%q is a built-in check's name; choose another", c.Name)
	}
	if msg := textProblem(c.Title, MaxTitleLen); c.Title == "" || msg != "" {
		if msg == "" {
			msg = "required: what is checked, in a few words"
		}
		ps.add(path+".title", "%s", msg)
	}
	if c.Severity != "" && c.Severity != diag.StatusFailing && c.Severity != diag.StatusWarning {
		ps.add(path+".severity", "%q is not \"failing\" or \"warning\"", clip(string(c.Severity)))
	}
	if c.Fix != "" {
		if _, ok := catalog.Get(c.Fix); !ok {
			ps.add(path+".fix", "%q is not a catalog fix", clip(c.Fix))
		}
	}
	for i, o := range c.OS {
		if o != catalog.Linux && o != catalog.Windows && o != catalog.Darwin {
			ps.add(fmt.Sprintf("%s.os[%d]", path, i), "%q is not linux, windows or darwin", clip(o))
		}
	}
	if c.Every != 0 && (c.Every.D() < time.Minute || c.Every.D() > 24*time.Hour) {
		ps.add(path+".every", "%s is outside 1m..24h (0: %s)", c.Every.D(), DefaultEvery)
	}
	kind := c.Kind()
	if kind == "" {
		ps.add(path, "set exactly one of %s", strings.Join(Kinds, ", "))
		return
	}
	path += "." + kind
	timeout := func(t Duration) {
		if t < 0 || t.D() > MaxTimeout {
			ps.add(path+".timeout", "%s is outside 0..%s (0: %s)", t.D(), MaxTimeout, DefaultTimeout)
		}
	}
	switch kind {
	case KindFile:
		f := c.File
		absPath(path+".path", f.Path, ps)
		if f.MaxAge < 0 {
			ps.add(path+".max_age", "must not be negative")
		}
		if f.MinSize < 0 || f.MaxSize < 0 || f.MaxSize != 0 && f.MinSize > f.MaxSize {
			ps.add(path+".min_size", "sizes are 0 or more bytes and min_size is at most max_size")
		}
		if f.Match != "" {
			if len(f.Match) > maxPattern {
				ps.add(path+".match", "%d bytes; at most %d", len(f.Match), maxPattern)
			} else if _, err := regexp.Compile(f.Match); err != nil {
				ps.add(path+".match", "not a regular expression (RE2): %s", clip(err.Error()))
			}
		}
		if f.Absent && (f.MaxAge != 0 || f.MinSize != 0 || f.MaxSize != 0 || f.Match != "") {
			ps.add(path+".absent", "an absent file has no age, size or content to check")
		}
	case KindRegistry:
		r := c.Registry
		if r.Key == "" || strings.HasPrefix(r.Key, `\`) || strings.HasPrefix(strings.ToUpper(r.Key), "HKEY_") || strings.HasPrefix(strings.ToUpper(r.Key), "HKLM") {
			ps.add(path+".key", "%q: give the key under HKEY_LOCAL_MACHINE, e.g. SOFTWARE\\Vendor\\App", clip(r.Key))
		} else if msg := textProblem(r.Key, 255); msg != "" {
			ps.add(path+".key", "%s", msg)
		}
		if msg := textProblem(r.Value, 255); msg != "" {
			ps.add(path+".value", "%s", msg)
		}
		equals(path, r.Equals, ps)
		onlyOS(c, catalog.Windows, path, ps)
	case KindPlist:
		p := c.Plist
		absPath(path+".path", p.Path, ps)
		if msg := textProblem(p.Key, 255); p.Key == "" || msg != "" {
			ps.add(path+".key", "required, at most 255 printable characters")
		}
		equals(path, p.Equals, ps)
		onlyOS(c, catalog.Darwin, path, ps)
	case KindProcess:
		if msg := paramProblem(catalog.EndProcess, "name", c.Process.Name); msg != "" {
			ps.add(path+".name", "%s", msg)
		}
	case KindService:
		if msg := ServiceNameProblem(c.Service.Name); msg != "" {
			ps.add(path+".name", "%s", msg)
		}
		if s := c.Service.State; s != "" && s != "running" && s != "stopped" {
			ps.add(path+".state", "%q is not \"running\" or \"stopped\"", clip(s))
		}
	case KindDNS:
		if !ValidHostName(c.DNS.Name) || net.ParseIP(c.DNS.Name) != nil {
			ps.add(path+".name", "%q is not a DNS name", clip(c.DNS.Name))
		}
		timeout(c.DNS.Timeout)
	case KindTCP:
		if !ValidHostName(c.TCP.Host) {
			ps.add(path+".host", "%q is not a host name or address", clip(c.TCP.Host))
		}
		if c.TCP.Port < 1 || c.TCP.Port > 65535 {
			ps.add(path+".port", "%d is outside 1..65535", c.TCP.Port)
		}
		timeout(c.TCP.Timeout)
	case KindHTTP:
		h := c.HTTP
		u, err := url.Parse(h.URL)
		switch {
		case err != nil || len(h.URL) > 1000:
			ps.add(path+".url", "%q is not a URL", clip(h.URL))
		case u.Scheme != "http" && u.Scheme != "https":
			ps.add(path+".url", "%q: only http and https URLs", clip(h.URL))
		case u.User != nil:
			ps.add(path+".url", "%q: a URL must not carry credentials", clip(h.URL))
		case !ValidHostName(u.Hostname()):
			ps.add(path+".url", "%q: %q is not a host name or address", clip(h.URL), clip(u.Hostname()))
		}
		if h.Status != 0 && (h.Status < 100 || h.Status > 599) {
			ps.add(path+".status", "%d is outside 100..599", h.Status)
		}
		timeout(h.Timeout)
	case KindPackage:
		p := c.Package
		if msg := textProblem(p.Name, 200); p.Name == "" || msg != "" {
			ps.add(path+".name", "required, at most 200 printable characters")
		}
		if msg := textProblem(p.MinVersion, 100); msg != "" {
			ps.add(path+".min_version", "%s", msg)
		}
		if p.Absent && p.MinVersion != "" {
			ps.add(path+".absent", "an absent package has no version to check")
		}
	}
}

func absPath(path, p string, ps *problems) {
	abs := strings.HasPrefix(p, "/") || len(p) > 2 && p[1] == ':' && (p[2] == '\\' || p[2] == '/')
	switch {
	case !abs:
		ps.add(path, "%q is not an absolute path", clip(p))
	case len(p) > 1024:
		ps.add(path, "%d bytes; at most 1024", len(p))
	case slices.Contains(strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }), ".."):
		ps.add(path, "%q: no '..' elements", clip(p))
	default:
		if msg := textProblem(p, 1024); msg != "" {
			ps.add(path, "%s", msg)
		}
	}
}

func equals(path string, v *string, ps *problems) {
	if v == nil {
		return
	}
	if msg := textProblem(*v, 1024); msg != "" {
		ps.add(path+".equals", "%s", msg)
	}
}

func onlyOS(c Check, goos, path string, ps *problems) {
	if len(c.OS) != 0 && !slices.Equal(c.OS, []string{goos}) {
		ps.add(path, "a %s check runs on %s only; leave os empty or set it to [%q]", c.Kind(), goos, goos)
	}
}

// textProblem says why s is not printable text of at most max bytes, or "".
func textProblem(s string, max int) string {
	if len(s) > max {
		return fmt.Sprintf("%d bytes; at most %d", len(s), max)
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return "holds a control character or invalid UTF-8"
		}
	}
	return ""
}

// AppliesTo reports whether c runs on goos.
func (c Check) AppliesTo(goos string) bool {
	switch c.Kind() {
	case KindRegistry:
		return goos == catalog.Windows
	case KindPlist:
		return goos == catalog.Darwin
	}
	return len(c.OS) == 0 || slices.Contains(c.OS, goos)
}

// Interval is how often c runs at most in scheduled runs.
func (c Check) Interval() time.Duration {
	if c.Every != 0 {
		return c.Every.D()
	}
	return DefaultEvery
}

// NotMet is the status c reports when it is not met.
func (c Check) NotMet() diag.Status {
	if c.Severity == diag.StatusWarning {
		return diag.StatusWarning
	}
	return diag.StatusFailing
}
