// Package localapi serves the operations of the agent's local socket
// (agent/localipc/ops.go) for the tray, the Get help page and the agent's
// own subcommands: thin handlers that decode a call, scope it to the
// caller and hand it to Get help (agent/gethelp), the fixes runner, the
// health checks or the hub link.
package localapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tierline/tierline/agent/fixes"
	"github.com/tierline/tierline/agent/gethelp"
	"github.com/tierline/tierline/agent/health"
	"github.com/tierline/tierline/agent/link"
	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/agent/version"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/ratelimit"
	"github.com/tierline/tierline/shared/wire"
)

// Link is what the operations need of the hub link (agent/link).
type Link interface {
	Send(ctx context.Context, body wire.Body) (uint64, error)
	State() link.State
	SearchKB(ctx context.Context, q wire.KBQuery) (wire.KBResults, error)
	RequestTemplates(ctx context.Context) ([]wire.RequestTemplate, error)
}

// Checker runs health checks (agent/health).
type Checker interface {
	Run(ctx context.Context, names ...string) []diag.CheckResult
}

// CrashRecord is the agent's record of application crashes (agent/crashes).
type CrashRecord interface {
	Recent(ctx context.Context) []diag.AppCrashes
}

// Runner runs fixes (agent/fixes).
type Runner interface {
	Do(ctx context.Context, req wire.RunRequest, decodeErr error) wire.RunResult
	Progress(id string) (fixes.Progress, bool)
}

// Config is what the operations work with.
type Config struct {
	Link   Link
	Checks Checker
	Runner Runner
	Policy fixes.Policy
	Desk   *gethelp.Desk
	KB     *gethelp.KBCache
	// Templates keeps the hub's service request templates (the desk
	// checks requests against the same cache).
	Templates *gethelp.TemplateCache
	Consent   *gethelp.ConsentBroker
	// Crashes, when set, lists recent application crashes in diagnose.
	Crashes CrashRecord
	// Hub is the hub's address (host:port) and Hostname this machine's,
	// for the status.
	Hub, Hostname string
	Logger        *slog.Logger
	// KBWait bounds one question to the hub (default 3 s).
	KBWait time.Duration
	// Machine describes this machine for telling which fixes apply here
	// (default fixes.LocalMachine, read at each listing: a tool installed
	// or a lease taken since shows at once).
	Machine func() fixes.Machine
	// FixLimit bounds the fixes one unprivileged local user runs (agent
	// run --fix-limit; zero: no limit). The administrator is not limited.
	FixLimit ratelimit.Limit
	// Recipes are the organisation's signed recipes the agent accepted:
	// listed and run like catalog fixes (nil: none).
	Recipes fixes.RecipeSource
	// Software is the organisation's signed software catalog (nil: none).
	Software fixes.SoftwareSource
	// Installed, when set, is told of each software install a local
	// caller ran that succeeded (the agent reads its inventory again).
	Installed func()
}

// DefaultFixPerUser is the default FixLimit: plenty for a person trying
// the Tier 0 fixes, nothing like a loop of thousands.
var DefaultFixPerUser = ratelimit.Limit{N: 30, Per: time.Hour}

// API serves the local socket's operations.
type API struct {
	link      Link
	checks    Checker
	runner    Runner
	policy    fixes.Policy
	desk      *gethelp.Desk
	kb        *gethelp.KBCache
	tpls      *gethelp.TemplateCache
	consent   *gethelp.ConsentBroker
	crashes   CrashRecord
	hub       string
	hostname  string
	log       *slog.Logger
	kbWait    time.Duration
	machine   func() fixes.Machine
	fixRuns   *ratelimit.Keyed
	recipes   fixes.RecipeSource
	software  fixes.SoftwareSource
	installed func()

	runsMu  sync.Mutex
	running map[string]runningRun // each local user's fix run that is waiting or running

	mu     sync.Mutex
	latest []diag.CheckResult // the last health check results
	at     time.Time
}

// New makes the operations over cfg.
func New(cfg Config) *API {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.KBWait <= 0 {
		cfg.KBWait = 3 * time.Second
	}
	if cfg.Machine == nil {
		cfg.Machine = fixes.LocalMachine
	}
	return &API{link: cfg.Link, checks: cfg.Checks, runner: cfg.Runner, policy: cfg.Policy, desk: cfg.Desk, kb: cfg.KB,
		tpls: cfg.Templates, consent: cfg.Consent, crashes: cfg.Crashes, hub: cfg.Hub, hostname: cfg.Hostname, log: cfg.Logger, kbWait: cfg.KBWait,
		machine: cfg.Machine, fixRuns: ratelimit.NewKeyed(cfg.FixLimit), recipes: cfg.Recipes, software: cfg.Software, installed: cfg.Installed}
}

// SetPolicy replaces the fix policy the listings apply (the hub's policy
// changed).
func (o *API) SetPolicy(p fixes.Policy) {
	o.mu.Lock()
	o.policy = p
	o.mu.Unlock()
}

func (o *API) fixPolicy() fixes.Policy {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.policy
}

// SetChecks records the latest full health check results.
func (o *API) SetChecks(rs []diag.CheckResult) {
	if len(rs) == 0 {
		return
	}
	o.mu.Lock()
	o.latest, o.at = rs, time.Now()
	o.mu.Unlock()
}

// mergeChecks updates the named results (a fix's after-checks).
func (o *API) mergeChecks(rs []diag.CheckResult) {
	if len(rs) == 0 {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	// A new slice: callers of current may still be reading the old one.
	next := slices.Clone(o.latest)
	for _, r := range rs {
		for i := range next {
			if next[i].Name == r.Name {
				next[i] = r
			}
		}
	}
	o.latest = next
}

// current returns the latest results, running the checks when there are
// none yet.
func (o *API) current(ctx context.Context) []diag.CheckResult {
	o.mu.Lock()
	rs := o.latest
	o.mu.Unlock()
	if rs != nil {
		return rs
	}
	return o.runChecks(ctx)
}

func (o *API) runChecks(ctx context.Context, names ...string) []diag.CheckResult {
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	rs := o.checks.Run(health.Fresh(cctx), names...)
	if len(names) == 0 {
		o.SetChecks(rs)
	} else {
		o.mergeChecks(rs)
	}
	return rs
}

// check is r for who, as the socket carries it.
func (o *API) check(r diag.CheckResult, who localipc.Caller) localipc.Check {
	return localipc.NewCheck(r, o.fixesFor(r, who))
}

func bad(s diag.Status) bool { return s == diag.StatusFailing || s == diag.StatusWarning }

// fixesFor are the catalog fixes that address check name (its own
// suggestion first, then those verified by it), limited to what the
// caller may run and what runs here.
func (o *API) fixesFor(r diag.CheckResult, who localipc.Caller) []string {
	out := []string{}
	add := func(id string) {
		f, _, ok := fixes.Lookup(id, o.recipes)
		if !ok || slices.Contains(out, id) || !f.Supports(runtime.GOOS) || !o.fixPolicy().Allows(f) {
			return
		}
		if !who.Privileged && f.Tier > catalog.TierSelfHelp {
			return
		}
		out = append(out, id)
	}
	if r.Fix != "" {
		add(r.Fix)
	}
	for _, f := range fixes.AllFixes(o.recipes) {
		if slices.Contains(f.Verify, r.Name) {
			add(f.ID)
		}
	}
	return out
}

func caller(ctx context.Context) localipc.Caller {
	who, ok := localipc.CallerFrom(ctx)
	if !ok {
		return localipc.Caller{UID: -1, User: "unknown"}
	}
	return who
}

// Register registers every operation on s.
func (o *API) Register(s *localipc.Server) {
	s.HandleUser(localipc.OpStatus, func(ctx context.Context, _ json.RawMessage) (any, error) {
		o.consent.Seen(caller(ctx))
		return o.status(ctx, caller(ctx)), nil
	})
	s.HandleUser(localipc.OpDiagnose, func(ctx context.Context, _ json.RawMessage) (any, error) {
		who := caller(ctx)
		out := localipc.Diagnosis{Checks: []localipc.Check{}, Crashes: []localipc.Crash{}}
		for _, r := range o.runChecks(ctx) {
			out.Checks = append(out.Checks, o.check(r, who))
		}
		if o.crashes != nil {
			// The user is asked about what troubles them now: the most
			// recent first.
			apps := o.crashes.Recent(ctx)
			sort.SliceStable(apps, func(i, j int) bool { return apps[i].Last.After(apps[j].Last) })
			for i, a := range apps {
				if i == localipc.MaxDiagnosisCrashes {
					break
				}
				out.Crashes = append(out.Crashes, localipc.NewCrash(a))
			}
		}
		return out, nil
	})
	s.HandleUser(localipc.OpFixes, func(ctx context.Context, _ json.RawMessage) (any, error) {
		return o.fixList(ctx, caller(ctx)), nil
	})
	s.HandleUser(localipc.OpSoftware, func(ctx context.Context, _ json.RawMessage) (any, error) {
		return o.softwareList(ctx), nil
	})
	s.HandleUser(localipc.OpProgress, func(ctx context.Context, _ json.RawMessage) (any, error) {
		return o.progress(caller(ctx)), nil
	})
	s.HandleUser(localipc.OpRun, func(ctx context.Context, body json.RawMessage) (any, error) {
		var call localipc.RunCall
		if err := decodeBody(body, &call); err != nil {
			return nil, err
		}
		return o.run(ctx, caller(ctx), call)
	})
	s.HandleUser(localipc.OpKB, func(ctx context.Context, body json.RawMessage) (any, error) {
		var call localipc.KBCall
		if err := decodeBody(body, &call); err != nil {
			return nil, err
		}
		return o.searchKB(ctx, call)
	})
	s.HandleUser(localipc.OpTemplates, func(ctx context.Context, _ json.RawMessage) (any, error) {
		return o.templates(ctx), nil
	})
	s.HandleUser(localipc.OpSession, func(ctx context.Context, body json.RawMessage) (any, error) {
		var call localipc.SessionCall
		if err := decodeBody(body, &call); err != nil {
			return nil, err
		}
		return o.session(ctx, call)
	})
	s.HandleUser(localipc.OpConsentPending, func(ctx context.Context, _ json.RawMessage) (any, error) {
		o.consent.Seen(caller(ctx))
		return o.consent.Pending(caller(ctx)), nil
	})
	s.HandleUser(localipc.OpConsentAnswer, func(ctx context.Context, body json.RawMessage) (any, error) {
		var call localipc.ConsentAnswerCall
		if err := decodeBody(body, &call); err != nil {
			return nil, err
		}
		if err := o.consent.Answer(call.RunID, call.Allow, caller(ctx)); err != nil {
			return nil, err
		}
		return localipc.OK{OK: true}, nil
	})
	s.HandleUser(localipc.OpHelp, func(ctx context.Context, body json.RawMessage) (any, error) {
		var call localipc.HelpCall
		if err := decodeBody(body, &call); err != nil {
			return nil, err
		}
		return o.desk.File(ctx, caller(ctx), call)
	})
	s.HandleUser(localipc.OpTickets, func(ctx context.Context, body json.RawMessage) (any, error) {
		var call localipc.TicketsCall
		if len(body) > 0 && string(body) != "null" {
			if err := decodeBody(body, &call); err != nil {
				return nil, err
			}
		}
		return o.desk.Tickets(caller(ctx), call.Peek), nil
	})
	s.HandleUser(localipc.OpReply, func(ctx context.Context, body json.RawMessage) (any, error) {
		var r wire.UserReply
		if err := decodeBody(body, &r); err != nil {
			return nil, err
		}
		if err := o.desk.Reply(ctx, caller(ctx), r); err != nil {
			return nil, err
		}
		return localipc.Queued{Queued: true}, nil
	})
	s.HandleUser(localipc.OpSurvey, func(ctx context.Context, body json.RawMessage) (any, error) {
		var a wire.SurveyAnswer
		if err := decodeBody(body, &a); err != nil {
			return nil, err
		}
		if err := o.desk.Survey(ctx, caller(ctx), a); err != nil {
			return nil, err
		}
		return localipc.Queued{Queued: true}, nil
	})
}

// decodeBody decodes a request body strictly: a body the agent does not
// understand is refused, not half read.
func decodeBody(body json.RawMessage, v any) error {
	if len(body) == 0 || string(body) == "null" {
		return localipc.BadRequest("this operation needs a body (see agent/localipc/ops.go)")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return localipc.BadRequest("the request body is not valid: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return localipc.BadRequest("the request body is not valid: it has more after the JSON value")
	}
	return nil
}

func (o *API) status(ctx context.Context, who localipc.Caller) localipc.Status {
	st := o.link.State()
	out := localipc.Status{Connected: st.Connected, LastSync: st.LastAcked, Hub: o.hub, Queued: st.SpoolDepth,
		Failing: []localipc.Check{}, Hostname: o.hostname, User: who.User, Version: version.Version}
	if !st.Connected {
		out.LastError = st.LastError
	}
	for _, r := range o.current(ctx) {
		if bad(r.Status) {
			out.Failing = append(out.Failing, o.check(r, who))
		}
	}
	out.MessagesWaiting = o.desk.WaitingFor(who)
	out.PendingConsent = len(o.consent.Pending(who))
	out.Icon = trayIcon(out)
	return out
}

// trayIcon is the tray's icon for st, the most important state first: a
// message or a question waiting for the user (only they can act on it),
// then a problem on this machine (Get help may fix it), then offline
// (requests still work, they are queued), then all well.
func trayIcon(st localipc.Status) string {
	switch {
	case st.MessagesWaiting > 0 || st.PendingConsent > 0:
		return localipc.IconMessage
	case len(st.Failing) > 0:
		return localipc.IconProblem
	case !st.Connected:
		return localipc.IconOffline
	}
	return localipc.IconConnected
}

// fixList lists the fixes who may run, with whether each applies here now:
// one that would only come back not_applicable (CUPS not installed,
// systemd not running, no DHCP lease) is marked so, with the reason, and
// Get help and the tray never offer it.
func (o *API) fixList(ctx context.Context, who localipc.Caller) localipc.FixList {
	failing := map[string][]string{} // fix -> failing checks it addresses
	worst := map[string]string{}     // fix -> the worst status of those
	suggested := map[string]bool{}   // fix -> one of those names it as its fix
	for _, r := range o.current(ctx) {
		if bad(r.Status) {
			for _, id := range o.fixesFor(r, who) {
				failing[id] = append(failing[id], r.Name)
				if worst[id] != string(diag.StatusFailing) {
					worst[id] = string(r.Status)
				}
				if id == r.Fix {
					suggested[id] = true
				}
			}
		}
	}
	m := o.machine()
	out := localipc.FixList{Fixes: []localipc.Fix{}}
	for _, f := range fixes.AllFixes(o.recipes) {
		if !who.Privileged && f.Tier > catalog.TierSelfHelp {
			continue
		}
		x := localipc.Fix{ID: f.ID, Title: f.Title, Description: f.UserText, Tier: f.Tier, Consent: f.Consent,
			Disruptive: f.Disruptive, Applicable: true, Addresses: failing[f.ID], Worst: worst[f.ID],
			Suggested: suggested[f.ID]}
		switch {
		case !f.Supports(runtime.GOOS):
			x.Applicable, x.Reason = false, "not available on "+runtime.GOOS
		case !o.fixPolicy().Allows(f):
			x.Applicable, x.Reason = false, fixes.PolicyRefusal(o.fixPolicy(), f)
		default:
			if why := fixes.NotApplicableHere(f, m); why != "" {
				x.Applicable, x.Reason = false, why
			}
		}
		for _, p := range f.Params {
			x.Params = append(x.Params, localipc.FixParam{Name: p.Name, Title: p.Title, Default: p.Default, Help: p.Help})
		}
		out.Fixes = append(out.Fixes, x)
	}
	return out
}

// run runs a fix for a local caller, synchronously. Local runs stay
// local: they are in the agent's journal and the log, and reach the hub as
// the self-help tried when the user files a ticket; the hub never asked
// for them, so no run_result is sent.
func (o *API) run(ctx context.Context, who localipc.Caller, call localipc.RunCall) (wire.RunResult, error) {
	f, _, ok := fixes.Lookup(call.Fix, o.recipes)
	if !ok {
		return wire.RunResult{}, localipc.BadRequest("%q is not a fix of this agent's catalog nor a signed recipe it accepted (see the fixes operation)", localipc.Clip(call.Fix, 64))
	}
	tier := catalog.TierExpert
	if !who.Privileged {
		tier = catalog.TierSelfHelp
		if f.Tier > catalog.TierSelfHelp {
			return wire.RunResult{}, localipc.Forbidden("%s (%s) is a Tier %d fix: only the help desk can run it. "+
				"Use Get help to ask them; you can run the Tier 0 fixes yourself.", f.ID, f.Title, f.Tier)
		}
	}
	if !who.Privileged {
		now := time.Now()
		if ok, at := o.fixRuns.Allow(who.User, now); !ok {
			o.log.Warn("local fix run refused: the user is over its limit", "user", who.User, "uid", who.UID, "fix", f.ID,
				"limit", o.fixRuns.Limit().String())
			return wire.RunResult{}, localipc.Limited("You have run fixes yourself as often as one person may on this computer (%s). "+
				"You can run one again %s; if the problem remains, use Get help.", o.fixRuns.Limit().Describe(), gethelp.AskAgain(at, now))
		}
	}
	req := wire.RunRequest{RunID: wire.NewID(), Fix: f.ID, Params: call.Params, Tier: tier,
		RequestedBy: "local user " + who.User}
	rctx := fixes.WithRequesterConsent(ctx)
	if !who.Privileged && who.UID >= 0 {
		rctx = fixes.WithRequester(rctx, who.UID)
	}
	o.runsMu.Lock()
	if o.running == nil {
		o.running = map[string]runningRun{}
	}
	o.running[who.User] = runningRun{id: req.RunID, fix: f.ID}
	o.runsMu.Unlock()
	res := o.runner.Do(rctx, req, nil)
	o.runsMu.Lock()
	if o.running[who.User].id == req.RunID {
		delete(o.running, who.User)
	}
	o.runsMu.Unlock()
	o.mergeChecks(res.After)
	if f.ID == catalog.InstallSoftware && !res.Replayed {
		o.reportInstall(ctx, who, res, call.Params)
	}
	o.log.Info("local fix run", "user", who.User, "uid", who.UID, "fix", f.ID, "outcome", res.Outcome)
	return res, nil
}

type runningRun struct{ id, fix string }

// progress is the latest step of the caller's own run (the Get help page
// asks while its install runs); a user sees only their own.
func (o *API) progress(who localipc.Caller) localipc.RunProgress {
	o.runsMu.Lock()
	rr, ok := o.running[who.User]
	o.runsMu.Unlock()
	if !ok {
		return localipc.RunProgress{Percent: wire.NoPercent}
	}
	out := localipc.RunProgress{Running: true, Fix: rr.fix, Percent: wire.NoPercent}
	if p, ok := o.runner.Progress(rr.id); ok {
		out.Percent, out.Text, out.At = p.Percent, p.Text, p.At
	}
	return out
}

func (o *API) failingNames(ctx context.Context) []string {
	var out []string
	for _, r := range o.current(ctx) {
		if bad(r.Status) {
			out = append(out, r.Name)
		}
	}
	return out
}

func (o *API) searchKB(ctx context.Context, call localipc.KBCall) (localipc.KBAnswer, error) {
	// Get help sends the whole problem as the user wrote it; the hub
	// searches on its first wire.MaxKBText bytes.
	text := strings.TrimSpace(localipc.Cut(strings.TrimSpace(call.Text), wire.MaxKBText))
	checks := call.Checks
	if len(checks) == 0 {
		checks = o.failingNames(ctx)
	}
	if len(checks) > diag.MaxSearchChecks {
		checks = checks[:diag.MaxSearchChecks]
	}
	qctx, cancel := context.WithTimeout(ctx, o.kbWait)
	res, err := o.link.SearchKB(qctx, wire.KBQuery{Text: text, Checks: checks, Limit: wire.KBLimit})
	cancel()
	if err == nil {
		o.kb.Remember(res.Articles)
		if res.Articles == nil {
			res.Articles = []wire.KBArticle{}
		}
		return localipc.KBAnswer{Articles: res.Articles}, nil
	}
	if !errors.Is(err, link.ErrOffline) {
		o.log.Info("knowledge-base search: answering from the saved copy", "err", err)
	}
	return localipc.KBAnswer{Articles: o.kb.Search(text, checks, wire.KBLimit), Cached: true}, nil
}

// templates asks the hub for its service request templates and keeps
// them; offline, or when the hub does not answer in time, the list it gave
// last.
func (o *API) templates(ctx context.Context) localipc.TemplatesAnswer {
	if o.tpls == nil {
		return localipc.TemplatesAnswer{Templates: []wire.RequestTemplate{}, Cached: true}
	}
	qctx, cancel := context.WithTimeout(ctx, o.kbWait)
	list, err := o.link.RequestTemplates(qctx)
	cancel()
	if err == nil {
		o.tpls.Remember(list)
		return localipc.TemplatesAnswer{Templates: o.tpls.List()}
	}
	if !errors.Is(err, link.ErrOffline) {
		o.log.Info("request templates: answering from the saved copy", "err", err)
	}
	return localipc.TemplatesAnswer{Templates: o.tpls.List(), Cached: true}
}

func (o *API) session(ctx context.Context, call localipc.SessionCall) (localipc.SessionAnswer, error) {
	h := wire.HelpSession{SessionID: call.SessionID, Started: call.Started, Ended: time.Now().UTC(), Category: call.Category,
		Ticket: call.Ticket, FixesRun: call.FixesRun, Articles: call.Articles, Failing: call.Failing}
	if c, ok := localipc.CallerFrom(ctx); ok && !c.Privileged {
		h.User = c.User
	}
	if h.SessionID == "" {
		h.SessionID = wire.NewID()
	}
	if err := h.Validate(); err != nil {
		return localipc.SessionAnswer{}, localipc.BadRequest("session: %v", err)
	}
	if h.Category != "" && !slices.Contains(wire.HelpCategories, h.Category) {
		return localipc.SessionAnswer{}, localipc.BadRequest("category %q is not one of %v", localipc.Clip(h.Category, 64), wire.HelpCategories)
	}
	h.Recovered = []string{}
	if len(h.Failing) > 0 {
		now := map[string]diag.Status{}
		for _, r := range o.runChecks(ctx, h.Failing...) {
			now[r.Name] = r.Status
		}
		for _, name := range h.Failing {
			if now[name] == diag.StatusOK {
				h.Recovered = append(h.Recovered, name)
			}
		}
	}
	if _, err := o.link.Send(ctx, h); err != nil {
		return localipc.SessionAnswer{}, fmt.Errorf("could not save the session: %w", err)
	}
	return localipc.SessionAnswer{Recovered: h.Recovered, Queued: true}, nil
}
