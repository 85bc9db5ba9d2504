package wire

import (
	"errors"
	"fmt"
	"time"

	"github.com/tierline/tierline/shared/diag"
)

func init() {
	register(func() Body { return new(Challenge) })
	register(func() Body { return new(Hello) })
	register(func() Body { return new(Welcome) })
	register(func() Body { return new(Telemetry) })
	register(func() Body { return new(Inventory) })
	register(func() Body { return new(Health) })
	register(func() Body { return new(Ack) })
	register(func() Body { return new(Error) })
	register(func() Body { return new(CheckRequest) })
}

// NonceSize is the length of the hub's authentication challenge.
const NonceSize = 32

// Challenge is the hub's first frame: the agent must sign Nonce.
type Challenge struct {
	Nonce   []byte    `json:"nonce"`
	HubTime time.Time `json:"hub_time"`
}

func (Challenge) Type() Type { return TypeChallenge }

func (c Challenge) Validate() error {
	if len(c.Nonce) != NonceSize {
		return fmt.Errorf("nonce is %d bytes, want %d", len(c.Nonce), NonceSize)
	}
	return nil
}

// Hello answers a Challenge: it names the device and proves possession of
// its enrolled private key by signing AuthMessage(nonce, device id).
type Hello struct {
	DeviceID     string `json:"device_id"`
	Signature    []byte `json:"signature"`
	AgentVersion string `json:"agent_version"`
	Hostname     string `json:"hostname"`
	OS           string `json:"os"`
	Arch         string `json:"arch"`
	Platform     string `json:"platform,omitempty"` // distribution or product name and version
	// SpoolDropped counts telemetry messages the agent's spool dropped
	// (oldest first) because it was full, since enrollment.
	SpoolDropped uint64 `json:"spool_dropped,omitempty"`
	// SpoolDepth is the number of messages waiting to be sent.
	SpoolDepth int `json:"spool_depth,omitempty"`
	// Fixes lists the catalog fix ids this agent can run on this machine
	// (its OS, less what its local policy disables).
	Fixes []string `json:"fixes,omitempty"`
}

func (Hello) Type() Type { return TypeHello }

func (h Hello) Validate() error {
	if err := ValidateDeviceID(h.DeviceID); err != nil {
		return err
	}
	if len(h.Signature) != 64 {
		return errors.New("signature must be 64 bytes (ed25519)")
	}
	if len(h.Fixes) > 128 {
		return errors.New("more than 128 fixes")
	}
	for _, f := range h.Fixes {
		if !validCheckName(f) {
			return fmt.Errorf("fix id %q is not kebab-case", Clip(f, 64))
		}
	}
	return checkLens(map[string]string{
		"agent_version": h.AgentVersion, "hostname": h.Hostname, "os": h.OS, "arch": h.Arch, "platform": h.Platform,
	}, 255)
}

// Welcome tells the agent it is authenticated.
type Welcome struct {
	DeviceID string    `json:"device_id"`
	HubTime  time.Time `json:"hub_time"`
	// LastSeq is the highest sequence number the hub has stored for this
	// device; the agent may discard anything at or below it.
	LastSeq uint64 `json:"last_seq"`
}

func (Welcome) Type() Type { return TypeWelcome }

func (w Welcome) Validate() error {
	if w.LastSeq > MaxSeq {
		return fmt.Errorf("last_seq %d is above the highest sequence number this protocol uses (%d)", w.LastSeq, MaxSeq)
	}
	return ValidateDeviceID(w.DeviceID)
}

// Telemetry carries one sample.
type Telemetry struct {
	Sample diag.Sample `json:"sample"`
	// Checks are health check results taken with this sample, if any.
	Checks []diag.CheckResult `json:"checks,omitempty"`
	// SpoolDropped is the agent's running count of dropped telemetry.
	SpoolDropped uint64 `json:"spool_dropped,omitempty"`
}

func (Telemetry) Type() Type { return TypeTelemetry }

func (t Telemetry) Validate() error {
	if t.Sample.Time.IsZero() {
		return errors.New("sample has no time")
	}
	return nil
}

// Inventory carries the device's full inventory.
type Inventory struct {
	Inventory diag.Inventory `json:"inventory"`
}

func (Inventory) Type() Type { return TypeInventory }

// MaxFixReason bounds a reason the inventory gives for a fix that does not
// apply.
const MaxFixReason = 500

func (i Inventory) Validate() error {
	if len(i.Inventory.FixesNotApplicable) > 128 {
		return errors.New("inventory: more than 128 fixes not applicable")
	}
	for id, why := range i.Inventory.FixesNotApplicable {
		if !validCheckName(id) || len(why) > MaxFixReason {
			return fmt.Errorf("inventory: fix %q: not a fix id, or a reason longer than %d bytes", Clip(id, 64), MaxFixReason)
		}
	}
	return nil
}

// Health carries the results of a run of health checks.
type Health struct {
	Checks []diag.CheckResult `json:"checks"`
	// RequestID answers a CheckRequest; empty for scheduled runs.
	RequestID string `json:"request_id,omitempty"`
}

func (Health) Type() Type { return TypeHealth }

func (h Health) Validate() error {
	if len(h.RequestID) > 64 {
		return errors.New("request_id is longer than 64 bytes")
	}
	for i, c := range h.Checks {
		if c.Name == "" {
			return fmt.Errorf("check %d has no name", i)
		}
	}
	return nil
}

// CheckRequest asks the agent to run health checks now: the named ones, or
// all of them when Names is empty.
type CheckRequest struct {
	RequestID string   `json:"request_id"`
	Names     []string `json:"names,omitempty"`
}

func (CheckRequest) Type() Type { return TypeCheckRequest }

// MaxCheckNames bounds the names one CheckRequest may carry.
const MaxCheckNames = 64

func (r CheckRequest) Validate() error {
	if r.RequestID == "" || len(r.RequestID) > 64 {
		return errors.New("request_id must be 1 to 64 bytes")
	}
	if len(r.Names) > MaxCheckNames {
		return fmt.Errorf("at most %d check names", MaxCheckNames)
	}
	for _, n := range r.Names {
		if !validCheckName(n) {
			return fmt.Errorf("check name %q is not kebab-case", Clip(n, 64))
		}
	}
	return nil
}

// validCheckName: 1-64 of a-z, 0-9 and '-'.
func validCheckName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// Ack acknowledges every sequenced message up to and including Seq: the hub
// has stored them durably.
type Ack struct {
	Seq uint64 `json:"seq"`
}

func (Ack) Type() Type { return TypeAck }

func (Ack) Validate() error { return nil }

// Error reports a refused message or connection. Seq names the refused
// message when there is one. A refused sequenced message is still
// acknowledged (it will never be accepted), so the sender can drop it.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Seq     uint64 `json:"seq,omitempty"`
}

func (Error) Type() Type { return TypeError }

func (e Error) Validate() error {
	if e.Code == "" {
		return errors.New("error has no code")
	}
	return nil
}

// ValidateDeviceID checks the form of a device id (32 lowercase hex digits).
func ValidateDeviceID(id string) error {
	if len(id) != 32 {
		return fmt.Errorf("device id must be 32 hex digits, got %d characters", len(id))
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return errors.New("device id must be lowercase hex")
		}
	}
	return nil
}

func checkLens(fields map[string]string, max int) error {
	for name, v := range fields {
		if len(v) > max {
			return fmt.Errorf("%s is longer than %d bytes", name, max)
		}
	}
	return nil
}
