package wire

import (
	"errors"
	"fmt"
	"time"

	"github.com/tierline/tierline/shared/policy"
)

func init() {
	register(func() Body { return new(PolicyUpdate) })
	register(func() Body { return new(PolicyStatus) })
}

// Policy message types (added 2026-12-06 without a version bump: an agent
// that does not know policy_update ignores it, and the hub reads a device
// that never sends policy_status as applying no hub policy).
const (
	// TypePolicyUpdate carries the device's effective policy from the hub:
	// on connect and whenever it changes.
	TypePolicyUpdate Type = "policy_update" // hub → agent
	// TypePolicyStatus says which policy version the agent applies and
	// what its local policy file narrowed; sent after each update.
	TypePolicyStatus Type = "policy_status" // agent → hub, unsequenced
)

// PolicyUpdate is the policy of the device's group. Version 0 with no
// Policy means the hub has none for it: the agent drops the hub policy it
// had and keeps its local settings.
type PolicyUpdate struct {
	Group     string           `json:"group"`
	Version   int64            `json:"version"`
	UpdatedAt time.Time        `json:"updated_at,omitzero"`
	Policy    *policy.Document `json:"policy,omitempty"`
}

func (PolicyUpdate) Type() Type { return TypePolicyUpdate }

func (u PolicyUpdate) Validate() error {
	if len(u.Group) > 64 {
		return errors.New("group is longer than 64 bytes")
	}
	if u.Version < 0 {
		return errors.New("version is negative")
	}
	if (u.Version == 0) != (u.Policy == nil) {
		return errors.New("a policy has a version above 0, and version 0 has no policy")
	}
	if u.Policy != nil {
		return u.Policy.Validate()
	}
	return nil
}

// MaxPolicyNotes bounds the notes of a PolicyStatus.
const MaxPolicyNotes = 64

// PolicyStatus reports the policy an agent applies.
type PolicyStatus struct {
	Group   string `json:"group"`
	Version int64  `json:"version"`
	// Error, when set, says why the agent refused the version it was sent
	// (it keeps applying Version, the last one it accepted).
	Error string `json:"error,omitempty"`
	// Narrowed lists what the machine's local policy file took away from
	// the hub's policy, each with the rule and the reason.
	Narrowed []string `json:"narrowed,omitempty"`
	// Fixes are the catalog fixes the agent now offers (as Hello.Fixes).
	Fixes []string `json:"fixes,omitempty"`
	// Checks are the declarative checks the agent runs under it; the hub
	// forgets the results of declarative checks no longer among them.
	Checks []string `json:"checks,omitempty"`
}

func (PolicyStatus) Type() Type { return TypePolicyStatus }

func (s PolicyStatus) Validate() error {
	if len(s.Group) > 64 || s.Version < 0 || len(s.Error) > 2000 {
		return errors.New("group over 64 bytes, negative version, or an error over 2000 bytes")
	}
	if len(s.Narrowed) > MaxPolicyNotes {
		return fmt.Errorf("more than %d notes", MaxPolicyNotes)
	}
	for _, n := range s.Narrowed {
		if len(n) > 1000 {
			return errors.New("a note is longer than 1000 bytes")
		}
	}
	if len(s.Fixes) > 128 || len(s.Checks) > policy.MaxChecks {
		return fmt.Errorf("more than 128 fixes or %d checks", policy.MaxChecks)
	}
	for _, c := range s.Checks {
		if !policy.ValidCheckName(c) {
			return fmt.Errorf("check name %q is not kebab-case", Clip(c, 64))
		}
	}
	for _, f := range s.Fixes {
		if !validCheckName(f) {
			return fmt.Errorf("fix id %q is not kebab-case", Clip(f, 64))
		}
	}
	return nil
}
