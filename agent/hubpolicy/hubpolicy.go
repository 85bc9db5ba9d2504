// Package hubpolicy applies the device policy the hub sends (shared/policy)
// on top of the machine's own settings: the local policy file and the
// agent's flags. The local file can only be narrowed, never widened: a fix
// it disables stays disabled, a tier above its limit stays refused, a
// service it forbids is never restarted, a check kind it forbids never
// runs, and consent it requires stays required. Each thing the local file
// takes away from the hub's policy is noted, and the notes reach the
// technician through the policy status (docs/policy.md).
//
// The last policy accepted is cached in the state directory, so a machine
// restarted offline applies it before it reaches the hub again.
package hubpolicy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/tierline/tierline/agent/fixes"
	"github.com/tierline/tierline/agent/fsutil"
	"github.com/tierline/tierline/agent/health"
	"github.com/tierline/tierline/agent/recipes"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/orgdoc"
	"github.com/tierline/tierline/shared/policy"
	"github.com/tierline/tierline/shared/wire"
)

// CacheFile is the cached hub policy in the state directory.
const CacheFile = "hub-policy.json"

// Applied is the hub's policy as this machine applies it.
type Applied struct {
	// Group and Version name the hub's policy (Version 0: none).
	Group   string
	Version int64
	// Fixes is the effective fix policy: the local one narrowed by the
	// hub's.
	Fixes fixes.Policy
	// Doc is the hub's document (nil: none); Checks are the declarative
	// checks of it that run here.
	Doc    *policy.Document
	Checks []policy.Check
	// Narrowed says what the local policy file took away from the hub's
	// policy, rule by rule.
	Narrowed []string
}

// Narrow combines the machine's local fix policy (its file and flags) with
// the hub's policy u, which can only restrict further.
func Narrow(local fixes.Policy, u wire.PolicyUpdate) Applied {
	a := Applied{Group: u.Group, Version: u.Version, Fixes: clonePolicy(local)}
	if u.Policy == nil {
		return a
	}
	d := u.Policy
	a.Doc = d
	eff := &a.Fixes
	src := local.SourceName()
	note := func(format string, args ...any) {
		if len(a.Narrowed) < wire.MaxPolicyNotes {
			a.Narrowed = append(a.Narrowed, fmt.Sprintf(format, args...))
		}
	}
	eff.Source = fmt.Sprintf("%s narrowed by the hub's policy %s v%d", src, u.Group, u.Version)
	if d.MaxTier != nil {
		if *d.MaxTier > local.MaxTier {
			note("max_tier: the hub's policy allows fixes up to tier %d; the local policy (%s) allows up to tier %d, which applies", *d.MaxTier, src, local.MaxTier)
		} else {
			eff.MaxTier = *d.MaxTier
		}
	}
	for _, id := range d.DisabledFixes {
		if !slices.Contains(eff.Disabled, id) {
			eff.Disabled = append(eff.Disabled, id)
		}
	}
	for _, id := range d.ConsentRequired {
		if !slices.Contains(eff.ConsentRequired, id) {
			eff.ConsentRequired = append(eff.ConsentRequired, id)
		}
	}
	if d.TechnicianConsent != nil {
		if *d.TechnicianConsent && !local.TechnicianConsent {
			note("technician_consent: the hub's policy accepts a technician's word for the user's consent; the local policy (%s) does not, and the user is asked", src)
		} else {
			eff.TechnicianConsent = *d.TechnicianConsent
		}
	}
	if d.RestartWatchedServices != nil {
		if *d.RestartWatchedServices && local.ForbidWatched {
			note("restart_watched_services: the hub's policy lets restart-service restart the watched services; the local policy (%s) does not", src)
		} else {
			eff.ForbidWatched = !*d.RestartWatchedServices
		}
	}
	for _, s := range d.WatchedServices {
		if !slices.Contains(eff.Watched, s) {
			eff.Watched = append(eff.Watched, s)
		}
		if slices.Contains(local.ForbidServices, s) {
			note("watched_services: %s is watched, but the local policy (%s) forbids restarting it (rule \"forbid_services\")", s, src)
		} else if local.ForbidWatched && (d.RestartWatchedServices == nil || *d.RestartWatchedServices) {
			note("watched_services: %s is watched, but the local policy (%s) keeps restart-service from restarting watched services (rule \"restart_watched_services\")", s, src)
		}
	}
	for _, c := range d.Checks {
		if slices.Contains(local.ForbidCheckKinds, c.Kind()) {
			note("checks: %s is a %s check, a kind the local policy (%s) forbids (rule \"forbid_check_kinds\"); it does not run", c.Name, c.Kind(), src)
			continue
		}
		if c.Fix != "" {
			f, _ := catalog.Get(c.Fix)
			if why := fixes.PolicyRefusal(*eff, f); why != "" {
				note("checks: %s offers %s, which %s; the check runs without offering it", c.Name, c.Fix, why)
				c.Fix = ""
			}
		}
		a.Checks = append(a.Checks, c)
	}
	return a
}

func clonePolicy(p fixes.Policy) fixes.Policy {
	p.Disabled = slices.Clone(p.Disabled)
	p.AllowServices = slices.Clone(p.AllowServices)
	p.Watched = slices.Clone(p.Watched)
	p.ForbidServices = slices.Clone(p.ForbidServices)
	p.ConsentRequired = slices.Clone(p.ConsentRequired)
	p.ForbidCheckKinds = slices.Clone(p.ForbidCheckKinds)
	return p
}

// HealthConfig returns base with the hub policy's thresholds set and its
// names, targets and watched services added to the machine's own.
func (a Applied) HealthConfig(base health.Config) health.Config {
	c := base
	c.DNSNames = slices.Clone(base.DNSNames)
	c.Targets = slices.Clone(base.Targets)
	c.WatchedServices = slices.Clone(base.WatchedServices)
	d := a.Doc
	if d == nil {
		return c
	}
	add := func(to *[]string, vs []string) {
		for _, v := range vs {
			if !slices.Contains(*to, v) {
				*to = append(*to, v)
			}
		}
	}
	add(&c.DNSNames, d.DNSNames)
	add(&c.Targets, d.Targets)
	add(&c.WatchedServices, d.WatchedServices)
	t := d.Thresholds
	setF := func(p *float64, v float64) {
		if v != 0 {
			*p = v
		}
	}
	setD := func(p *time.Duration, v policy.Duration) {
		if v != 0 {
			*p = v.D()
		}
	}
	setF(&c.DiskWarnPct, t.DiskWarnPct)
	setF(&c.DiskFailPct, t.DiskFailPct)
	setF(&c.MemWarnPct, t.MemWarnPct)
	setF(&c.MemFailPct, t.MemFailPct)
	setF(&c.CPUBusyPct, t.CPUBusyPct)
	setD(&c.CPUWarnFor, t.CPUWarnFor)
	setD(&c.CPUFailFor, t.CPUFailFor)
	setD(&c.ClockWarn, t.ClockWarn)
	setD(&c.ClockFail, t.ClockFail)
	setF(&c.BatteryWarnPct, t.BatteryWarnPct)
	setF(&c.BatteryFailPct, t.BatteryFailPct)
	setD(&c.UptimeWarn, t.UptimeWarn)
	setD(&c.SecurityUpdateMaxAge, t.SecurityUpdateMaxAge)
	setD(&c.PrintJobStuckAfter, t.PrintJobStuckAfter)
	return c
}

// CheckEvery returns how often the health checks run under the policy, or
// def without one.
func (a Applied) CheckEvery(def time.Duration) time.Duration {
	if a.Doc == nil || a.Doc.CheckEvery == 0 {
		return def
	}
	return a.Doc.CheckEvery.D()
}

// Status is the policy status the agent reports for a.
func (a Applied) Status(goos string) wire.PolicyStatus {
	st := wire.PolicyStatus{Group: a.Group, Version: a.Version, Narrowed: a.Narrowed, Fixes: fixes.Supported(goos, a.Fixes)}
	for _, c := range a.Checks {
		if c.AppliesTo(goos) {
			st.Checks = append(st.Checks, c.Name)
		}
	}
	return st
}

// LoadCache reads the cached hub policy from the state directory and
// validates it again. A missing cache is version 0 (no hub policy).
func LoadCache(dir string) (wire.PolicyUpdate, error) {
	path := filepath.Join(dir, CacheFile)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return wire.PolicyUpdate{}, nil
	}
	if err != nil {
		return wire.PolicyUpdate{}, fmt.Errorf("cached hub policy: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, policy.MaxSize+4096))
	if err != nil {
		return wire.PolicyUpdate{}, fmt.Errorf("cached hub policy %s: %w", path, err)
	}
	var u wire.PolicyUpdate
	if err := json.Unmarshal(b, &u); err != nil {
		return wire.PolicyUpdate{}, fmt.Errorf("cached hub policy %s: %w", path, err)
	}
	if err := u.Validate(); err != nil {
		return wire.PolicyUpdate{}, fmt.Errorf("cached hub policy %s: %w", path, err)
	}
	return u, nil
}

// SaveCache writes u to the state directory (version 0 removes the cache).
func SaveCache(dir string, u wire.PolicyUpdate) error {
	path := filepath.Join(dir, CacheFile)
	if u.Version == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove cached hub policy: %w", err)
		}
		return nil
	}
	b, err := json.Marshal(u)
	if err != nil {
		return fmt.Errorf("cache hub policy: %w", err)
	}
	if err := fsutil.WriteAtomic(path, b, 0o600); err != nil {
		return fmt.Errorf("cache hub policy: %w", err)
	}
	return nil
}

// Cached is the local fix policy narrowed by the hub's policy this agent
// last applied (CacheFile), as the service starts with it. A cache that
// cannot be read is returned as err with the local policy alone applied.
func Cached(dir string, local fixes.Policy) (Applied, error) {
	cached, err := LoadCache(dir)
	return Narrow(local, cached), err
}

// ListFixes is `tierline-agent fixes`: the catalog as it applies to this
// machine under the policy file (default STATE/policy.json) narrowed by the
// hub's cached policy, as a table or JSON. Notes go to warn.
func ListFixes(out, warn io.Writer, state, policyFile string, asJSON bool) error {
	if policyFile == "" {
		policyFile = filepath.Join(state, fixes.PolicyFile)
	}
	pol, err := fixes.LoadPolicy(policyFile)
	if err != nil {
		return err
	}
	applied, err := Cached(state, pol)
	if err != nil {
		fmt.Fprintln(warn, "ignoring the cached hub policy:", err)
	}
	for _, n := range applied.Narrowed {
		fmt.Fprintln(warn, "the local policy narrows the hub's:", n)
	}
	m := fixes.LocalMachine()
	rep := fixes.List(applied.Fixes, m)
	// The organisation's signed recipes, verified again against the key
	// pinned now.
	rs, err := recipes.Open(state, nil)
	if err != nil {
		return fmt.Errorf("the accepted recipes: %w", err)
	}
	key := ""
	if _, pub, ok, err := recipes.ReadPin(state); err == nil && ok {
		key = orgdoc.KeyID(pub)
	}
	var accepted []fixes.AcceptedRecipe
	for _, a := range rs.Accepted() {
		accepted = append(accepted, fixes.AcceptedRecipe{Recipe: a.Recipe, Signer: a.Signer})
	}
	rep.AddRecipes(applied.Fixes, m, key, accepted, rs.Refused())
	if asJSON {
		b, _ := json.MarshalIndent(rep, "", "  ")
		_, err = fmt.Fprintln(out, string(b))
		return err
	}
	rep.Write(out)
	return nil
}
