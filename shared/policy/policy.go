// Package policy is the device policy an admin sets per device group on
// the hub: health check thresholds and interval, the names and targets the
// network checks test, watched services, fix limits, consent rules and
// declarative checks. The hub validates a policy when it is saved and
// again before it sends it; the agent validates it once more, narrows it
// by the machine's local policy file (which the hub can never widen) and
// applies it. See docs/policy.md.
//
// Nothing in a policy makes the agent run a program: declarative checks
// read files, the registry, property lists, the process table, the service
// manager, the resolver and the inventory, and open TCP connections and
// HTTP HEAD requests.
package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/tierline/tierline/shared/catalog"
)

// MaxSize bounds an encoded policy (the API body, the wire body, the
// agent's cached copy).
const MaxSize = 256 << 10

// Limits on a policy's lists.
const (
	MaxChecks   = 100
	MaxNames    = 32 // DNS names, targets, watched services, fixes
	MaxTitleLen = 200
)

// Document is one version of a device group's policy. Zero fields leave
// the agent's own setting (its flags, local policy file and defaults).
type Document struct {
	// Thresholds of the built-in health checks.
	Thresholds Thresholds `json:"thresholds,omitzero"`
	// CheckEvery is how often the health checks run (10s to 1h; agent
	// default 1m).
	CheckEvery Duration `json:"check_every,omitzero"`
	// DNSNames are names dns-resolution asks every resolver for, besides
	// the hub's.
	DNSNames []string `json:"dns_names,omitempty"`
	// Targets are host:port that hub-reachable also connects to.
	Targets []string `json:"targets,omitempty"`
	// WatchedServices are services service-stopped watches; restart-service
	// may restart them unless RestartWatchedServices is false (here or in
	// the machine's local policy file).
	WatchedServices []string `json:"watched_services,omitempty"`
	// RestartWatchedServices: nil or true lets restart-service restart the
	// watched services; false keeps it to its built-in list.
	RestartWatchedServices *bool `json:"restart_watched_services,omitempty"`
	// DisabledFixes are catalog fixes refused on the group's devices.
	DisabledFixes []string `json:"disabled_fixes,omitempty"`
	// MaxTier: fixes above this tier are refused (0..3; nil: no limit).
	MaxTier *int `json:"max_tier,omitempty"`
	// TechnicianConsent: false makes fixes that need consent ask the user
	// even when a technician says the user agreed.
	TechnicianConsent *bool `json:"technician_consent,omitempty"`
	// ConsentRequired are fixes that must ask the user's consent even
	// where the catalog does not require it.
	ConsentRequired []string `json:"consent_required,omitempty"`
	// Checks are declarative health checks.
	Checks []Check `json:"checks,omitempty"`
}

// Thresholds of built-in checks. Zero means the agent's default; a
// warning and failing pair is set together.
type Thresholds struct {
	DiskWarnPct          float64  `json:"disk_warn_pct,omitempty"`
	DiskFailPct          float64  `json:"disk_fail_pct,omitempty"`
	MemWarnPct           float64  `json:"memory_warn_pct,omitempty"`
	MemFailPct           float64  `json:"memory_fail_pct,omitempty"`
	CPUBusyPct           float64  `json:"cpu_busy_pct,omitempty"`
	CPUWarnFor           Duration `json:"cpu_warn_for,omitzero"`
	CPUFailFor           Duration `json:"cpu_fail_for,omitzero"`
	ClockWarn            Duration `json:"clock_warn,omitzero"`
	ClockFail            Duration `json:"clock_fail,omitzero"`
	BatteryWarnPct       float64  `json:"battery_warn_pct,omitempty"`
	BatteryFailPct       float64  `json:"battery_fail_pct,omitempty"`
	UptimeWarn           Duration `json:"uptime_warn,omitzero"`
	SecurityUpdateMaxAge Duration `json:"security_update_max_age,omitzero"`
	PrintJobStuckAfter   Duration `json:"print_job_stuck_after,omitzero"`
}

// Duration is a time.Duration written as Go writes it ("90s", "5m").
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`a duration is a string such as "90s", "5m" or "2h"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf(`%q is not a duration (write e.g. "90s", "5m" or "2h")`, clip(s))
	}
	*d = Duration(v)
	return nil
}

// Problem is one thing wrong with a policy: where (a field path such as
// "checks[2].tcp.port") and what is allowed there.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (p Problem) String() string { return p.Path + ": " + p.Message }

// ValidationError lists a policy's problems.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	s := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		s[i] = p.String()
	}
	return "invalid policy: " + strings.Join(s, "; ")
}

// maxProblems bounds the problems one validation reports.
const maxProblems = 20

type problems struct{ list []Problem }

func (ps *problems) add(path, format string, args ...any) {
	if len(ps.list) < maxProblems {
		ps.list = append(ps.list, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
}

func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	return &ValidationError{Problems: ps.list}
}

// Decode parses and validates an encoded policy. Unknown fields and
// trailing data are errors: a policy that says something this version
// does not understand must not be half applied.
func Decode(data []byte) (Document, error) {
	var d Document
	if len(data) > MaxSize {
		return d, &ValidationError{Problems: []Problem{{Path: "(policy)", Message: fmt.Sprintf("%d bytes; at most %d", len(data), MaxSize)}}}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return Document{}, &ValidationError{Problems: []Problem{{Path: "(policy)", Message: "not a policy document: " + clip(err.Error())}}}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Document{}, &ValidationError{Problems: []Problem{{Path: "(policy)", Message: "trailing data after the policy object"}}}
	}
	if err := d.Validate(); err != nil {
		return Document{}, err
	}
	return d, nil
}

// Validate checks every field and returns a *ValidationError naming each
// problem's field.
func (d Document) Validate() error {
	var ps problems
	d.Thresholds.validate(&ps)
	if d.CheckEvery != 0 && (d.CheckEvery.D() < 10*time.Second || d.CheckEvery.D() > time.Hour) {
		ps.add("check_every", "%s is outside 10s..1h", d.CheckEvery.D())
	}
	listLen := func(path string, n int) bool {
		if n > MaxNames {
			ps.add(path, "%d entries; at most %d", n, MaxNames)
			return false
		}
		return true
	}
	if listLen("dns_names", len(d.DNSNames)) {
		for i, n := range d.DNSNames {
			if !ValidHostName(n) {
				ps.add(fmt.Sprintf("dns_names[%d]", i), "%q is not a DNS name (letters, digits, '-' and '.', labels of 1 to 63)", clip(n))
			}
		}
	}
	if listLen("targets", len(d.Targets)) {
		for i, t := range d.Targets {
			if msg := checkHostPort(t); msg != "" {
				ps.add(fmt.Sprintf("targets[%d]", i), "%s", msg)
			}
		}
	}
	if listLen("watched_services", len(d.WatchedServices)) {
		for i, s := range d.WatchedServices {
			if msg := ServiceNameProblem(s); msg != "" {
				ps.add(fmt.Sprintf("watched_services[%d]", i), "%s", msg)
			}
		}
	}
	for _, l := range []struct {
		path string
		ids  []string
	}{{"disabled_fixes", d.DisabledFixes}, {"consent_required", d.ConsentRequired}} {
		if listLen(l.path, len(l.ids)) {
			for i, id := range l.ids {
				if _, ok := catalog.Get(id); !ok {
					ps.add(fmt.Sprintf("%s[%d]", l.path, i), "%q is not a catalog fix (known: %s)", clip(id), strings.Join(catalog.IDs(catalog.All()), ", "))
				}
			}
		}
	}
	if d.MaxTier != nil && (*d.MaxTier < catalog.TierSelfHelp || *d.MaxTier > catalog.TierExpert) {
		ps.add("max_tier", "%d is outside %d..%d", *d.MaxTier, catalog.TierSelfHelp, catalog.TierExpert)
	}
	if len(d.Checks) > MaxChecks {
		ps.add("checks", "%d checks; at most %d", len(d.Checks), MaxChecks)
	} else {
		seen := map[string]bool{}
		for i, c := range d.Checks {
			path := fmt.Sprintf("checks[%d]", i)
			c.validate(path, &ps)
			if seen[c.Name] {
				ps.add(path+".name", "%q is used by an earlier check; names are unique", c.Name)
			}
			seen[c.Name] = true
		}
	}
	return ps.err()
}

func (t Thresholds) validate(ps *problems) {
	pct := func(path string, v float64) {
		if v < 0 || v > 100 {
			ps.add("thresholds."+path, "%g is outside 0..100 (0: the agent's default)", v)
		}
	}
	dur := func(path string, v Duration, max time.Duration) {
		if v < 0 || v.D() > max {
			ps.add("thresholds."+path, "%s is outside 0..%s (0: the agent's default)", v.D(), max)
		}
	}
	pair := func(warn, fail string, w, f float64, lower bool) {
		switch {
		case (w == 0) != (f == 0):
			ps.add("thresholds."+warn, "set %s and %s together", warn, fail)
		case w != 0 && !lower && w > f:
			ps.add("thresholds."+warn, "%g is above %s %g; a warning comes before failing", w, fail, f)
		case w != 0 && lower && w < f:
			ps.add("thresholds."+warn, "%g is below %s %g; a warning comes before failing", w, fail, f)
		}
	}
	for _, p := range []struct {
		n string
		v float64
	}{{"disk_warn_pct", t.DiskWarnPct}, {"disk_fail_pct", t.DiskFailPct}, {"memory_warn_pct", t.MemWarnPct},
		{"memory_fail_pct", t.MemFailPct}, {"cpu_busy_pct", t.CPUBusyPct}, {"battery_warn_pct", t.BatteryWarnPct},
		{"battery_fail_pct", t.BatteryFailPct}} {
		pct(p.n, p.v)
	}
	pair("disk_warn_pct", "disk_fail_pct", t.DiskWarnPct, t.DiskFailPct, false)
	pair("memory_warn_pct", "memory_fail_pct", t.MemWarnPct, t.MemFailPct, false)
	pair("battery_warn_pct", "battery_fail_pct", t.BatteryWarnPct, t.BatteryFailPct, true)
	dur("cpu_warn_for", t.CPUWarnFor, 24*time.Hour)
	dur("cpu_fail_for", t.CPUFailFor, 24*time.Hour)
	pair("cpu_warn_for", "cpu_fail_for", float64(t.CPUWarnFor), float64(t.CPUFailFor), false)
	dur("clock_warn", t.ClockWarn, 24*time.Hour)
	dur("clock_fail", t.ClockFail, 24*time.Hour)
	pair("clock_warn", "clock_fail", float64(t.ClockWarn), float64(t.ClockFail), false)
	dur("uptime_warn", t.UptimeWarn, 365*24*time.Hour)
	dur("security_update_max_age", t.SecurityUpdateMaxAge, 365*24*time.Hour)
	dur("print_job_stuck_after", t.PrintJobStuckAfter, 7*24*time.Hour)
}

// ValidHostName reports whether s is a DNS name (or an IP address).
func ValidHostName(s string) bool {
	if net.ParseIP(s) != nil {
		return true
	}
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

func checkHostPort(s string) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Sprintf("%q is not host:port", clip(s))
	}
	if !ValidHostName(host) {
		return fmt.Sprintf("%q: %q is not a host name or address", clip(s), clip(host))
	}
	if msg := portProblem(port); msg != "" {
		return fmt.Sprintf("%q: %s", clip(s), msg)
	}
	return ""
}

func portProblem(port string) string {
	var n int
	if _, err := fmt.Sscanf(port, "%d", &n); err != nil || fmt.Sprint(n) != port || n < 1 || n > 65535 {
		return fmt.Sprintf("port %q is outside 1..65535", clip(port))
	}
	return ""
}

// ServiceNameProblem says why s is not a service name restart-service
// would take, or "".
func ServiceNameProblem(s string) string {
	return paramProblem(catalog.RestartService, "service", s)
}

// paramProblem validates v as the parameter of a catalog fix, so a policy
// names services and processes exactly as a fix would.
func paramProblem(fix, param, v string) string {
	f, _ := catalog.Get(fix)
	if _, err := f.Validate(map[string]string{param: v}); err != nil {
		var pe *catalog.ParamError
		if errors.As(err, &pe) {
			return fmt.Sprintf("%q is not a %s name: %s", clip(v), param, pe.Reason)
		}
		return err.Error()
	}
	return ""
}

// CheckNames returns the names of the document's declarative checks.
func (d Document) CheckNames() []string {
	out := make([]string, len(d.Checks))
	for i, c := range d.Checks {
		out[i] = c.Name
	}
	return out
}

// Check returns the declarative check named name.
func (d Document) Check(name string) (Check, bool) {
	i := slices.IndexFunc(d.Checks, func(c Check) bool { return c.Name == name })
	if i < 0 {
		return Check{}, false
	}
	return d.Checks[i], true
}

func clip(s string) string {
	if len(s) <= 80 {
		return s
	}
	return strings.ToValidUTF8(s[:80], "") + "…"
}
