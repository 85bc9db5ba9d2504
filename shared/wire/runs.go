package wire

import (
	"errors"
	"fmt"
	"time"

	"github.com/tierline/tierline/shared/diag"
)

func init() {
	register(func() Body { return new(RunRequest) })
	register(func() Body { return new(RunResult) })
}

// Limits on fix runs.
const (
	// MaxRunOutput bounds the command output a RunResult carries; the
	// agent truncates to it and says so.
	MaxRunOutput = 64 << 10
	// MaxBundleSize bounds a log bundle attached to a RunResult.
	MaxBundleSize = 2 << 20
	maxRunParams  = 8
	maxParamKey   = 64
	maxParamValue = 1024 // the catalog's own limit is lower; this only bounds the frame
)

// Run outcomes, as the agent reports them and the hub stores them.
const (
	// OutcomeFixed: the fix ran, a verification check showed a problem
	// before and every one is ok after.
	OutcomeFixed = "fixed"
	// OutcomeNotFixed: the fix ran but the problem remains (a verification
	// check is still warning or failing).
	OutcomeNotFixed = "not_fixed"
	// OutcomeSucceeded: the fix ran; it has nothing to verify or nothing was
	// wrong before it ran.
	OutcomeSucceeded = "succeeded"
	// OutcomeFailed: the fix's command failed, timed out or was interrupted.
	OutcomeFailed = "failed"
	// OutcomeNotApplicable: the fix does not apply to this machine (OS not
	// supported, the service it acts on is not installed, ...). Nothing ran.
	OutcomeNotApplicable = "not_applicable"
	// OutcomeRefused: the agent would not run it; Code and Reason say why.
	// Nothing ran.
	OutcomeRefused = "refused"
)

// Refusal codes carried in RunResult.Code when Outcome is refused.
const (
	RefuseUnknownFix = "unknown_fix" // not in this agent's catalog
	RefuseBadParams  = "bad_params"  // parameters fail the catalog's rules
	RefuseTier       = "tier"        // the requester's tier is below the fix's
	RefusePolicy     = "policy"      // the device's local policy disables it
	RefuseConsent    = "consent"     // the user declined or could not be asked
	RefuseExpired    = "expired"     // the request arrived after its expiry
	RefuseBusy       = "busy"        // too many runs waiting on this agent
)

// MaxRunExpiry is the longest a fix run may wait for its device (the hub
// refuses a longer expires_in). The hub sends a run again after every
// reconnect until it has a result or is this long (plus a short grace)
// past its request, so the agent's run journal keeps each run id the hub
// sent at least this long.
const MaxRunExpiry = 7 * 24 * time.Hour

// RunRequest asks the agent to run one catalog fix. The agent validates it
// against its own compiled catalog and local policy; the hub's checks are
// not trusted.
type RunRequest struct {
	RunID  string            `json:"run_id"`
	Fix    string            `json:"fix"`
	Params map[string]string `json:"params,omitempty"`
	// Tier is the requester's tier (0 for the end user, 1-3 for
	// technicians); the agent refuses fixes above it.
	Tier int `json:"tier"`
	// RequestedBy names the requester, for the device's log and the
	// consent prompt.
	RequestedBy string `json:"requested_by,omitempty"`
	Ticket      string `json:"ticket,omitempty"`
	// ConsentObtained: the technician says the user agreed (for example
	// on the phone). The device policy decides whether that is enough.
	ConsentObtained bool `json:"consent_obtained,omitempty"`
	// Expires: a request arriving later is refused.
	Expires time.Time `json:"expires,omitempty"`
}

func (RunRequest) Type() Type { return TypeRunRequest }

func (r RunRequest) Validate() error {
	if err := ValidateRunID(r.RunID); err != nil {
		return err
	}
	if !validCheckName(r.Fix) {
		return fmt.Errorf("fix id %q is not kebab-case", Clip(r.Fix, 64))
	}
	if r.Tier < 0 || r.Tier > 4 {
		return fmt.Errorf("tier %d is outside 0..4", r.Tier)
	}
	if len(r.Params) > maxRunParams {
		return fmt.Errorf("%d parameters; at most %d", len(r.Params), maxRunParams)
	}
	for k, v := range r.Params {
		if k == "" || len(k) > maxParamKey {
			return fmt.Errorf("parameter name %q must be 1 to %d bytes", Clip(k, 64), maxParamKey)
		}
		if len(v) > maxParamValue {
			return fmt.Errorf("parameter %q is longer than %d bytes", Clip(k, 64), maxParamValue)
		}
	}
	return checkLens(map[string]string{"requested_by": r.RequestedBy, "ticket": r.Ticket}, 255)
}

// RunStep is one command a fix ran.
type RunStep struct {
	Argv       []string `json:"argv"`
	ExitCode   int      `json:"exit_code"`
	DurationMS int64    `json:"duration_ms"`
	Error      string   `json:"error,omitempty"`
}

// RunResult reports what became of a RunRequest. It is sequenced and
// spooled like telemetry, so it survives the connection and the agent.
type RunResult struct {
	RunID   string `json:"run_id"`
	Fix     string `json:"fix"`
	Outcome string `json:"outcome"`
	// Code is the refusal code when Outcome is refused.
	Code string `json:"code,omitempty"`
	// Reason explains the outcome in a sentence.
	Reason          string             `json:"reason,omitempty"`
	Steps           []RunStep          `json:"steps,omitempty"`
	Output          string             `json:"output,omitempty"`
	OutputTruncated bool               `json:"output_truncated,omitempty"`
	Started         time.Time          `json:"started"`
	Finished        time.Time          `json:"finished"`
	Before          []diag.CheckResult `json:"before,omitempty"`
	After           []diag.CheckResult `json:"after,omitempty"`
	// Bundle is a tar.gz the fix produced (collect-logs), at most
	// MaxBundleSize bytes.
	Bundle     []byte `json:"bundle,omitempty"`
	BundleName string `json:"bundle_name,omitempty"`
	// Replayed: this run had already been executed (or refused); the
	// result is the recorded one and nothing ran again.
	Replayed bool `json:"replayed,omitempty"`
	// Local is set on the result of a run the user at the device asked
	// for (a self-service software install), which the hub never
	// queued: it records the run and audits it.
	Local *LocalRun `json:"local,omitempty"`
}

// LocalRun says who at the device asked for a run, and with what.
type LocalRun struct {
	User   string            `json:"user"`
	Params map[string]string `json:"params,omitempty"`
}

func (RunResult) Type() Type { return TypeRunResult }

// Outcomes lists the valid outcomes.
var Outcomes = []string{OutcomeFixed, OutcomeNotFixed, OutcomeSucceeded, OutcomeFailed, OutcomeNotApplicable, OutcomeRefused}

func (r RunResult) Validate() error {
	if err := ValidateRunID(r.RunID); err != nil {
		return err
	}
	valid := false
	for _, o := range Outcomes {
		valid = valid || r.Outcome == o
	}
	if !valid {
		return fmt.Errorf("outcome %q is not one of %v", Clip(r.Outcome, 32), Outcomes)
	}
	if len(r.Output) > MaxRunOutput+1024 {
		return fmt.Errorf("output is %d bytes; at most %d", len(r.Output), MaxRunOutput)
	}
	if len(r.Bundle) > MaxBundleSize {
		return fmt.Errorf("bundle is %d bytes; at most %d", len(r.Bundle), MaxBundleSize)
	}
	if len(r.Steps) > 64 {
		return errors.New("more than 64 steps")
	}
	if r.Local != nil {
		if len(r.Local.Params) > 16 {
			return errors.New("local run: more than 16 parameters")
		}
		for k, v := range r.Local.Params {
			if len(k) > 64 || len(v) > 1024 {
				return errors.New("local run: a parameter is too long")
			}
		}
		if err := checkLens(map[string]string{"local.user": r.Local.User}, 255); err != nil {
			return err
		}
	}
	return checkLens(map[string]string{"fix": r.Fix, "code": r.Code, "bundle_name": r.BundleName}, 255)
}

// ValidateRunID checks a run id: 1 to 64 of letters, digits and '-'.
func ValidateRunID(id string) error {
	if id == "" || len(id) > 64 {
		return errors.New("run_id must be 1 to 64 characters")
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return errors.New("run_id may hold only letters, digits and '-'")
		}
	}
	return nil
}
