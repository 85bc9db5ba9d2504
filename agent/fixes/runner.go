// Package fixes runs the agent's closed fix catalog (shared/catalog) on
// the hub's request and reports what happened.
//
// A request passes, in this order: the run journal (a run id seen before
// is answered from the journal and never run again), the catalog (unknown
// fixes are refused), the OS, the requester's tier, the device's local
// policy, the catalog's parameter rules, the request's expiry, and the
// user's consent. Only then is the run recorded as started, the fix's
// verification checks run, its plan (commands through agent/execx, or the
// agent's own Go code) executed under the catalog's timeout, the checks
// run again after the settle delay, and the outcome recorded as finished.
// See docs/fixes.md.
package fixes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tierline/tierline/agent/execx"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// DefaultQueueSize bounds the runs waiting on one agent.
const DefaultQueueSize = 64

// ReasonInterrupted is the reason given for a run that was started but
// never finished because the agent stopped.
const ReasonInterrupted = "interrupted: the agent stopped while this run was in progress; it was not run again"

// VerifyFunc runs the named health checks (health.Runner.RunAfter). With a
// non-zero after, the checks must judge the machine as it is after that
// time: a check that reads telemetry waits for a sample taken after it.
type VerifyFunc func(ctx context.Context, after time.Time, names ...string) []diag.CheckResult

// ConsentRequest is what the user is asked to agree to.
type ConsentRequest struct {
	RunID    string
	Fix      string
	Title    string
	UserText string
	// Target is what exactly the fix acts on (ConsentTarget): the user
	// is told which program ends, which service restarts.
	Target      string
	RequestedBy string
	Ticket      string
	Disruptive  bool
}

// ConsentFunc asks the logged-in user. It returns an error when nobody
// can be asked (no session, the prompt timed out).
type ConsentFunc func(ctx context.Context, req ConsentRequest) (bool, error)

// Config configures a Runner.
type Config struct {
	// Journal is required.
	Journal *Journal
	// Policy is the device policy; nil means DefaultPolicy.
	Policy *Policy
	// Exec carries out steps; nil means &Local{}.
	Exec Executor
	// Machine describes this machine for each run; nil means LocalMachine.
	Machine func() Machine
	// Verify runs health checks; nil means fixes are not verified.
	Verify VerifyFunc
	// Consent asks the user; nil means nobody can be asked.
	Consent ConsentFunc
	// Recipes are the organisation's signed recipes, run like catalog
	// fixes; nil means none.
	Recipes RecipeSource
	// Software is the organisation's signed software catalog
	// install-software installs from; nil means none.
	Software SoftwareSource
	// Progress receives the progress steps of runs the hub asked for, at
	// most one every ProgressEvery per run, one at a time (from the
	// Runner's goroutine or a timer's); nil drops them. Local runs' steps stay on the device (Progress).
	Progress func(wire.RunProgress)
	// Deliver receives each result of a Submit-ted request (and of runs
	// found interrupted at Start), in order. It is called from the
	// Runner's goroutine, or from Submit's caller for a busy refusal.
	Deliver func(wire.RunResult)
	// HubOffset is the hub's clock minus ours; expiry is judged on the
	// hub's clock, so a device whose clock is wrong (the very thing
	// sync-clock repairs) does not refuse every request.
	HubOffset func() (time.Duration, bool)
	Now       func() time.Time
	// Sleep waits for a fix's settle delay; tests shorten it.
	Sleep     func(ctx context.Context, d time.Duration) error
	QueueSize int
	Logger    *slog.Logger
}

type queued struct {
	req       wire.RunRequest
	decodeErr error
}

// Runner runs fix requests one at a time, in arrival order.
type Runner struct {
	cfg   Config
	polMu sync.RWMutex
	pol   Policy
	log   *slog.Logger
	queue chan queued

	runMu sync.Mutex // one run at a time, whoever calls Do

	progMu sync.Mutex
	prog   *Progress // the running run's latest step

	startOnce sync.Once
	done      chan struct{}
	cancel    context.CancelFunc
}

// New checks cfg and returns a Runner. Call Start to process Submit-ted
// requests.
func New(cfg Config) (*Runner, error) {
	if cfg.Journal == nil {
		return nil, errors.New("fixes: a Journal is required")
	}
	pol := DefaultPolicy()
	if cfg.Policy != nil {
		pol = *cfg.Policy
	}
	if cfg.Exec == nil {
		cfg.Exec = &Local{}
	}
	if cfg.Machine == nil {
		cfg.Machine = LocalMachine
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	if cfg.Deliver == nil {
		cfg.Deliver = func(wire.RunResult) {}
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Runner{cfg: cfg, pol: pol, log: cfg.Logger, queue: make(chan queued, cfg.QueueSize), done: make(chan struct{})}, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Policy returns the policy the Runner applies.
func (r *Runner) Policy() Policy {
	r.polMu.RLock()
	defer r.polMu.RUnlock()
	return r.pol
}

// SetPolicy replaces the policy for the runs that follow (the hub's
// policy changed; agent/hubpolicy narrowed it by the local file first).
func (r *Runner) SetPolicy(p Policy) {
	r.polMu.Lock()
	r.pol = p
	r.polMu.Unlock()
}

// Start reports runs the agent left unfinished last time, then processes
// submitted requests on its own goroutine until ctx ends or Stop.
func (r *Runner) Start(ctx context.Context) {
	r.startOnce.Do(func() {
		ctx, r.cancel = context.WithCancel(ctx)
		go r.loop(ctx)
	})
}

// Stop ends the Runner's goroutine and waits for it. A run in progress is
// stopped (its commands are killed) and reported as failed.
func (r *Runner) Stop() {
	r.startOnce.Do(func() { close(r.done) }) // never started: nothing to stop
	if r.cancel != nil {
		r.cancel()
	}
	<-r.done
}

func (r *Runner) loop(ctx context.Context) {
	defer close(r.done)
	for _, rec := range r.cfg.Journal.Unfinished() {
		res := r.interrupted(rec)
		if err := r.cfg.Journal.Finish(res, rec.Origin()); err != nil {
			r.log.Warn("recording an interrupted run failed", "run", rec.RunID, "err", err)
		}
		r.log.Warn("a fix run was interrupted when the agent stopped; reporting it as failed", "run", rec.RunID, "fix", rec.Fix)
		if rec.Origin() == FromHub {
			// Local runs stay local: the hub never asked for them.
			r.cfg.Deliver(res)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case q := <-r.queue:
			res := r.Do(ctx, q.req, q.decodeErr)
			r.cfg.Deliver(res)
		}
	}
}

// Submit queues a request without waiting for it to run. A request that
// could not be decoded fully comes with decodeErr (its run id must still
// be valid; without one there is nobody to answer). When the queue is full
// the request is refused as busy at once, through Deliver; a busy refusal
// is not journaled, so the hub may send the run again later.
func (r *Runner) Submit(req wire.RunRequest, decodeErr error) {
	if wire.ValidateRunID(req.RunID) != nil {
		r.log.Warn("ignoring a fix request without a valid run id", "err", decodeErr)
		return
	}
	select {
	case r.queue <- queued{req, decodeErr}:
	default:
		now := r.cfg.Now()
		res := refuse(wire.RunResult{RunID: req.RunID, Fix: fixName(req.Fix), Started: now, Finished: now}, wire.RefuseBusy,
			fmt.Sprintf("%d runs are already waiting on this device; send it again when they have finished", cap(r.queue)))
		r.log.Warn("refusing a fix request: queue full", "run", req.RunID, "fix", res.Fix)
		r.cfg.Deliver(res)
	}
}

func refuse(res wire.RunResult, code, reason string) wire.RunResult {
	res.Outcome, res.Code, res.Reason = wire.OutcomeRefused, code, reason
	return res
}

// fixName is the fix id to put in a result: the request's, bounded.
func fixName(s string) string {
	s = strings.ToValidUTF8(s, "")
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

func (r *Runner) interrupted(rec Record) wire.RunResult {
	now := r.cfg.Now()
	return wire.RunResult{RunID: rec.RunID, Fix: rec.Fix, Outcome: wire.OutcomeFailed, Reason: ReasonInterrupted,
		Started: rec.Started, Finished: now}
}

// Do runs one request to the end and returns its result. It is what the
// Runner's goroutine calls for each submitted request; calls are
// serialised.
func (r *Runner) Do(ctx context.Context, req wire.RunRequest, decodeErr error) wire.RunResult {
	r.runMu.Lock()
	defer r.runMu.Unlock()
	res := r.do(ctx, req, decodeErr)
	if res.Finished.IsZero() {
		res.Finished = r.cfg.Now()
	}
	r.log.Info("fix run", "run", res.RunID, "fix", res.Fix, "outcome", res.Outcome, "code", res.Code,
		"replayed", res.Replayed, "reason", res.Reason, "requested_by", req.RequestedBy, "ticket", req.Ticket)
	return res
}

type runIDKey struct{}

// RunIDFrom returns the run id whose steps ctx belongs to, or "". An
// Executor can use it to label what it runs.
func RunIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(runIDKey{}).(string)
	return id
}

func (r *Runner) do(ctx context.Context, req wire.RunRequest, decodeErr error) wire.RunResult {
	ctx = context.WithValue(ctx, runIDKey{}, req.RunID)
	from := origin(ctx)
	now := r.cfg.Now()
	res := wire.RunResult{RunID: req.RunID, Fix: fixName(req.Fix), Started: now}
	if err := wire.ValidateRunID(req.RunID); err != nil {
		return refuse(res, wire.RefuseBadParams, err.Error())
	}

	// 1. At most once: a run id already in the journal never runs again.
	rec, found, err := r.cfg.Journal.Get(req.RunID)
	if err != nil && found {
		res.Outcome, res.Replayed = wire.OutcomeFailed, true
		res.Reason = "the journal entry of this run is damaged, so whether it ran is unknown; it was not run again: " + err.Error()
		r.finish(res, from)
		return res
	}
	if err != nil {
		return refuse(res, wire.RefuseBadParams, err.Error())
	}
	if found {
		if rec.State == StateFinished {
			out := *rec.Result
			out.Replayed = true
			if out.BundleName != "" {
				out.Reason += " (the log bundle went with the first report of this run and is not kept on the device)"
			}
			return out
		}
		out := r.interrupted(rec)
		r.finish(out, rec.Origin())
		out.Replayed = true
		return out
	}

	// 2. Everything that can refuse, before anything is recorded as started.
	f, params, plan, refusal := r.admit(ctx, req, decodeErr, now)
	if refusal != nil {
		refusal.Started, refusal.Finished = res.Started, r.cfg.Now()
		if refusal.Fix == "" {
			refusal.Fix = res.Fix
		}
		r.finish(*refusal, from)
		return *refusal
	}
	res.Fix = f.ID

	// 3. Durably started: from here on a redelivery is answered, not run.
	if err := r.cfg.Journal.Start(req.RunID, f.ID, now, from); err != nil {
		res.Outcome = wire.OutcomeFailed
		res.Reason = fmt.Sprintf("could not record the run in the journal, so it was not started (nothing ran): %v; "+
			"check that the agent's state directory is writable and has free space", err)
		return res
	}
	res = r.execute(ctx, res, f, params, plan)
	r.finish(res, from)
	return res
}

func (r *Runner) finish(res wire.RunResult, from Origin) {
	if res.Finished.IsZero() {
		res.Finished = r.cfg.Now()
	}
	if err := r.cfg.Journal.Finish(res, from); err != nil {
		r.log.Error("recording a fix run's result in the journal failed; a redelivery of it will be reported as interrupted",
			"run", res.RunID, "err", err)
	}
}

// admit runs every check that can refuse a request. It returns the fix,
// its validated parameters and its plan, or the result to answer with.
func (r *Runner) admit(ctx context.Context, req wire.RunRequest, decodeErr error, now time.Time) (catalog.Fix, map[string]string, Plan, *wire.RunResult) {
	res := wire.RunResult{RunID: req.RunID, Fix: fixName(req.Fix)}
	no := func(outcome, code, reason string) (catalog.Fix, map[string]string, Plan, *wire.RunResult) {
		res.Outcome, res.Code, res.Reason = outcome, code, reason
		return catalog.Fix{}, nil, Plan{}, &res
	}
	f, rcp, ok := Lookup(req.Fix, r.cfg.Recipes)
	if !ok {
		return no(wire.OutcomeRefused, wire.RefuseUnknownFix,
			fmt.Sprintf("%q is not in this agent's fix catalog nor a recipe signed by the organisation's pinned key; "+
				"the agent runs only those", fixName(req.Fix)))
	}
	if decodeErr != nil {
		return no(wire.OutcomeRefused, wire.RefuseBadParams, "the request is malformed: "+decodeErr.Error())
	}
	if err := req.Validate(); err != nil {
		return no(wire.OutcomeRefused, wire.RefuseBadParams, "the request is malformed: "+err.Error())
	}
	m := r.cfg.Machine()
	if !f.Supports(m.GOOS) {
		return no(wire.OutcomeNotApplicable, "", fmt.Sprintf("%s is not available on %s", f.ID, m.GOOS))
	}
	if req.Tier < f.Tier {
		return no(wire.OutcomeRefused, wire.RefuseTier,
			fmt.Sprintf("%s needs tier %d or above; the request came from tier %d (escalate the ticket)", f.ID, f.Tier, req.Tier))
	}
	if why := r.Policy().refusal(f); why != "" {
		return no(wire.OutcomeRefused, wire.RefusePolicy, why)
	}
	params, err := f.Validate(req.Params)
	if err != nil {
		return no(wire.OutcomeRefused, wire.RefuseBadParams, err.Error())
	}
	if f.ID == catalog.RestartService && serviceForbidden(params["service"], m.GOOS, r.Policy()) {
		return no(wire.OutcomeRefused, wire.RefusePolicy, fmt.Sprintf(
			"the device policy (%s) forbids restarting service %s (rule \"forbid_services\")", r.Policy().source(), params["service"]))
	}
	if f.ID == catalog.RestartService && !serviceAllowed(params["service"], m.GOOS, r.Policy()) {
		return no(wire.OutcomeRefused, wire.RefusePolicy, fmt.Sprintf(
			"service %s is not on this device's restart allow-list (the built-in list %v, the policy's allow_services and %s, from %s; rule \"allow_services\")",
			params["service"], BuiltinServices(m.GOOS), watchedNote(r.Policy()), r.Policy().source()))
	}
	if !req.Expires.IsZero() {
		hubNow := now
		if r.cfg.HubOffset != nil {
			if off, ok := r.cfg.HubOffset(); ok {
				hubNow = now.Add(off)
			}
		}
		if hubNow.After(req.Expires) {
			return no(wire.OutcomeRefused, wire.RefuseExpired,
				fmt.Sprintf("the request expired at %s, before it reached the device (hub time %s); send it again",
					req.Expires.UTC().Format(time.RFC3339), hubNow.UTC().Format(time.RFC3339)))
		}
	}
	var plan Plan
	switch {
	case rcp != nil:
		plan, err = RecipePlan(*rcp, req.Params, m)
	case f.ID == catalog.InstallSoftware:
		plan, err = SoftwarePlan(r.cfg.Software, params["entry"], m)
	default:
		plan, err = MakePlan(f, params, m)
	}
	var na *NotApplicableError
	var rf *RefusalError
	switch {
	case errors.As(err, &na):
		return no(wire.OutcomeNotApplicable, "", na.Reason)
	case errors.As(err, &rf):
		return no(wire.OutcomeRefused, rf.Code, rf.Reason)
	case err != nil:
		return no(wire.OutcomeFailed, "", err.Error())
	}
	if f.Consent || slices.Contains(r.Policy().ConsentRequired, f.ID) {
		if why := r.consent(ctx, f, req); why != "" {
			return no(wire.OutcomeRefused, wire.RefuseConsent, why)
		}
	}
	return f, params, plan, nil
}

type requesterConsentKey struct{}

// WithRequesterConsent marks runs done with ctx (Do) as asked for by the
// user at the device, from the tray or the Get help page: asking is
// consenting, so the user is not prompted again. Such runs are local: the
// journal keeps them in its local bucket (FromLocal).
func WithRequesterConsent(ctx context.Context) context.Context {
	return context.WithValue(ctx, requesterConsentKey{}, true)
}

// origin is who asked for the run done with ctx.
func origin(ctx context.Context) Origin {
	if local, _ := ctx.Value(requesterConsentKey{}).(bool); local {
		return FromLocal
	}
	return FromHub
}

type requesterKey struct{}

// WithRequester marks runs done with ctx (Do) as asked for by the
// unprivileged local user with this uid (from the agent's local socket,
// where the kernel vouches for the caller): such a run acts for that user
// only, so clear-temp removes only that user's files. A run the hub or
// the administrator asked for carries no requester.
func WithRequester(ctx context.Context, uid int) context.Context {
	return context.WithValue(ctx, requesterKey{}, uid)
}

// Requester returns the uid WithRequester put in ctx, or -1 when the run
// is not for one local user.
func Requester(ctx context.Context) int {
	if uid, ok := ctx.Value(requesterKey{}).(int); ok && uid >= 0 {
		return uid
	}
	return -1
}

// consent returns why the run may not go ahead, or "".
func (r *Runner) consent(ctx context.Context, f catalog.Fix, req wire.RunRequest) string {
	if asked, _ := ctx.Value(requesterConsentKey{}).(bool); asked {
		return ""
	}
	pol := r.Policy()
	if req.ConsentObtained && pol.TechnicianConsent {
		return ""
	}
	if r.cfg.Consent == nil {
		if req.ConsentObtained {
			return fmt.Sprintf("%s needs the user's consent; the device policy (%s) does not accept a technician's word for it "+
				"(rule \"technician_consent\") and nobody at the device could be asked (the Tierline tray is not running)", f.ID, pol.source())
		}
		return fmt.Sprintf("%s needs the user's consent and nobody at the device could be asked (the Tierline tray is not running); "+
			"ask the user and send the request again with consent obtained", f.ID)
	}
	ok, err := r.cfg.Consent(ctx, ConsentRequest{RunID: req.RunID, Fix: f.ID, Title: f.Title, UserText: f.UserText,
		Target: ConsentTarget(ctx, f.ID, req.Params), RequestedBy: req.RequestedBy, Ticket: req.Ticket, Disruptive: f.Disruptive})
	switch {
	case err != nil:
		return fmt.Sprintf("%s needs the user's consent and the user could not be asked: %v", f.ID, err)
	case !ok:
		return "the user declined " + f.ID
	}
	return ""
}

// execute runs the plan between the verification checks.
func (r *Runner) execute(ctx context.Context, req wire.RunResult, f catalog.Fix, params map[string]string, plan Plan) (res wire.RunResult) {
	res = req
	if len(f.Verify) > 0 && r.cfg.Verify != nil {
		res.Before = r.cfg.Verify(ctx, time.Time{}, f.Verify...)
	}
	out := &boundedOutput{max: wire.MaxRunOutput}
	var said []string
	outcome, code, reason := r.runSteps(ctx, &res, f, plan, out, &said)
	// What the steps did, in plain words (the space a disk fix freed),
	// follows the outcome's reason.
	defer func() {
		if len(said) > 0 {
			res.Reason = strings.TrimSpace(res.Reason + " " + strings.Join(said, " "))
		}
	}()
	// The verification after must not judge telemetry taken before the
	// steps ended (a killed runaway still shows in the last sample).
	stepsEnded := time.Now()
	res.Output, res.OutputTruncated = out.String(), res.OutputTruncated || out.truncated
	if outcome != "" {
		res.Outcome, res.Code, res.Reason = outcome, code, reason
		return res
	}
	switch {
	case plan.Deferred, plan.SelfVerified:
		res.Outcome, res.Reason = wire.OutcomeSucceeded, "Ran successfully."
	case len(f.Verify) == 0 || r.cfg.Verify == nil:
		res.Outcome, res.Reason = wire.OutcomeSucceeded, "Ran successfully; this fix has no checks to verify it."
	default:
		if err := r.cfg.Sleep(ctx, f.Settle()); err != nil {
			res.Outcome, res.Reason = wire.OutcomeFailed, "the agent stopped before the fix could be verified"
			return res
		}
		res.After = r.cfg.Verify(ctx, stepsEnded, f.Verify...)
		res.Outcome, res.Reason = Grade(res.Before, res.After)
	}
	if plan.Note != "" {
		res.Reason += " " + plan.Note
	}
	return res
}

// runSteps executes the plan. It returns a non-empty outcome when the run
// ended other than by every step succeeding.
func (r *Runner) runSteps(ctx context.Context, res *wire.RunResult, f catalog.Fix, plan Plan, out *boundedOutput, said *[]string) (outcome, code, reason string) {
	tctx, cancel := context.WithTimeout(ctx, f.Timeout())
	defer cancel()
	deadline, _ := tctx.Deadline()
	stopped := func() (string, string, string, bool) {
		switch {
		case ctx.Err() != nil:
			return wire.OutcomeFailed, "", "the agent was stopping, so the run was stopped part way; it will not run again", true
		case tctx.Err() != nil:
			return wire.OutcomeFailed, "", fmt.Sprintf("the fix did not finish within its %s timeout and was stopped", f.Timeout()), true
		}
		return "", "", "", false
	}
	succeeded, optionalFailed := 0, 0
	prog := r.newProgress(ctx, res.RunID)
	defer prog.done()
	for i, st := range plan.Steps {
		prog.step(wire.NoPercent, stepText(i, len(plan.Steps), st))
		start := time.Now()
		var step wire.RunStep
		var failure string
		if st.Action != nil {
			step.Argv = st.Action.Argv()
			out.header(step.Argv)
			ar := r.cfg.Exec.Do(tctx, *st.Action)
			out.write(ar.Output)
			step.DurationMS = time.Since(start).Milliseconds()
			if ar.Bundle != nil {
				res.Bundle, res.BundleName = ar.Bundle, ar.BundleName
			}
			if ar.Summary != "" {
				*said = append(*said, ar.Summary)
			}
			switch {
			case ar.Refused != nil:
				step.ExitCode, step.Error = -1, ar.Refused.Reason
				res.Steps = append(res.Steps, step)
				return wire.OutcomeRefused, ar.Refused.Code, ar.Refused.Reason
			case ar.NotApplicable != "":
				res.Steps = append(res.Steps, step)
				return wire.OutcomeNotApplicable, "", ar.NotApplicable
			case ar.Err != nil:
				step.ExitCode, step.Error = 1, ar.Err.Error()
				failure = st.Action.Name + ": " + ar.Err.Error()
			}
		} else {
			step.Argv = st.Argv
			out.header(st.Argv)
			cmd := execx.Cmd{Argv: st.Argv, Timeout: time.Until(deadline), MaxOutput: wire.MaxRunOutput, KeepTail: st.KeepTail, Env: st.Env}
			if st.AptStatus {
				cmd.OnLine = func(line string) {
					if pct, text, ok := ParseAptStatus(line); ok {
						prog.step(pct, text)
					}
				}
			}
			xr, err := r.cfg.Exec.Run(tctx, cmd)
			out.write(xr.Output)
			if xr.Truncated {
				res.OutputTruncated = true
			}
			step.ExitCode, step.DurationMS = xr.ExitCode, time.Since(start).Milliseconds()
			if err != nil {
				step.Error = err.Error()
			}
			switch {
			case err == nil || xr.ExitCode > 0 && containsInt(st.OKExits, xr.ExitCode):
			case xr.ExitCode > 0 && st.NotApplicable[xr.ExitCode] != "":
				res.Steps = append(res.Steps, step)
				return wire.OutcomeNotApplicable, "", st.NotApplicable[xr.ExitCode]
			case errors.Is(err, execx.ErrNotFound) && succeeded == 0:
				res.Steps = append(res.Steps, step)
				return wire.OutcomeNotApplicable, "", fmt.Sprintf("%s is not installed on this machine", st.Argv[0])
			default:
				failure = err.Error()
			}
		}
		if len(res.Steps) < 64 {
			res.Steps = append(res.Steps, step)
		}
		if o, c, why, ok := stopped(); ok {
			return o, c, why
		}
		if failure != "" {
			if !st.Optional {
				return wire.OutcomeFailed, "", "the fix failed: " + failure
			}
			optionalFailed++
			continue
		}
		succeeded++
	}
	if succeeded == 0 && optionalFailed > 0 {
		return wire.OutcomeFailed, "", "the fix failed: none of its steps succeeded"
	}
	return "", "", ""
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// Grade turns the verification checks before and after a fix into an
// outcome and a reason.
func Grade(before, after []diag.CheckResult) (string, string) {
	bad := func(rs []diag.CheckResult) []diag.CheckResult {
		var out []diag.CheckResult
		for _, c := range rs {
			if c.Status == diag.StatusWarning || c.Status == diag.StatusFailing {
				out = append(out, c)
			}
		}
		return out
	}
	b, a := bad(before), bad(after)
	var unjudged []string
	for _, c := range after {
		if c.Status == diag.StatusUnknown && slices.ContainsFunc(b, func(x diag.CheckResult) bool { return x.Name == c.Name }) {
			unjudged = append(unjudged, fmt.Sprintf("%s (%s)", c.Name, c.Summary))
		}
	}
	if len(a) > 0 {
		var parts []string
		for _, c := range a {
			parts = append(parts, fmt.Sprintf("%s is %s (%s)", c.Name, c.Status, c.Summary))
		}
		return wire.OutcomeNotFixed, "The fix ran, but the problem remains: " + strings.Join(parts, "; ") + "."
	}
	if len(unjudged) > 0 {
		return wire.OutcomeSucceeded, "The fix ran, but whether it helped is not known: " + strings.Join(unjudged, "; ") + "."
	}
	if len(b) > 0 {
		var names []string
		for _, c := range b {
			names = append(names, c.Name)
		}
		return wire.OutcomeFixed, "Fixed: " + strings.Join(names, ", ") + " showed a problem before and every check is ok after."
	}
	return wire.OutcomeSucceeded, "Ran successfully; the checks showed no problem before or after."
}

// boundedOutput collects step output up to max bytes of valid UTF-8.
type boundedOutput struct {
	b         strings.Builder
	max       int
	truncated bool
}

func (o *boundedOutput) header(argv []string) {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = a
		if a == "" || strings.ContainsAny(a, " \t\"'\\") {
			q[i] = strconv.Quote(a)
		}
	}
	o.write("$ " + strings.Join(q, " ") + "\n")
}

func (o *boundedOutput) write(s string) {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if room := o.max - o.b.Len(); len(s) > room {
		o.truncated = true
		if room <= 0 {
			return
		}
		for room > 0 && !utf8.RuneStart(s[room]) {
			room--
		}
		s = s[:room]
	}
	o.b.WriteString(s)
}

func (o *boundedOutput) String() string { return o.b.String() }
