package fixes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/policy"
)

// PolicyFile is the default policy file name in the state directory.
const PolicyFile = "policy.json"

// maxPolicySize bounds a policy file; a real one is a few hundred bytes.
const maxPolicySize = 256 << 10

// Policy is the device's local say over which fixes run. The hub cannot
// change it: it lives in a file on the device that only an administrator
// of the device can edit.
type Policy struct {
	// MaxTier: fixes whose catalog tier is above it are refused.
	MaxTier int
	// Disabled fixes are refused.
	Disabled []string
	// AllowServices are services restart-service may restart besides the
	// built-in list.
	AllowServices []string
	// TechnicianConsent: a technician's statement that the user agreed
	// (RunRequest.ConsentObtained) is enough for fixes that need consent.
	TechnicianConsent bool
	// Watched are the services the admin watches (--watch-services). They
	// may be restarted besides the built-in list unless ForbidWatched is
	// set. The agent sets them from its flags; the policy file cannot.
	Watched []string
	// ForbidWatched (file: "restart_watched_services": false) keeps
	// restart-service to the built-in list and allow_services.
	ForbidWatched bool
	// ForbidServices are services restart-service never restarts, not
	// even those of the built-in list or watched ones.
	ForbidServices []string
	// ConsentRequired are fixes that ask the user's consent even where the
	// catalog does not require it.
	ConsentRequired []string
	// ForbidCheckKinds are kinds of declarative check (shared/policy) the
	// hub's policy may not add to this device.
	ForbidCheckKinds []string
	// Source is the file the policy came from, "" for the defaults.
	Source string
}

// DefaultPolicy is the policy when there is no policy file: every fix of
// the catalog, technician consent accepted.
func DefaultPolicy() Policy {
	return Policy{MaxTier: catalog.TierExpert, TechnicianConsent: true}
}

type policyFile struct {
	MaxTier           *int     `json:"max_tier"`
	Disabled          []string `json:"disabled"`
	AllowServices     []string `json:"allow_services"`
	TechnicianConsent *bool    `json:"technician_consent"`
	RestartWatched    *bool    `json:"restart_watched_services"`
	ForbidServices    []string `json:"forbid_services"`
	ConsentRequired   []string `json:"consent_required"`
	ForbidCheckKinds  []string `json:"forbid_check_kinds"`
}

// ParsePolicy decodes a policy file's content. Unknown fields, unknown fix
// ids, bad service names and out-of-range values are errors: a policy that
// says something the agent does not understand must not be half applied.
func ParsePolicy(data []byte, source string) (Policy, error) {
	p := DefaultPolicy()
	p.Source = source
	if len(data) > maxPolicySize {
		return p, fmt.Errorf("%d bytes; a policy file is at most %d", len(data), maxPolicySize)
	}
	var f policyFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return p, fmt.Errorf("not a valid policy: %w (fields: max_tier, disabled, allow_services, technician_consent, restart_watched_services, forbid_services, consent_required, forbid_check_kinds)", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return p, errors.New("trailing data after the policy object")
	}
	if f.MaxTier != nil {
		if *f.MaxTier < catalog.TierSelfHelp || *f.MaxTier > catalog.TierExpert {
			return p, fmt.Errorf("max_tier %d is outside %d..%d", *f.MaxTier, catalog.TierSelfHelp, catalog.TierExpert)
		}
		p.MaxTier = *f.MaxTier
	}
	for _, id := range f.Disabled {
		if _, ok := catalog.Get(id); !ok {
			return p, fmt.Errorf("disabled: %q is not a fix of this agent's catalog (known: %v)", clip(id), catalog.IDs(catalog.All()))
		}
		if !slices.Contains(p.Disabled, id) {
			p.Disabled = append(p.Disabled, id)
		}
	}
	svc, _ := catalog.Get(catalog.RestartService)
	for _, s := range f.AllowServices {
		if _, err := svc.Validate(map[string]string{"service": s}); err != nil {
			return p, fmt.Errorf("allow_services: %q is not a service name (letters, digits and @._:- only)", clip(s))
		}
		if !slices.Contains(p.AllowServices, s) {
			p.AllowServices = append(p.AllowServices, s)
		}
	}
	for _, s := range f.ForbidServices {
		if _, err := svc.Validate(map[string]string{"service": s}); err != nil {
			return p, fmt.Errorf("forbid_services: %q is not a service name (letters, digits and @._:- only)", clip(s))
		}
		if !slices.Contains(p.ForbidServices, s) {
			p.ForbidServices = append(p.ForbidServices, s)
		}
	}
	for _, id := range f.ConsentRequired {
		if _, ok := catalog.Get(id); !ok {
			return p, fmt.Errorf("consent_required: %q is not a fix of this agent's catalog (known: %v)", clip(id), catalog.IDs(catalog.All()))
		}
		if !slices.Contains(p.ConsentRequired, id) {
			p.ConsentRequired = append(p.ConsentRequired, id)
		}
	}
	for _, k := range f.ForbidCheckKinds {
		if !slices.Contains(policy.Kinds, k) {
			return p, fmt.Errorf("forbid_check_kinds: %q is not a kind of declarative check (kinds: %v)", clip(k), policy.Kinds)
		}
		if !slices.Contains(p.ForbidCheckKinds, k) {
			p.ForbidCheckKinds = append(p.ForbidCheckKinds, k)
		}
	}
	if f.TechnicianConsent != nil {
		p.TechnicianConsent = *f.TechnicianConsent
	}
	if f.RestartWatched != nil {
		p.ForbidWatched = !*f.RestartWatched
	}
	return p, nil
}

// LoadPolicy reads the policy file at path. A missing file means the
// defaults. Any other problem is an error that names the file: the agent
// must not start with a policy it cannot apply.
func LoadPolicy(path string) (Policy, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return DefaultPolicy(), nil
	}
	if err != nil {
		return Policy{}, fmt.Errorf("policy file %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPolicySize+1))
	if err != nil {
		return Policy{}, fmt.Errorf("policy file %s: %w", path, err)
	}
	p, err := ParsePolicy(data, path)
	if err != nil {
		return Policy{}, fmt.Errorf("policy file %s: %w; fix or remove the file and start the agent again", path, err)
	}
	return p, nil
}

// refusal returns why the policy refuses fix f, or "" when it allows it.
func (p Policy) refusal(f catalog.Fix) string {
	if slices.Contains(p.Disabled, f.ID) {
		return fmt.Sprintf("the device policy (%s) disables %s (rule \"disabled\")", p.source(), f.ID)
	}
	if f.Tier > p.MaxTier {
		return fmt.Sprintf("the device policy (%s) allows fixes up to tier %d and %s is tier %d (rule \"max_tier\")",
			p.source(), p.MaxTier, f.ID, f.Tier)
	}
	return ""
}

// Allows reports whether the policy lets fix f run at all.
func (p Policy) Allows(f catalog.Fix) bool { return p.refusal(f) == "" }

func (p Policy) source() string {
	if p.Source == "" {
		return "defaults"
	}
	return p.Source
}

// Supported returns the ids of the fixes this agent offers on goos under
// the policy: what Hello.Fixes announces.
func Supported(goos string, p Policy) []string {
	var out []string
	for _, f := range catalog.For(goos) {
		if p.Allows(f) {
			out = append(out, f.ID)
		}
	}
	return out
}

func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:64] + "…"
}

// PolicyRefusal says which rule of p keeps fix f from running, or "".
func PolicyRefusal(p Policy, f catalog.Fix) string { return p.refusal(f) }
