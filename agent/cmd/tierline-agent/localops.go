package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tierline/tierline/agent/fixes"
	"github.com/tierline/tierline/agent/fsutil"
	"github.com/tierline/tierline/agent/health"
	"github.com/tierline/tierline/agent/link"
	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/agent/version"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// localOps serves the tray's and the Get help page's operations on the
// local socket (agent/localipc/ops.go): status, diagnose, fixes, run, kb,
// session and consent. The help desk's own operations (help, tickets,
// reply, survey) are in helpdesk.go.
type localOps struct {
	link     *link.Link
	checks   *health.Runner
	runner   *fixes.Runner
	policy   fixes.Policy
	desk     *helpDesk
	kb       *kbCache
	consent  *consentBroker
	hub      string
	hostname string
	log      *slog.Logger
	// kbWait bounds one question to the hub.
	kbWait time.Duration

	mu     sync.Mutex
	latest []diag.CheckResult // the last health check results
	at     time.Time
}

// setChecks records the latest full health check results.
func (o *localOps) setChecks(rs []diag.CheckResult) {
	if len(rs) == 0 {
		return
	}
	o.mu.Lock()
	o.latest, o.at = rs, time.Now()
	o.mu.Unlock()
}

// mergeChecks updates the named results (a fix's after-checks).
func (o *localOps) mergeChecks(rs []diag.CheckResult) {
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
func (o *localOps) current(ctx context.Context) []diag.CheckResult {
	o.mu.Lock()
	rs := o.latest
	o.mu.Unlock()
	if rs != nil {
		return rs
	}
	return o.runChecks(ctx)
}

func (o *localOps) runChecks(ctx context.Context, names ...string) []diag.CheckResult {
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	rs := o.checks.Run(cctx, names...)
	if len(names) == 0 {
		o.setChecks(rs)
	} else {
		o.mergeChecks(rs)
	}
	return rs
}

func bad(s diag.Status) bool { return s == diag.StatusFailing || s == diag.StatusWarning }

// fixesFor are the catalog fixes that address check name (its own
// suggestion first, then those verified by it), limited to what the
// caller may run and what runs here.
func (o *localOps) fixesFor(r diag.CheckResult, who localipc.Caller) []string {
	out := []string{}
	add := func(id string) {
		f, ok := catalog.Get(id)
		if !ok || slices.Contains(out, id) || !f.Supports(runtime.GOOS) || !o.policy.Allows(f) {
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
	for _, f := range catalog.All() {
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

func (o *localOps) register(s *localipc.Server) {
	s.HandleUser(localipc.OpStatus, func(ctx context.Context, _ json.RawMessage) (any, error) {
		o.consent.seen(caller(ctx))
		return o.status(ctx, caller(ctx)), nil
	})
	s.HandleUser(localipc.OpDiagnose, func(ctx context.Context, _ json.RawMessage) (any, error) {
		who := caller(ctx)
		out := localipc.Diagnosis{Checks: []localipc.Check{}}
		for _, r := range o.runChecks(ctx) {
			out.Checks = append(out.Checks, localipc.Check{Name: r.Name, Status: string(r.Status), Summary: r.Summary,
				Evidence: r.Evidence, Fixes: o.fixesFor(r, who)})
		}
		return out, nil
	})
	s.HandleUser(localipc.OpFixes, func(ctx context.Context, _ json.RawMessage) (any, error) {
		return o.fixList(ctx, caller(ctx)), nil
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
	s.HandleUser(localipc.OpSession, func(ctx context.Context, body json.RawMessage) (any, error) {
		var call localipc.SessionCall
		if err := decodeBody(body, &call); err != nil {
			return nil, err
		}
		return o.session(ctx, call)
	})
	s.HandleUser(localipc.OpConsentPending, func(ctx context.Context, _ json.RawMessage) (any, error) {
		o.consent.seen(caller(ctx))
		return o.consent.pending(caller(ctx)), nil
	})
	s.HandleUser(localipc.OpConsentAnswer, func(ctx context.Context, body json.RawMessage) (any, error) {
		var call localipc.ConsentAnswerCall
		if err := decodeBody(body, &call); err != nil {
			return nil, err
		}
		if err := o.consent.answer(call.RunID, call.Allow, caller(ctx)); err != nil {
			return nil, err
		}
		return localipc.OK{OK: true}, nil
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

func (o *localOps) status(ctx context.Context, who localipc.Caller) localipc.Status {
	st := o.link.State()
	out := localipc.Status{Connected: st.Connected, LastSync: st.LastAcked, Hub: o.hub, Queued: st.SpoolDepth,
		Failing: []localipc.FailingCheck{}, Hostname: o.hostname, User: who.User, Version: version.Version}
	if !st.Connected {
		out.LastError = st.LastError
	}
	for _, r := range o.current(ctx) {
		if bad(r.Status) {
			out.Failing = append(out.Failing, localipc.FailingCheck{Name: r.Name, Status: string(r.Status), Summary: r.Summary,
				Fixes: o.fixesFor(r, who)})
		}
	}
	out.MessagesWaiting = o.desk.waitingFor(who)
	out.PendingConsent = len(o.consent.pending(who))
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

func (o *localOps) fixList(ctx context.Context, who localipc.Caller) localipc.FixList {
	failing := map[string][]string{} // fix -> failing checks it addresses
	for _, r := range o.current(ctx) {
		if bad(r.Status) {
			for _, id := range o.fixesFor(r, who) {
				failing[id] = append(failing[id], r.Name)
			}
		}
	}
	out := localipc.FixList{Fixes: []localipc.Fix{}}
	for _, f := range catalog.All() {
		if !who.Privileged && f.Tier > catalog.TierSelfHelp {
			continue
		}
		x := localipc.Fix{ID: f.ID, Title: f.Title, Description: f.UserText, Tier: f.Tier, Consent: f.Consent,
			Disruptive: f.Disruptive, Applicable: true, Addresses: failing[f.ID]}
		switch {
		case !f.Supports(runtime.GOOS):
			x.Applicable, x.Reason = false, "not available on "+runtime.GOOS
		case !o.policy.Allows(f):
			x.Applicable, x.Reason = false, fixes.PolicyRefusal(o.policy, f)
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
func (o *localOps) run(ctx context.Context, who localipc.Caller, call localipc.RunCall) (wire.RunResult, error) {
	f, ok := catalog.Get(call.Fix)
	if !ok {
		return wire.RunResult{}, localipc.BadRequest("%q is not a fix of this agent's catalog (see the fixes operation)", localipc.Clip(call.Fix, 64))
	}
	tier := catalog.TierExpert
	if !who.Privileged {
		tier = catalog.TierSelfHelp
		if f.Tier > catalog.TierSelfHelp {
			return wire.RunResult{}, localipc.Forbidden("%s (%s) is a Tier %d fix: only the help desk can run it. "+
				"Use Get help to ask them; you can run the Tier 0 fixes yourself.", f.ID, f.Title, f.Tier)
		}
	}
	req := wire.RunRequest{RunID: wire.NewID(), Fix: f.ID, Params: call.Params, Tier: tier,
		RequestedBy: "local user " + who.User}
	rctx := fixes.WithRequesterConsent(ctx)
	if !who.Privileged && who.UID >= 0 {
		rctx = fixes.WithRequester(rctx, who.UID)
	}
	res := o.runner.Do(rctx, req, nil)
	o.mergeChecks(res.After)
	o.log.Info("local fix run", "user", who.User, "uid", who.UID, "fix", f.ID, "outcome", res.Outcome)
	return res, nil
}

func (o *localOps) failingNames(ctx context.Context) []string {
	var out []string
	for _, r := range o.current(ctx) {
		if bad(r.Status) {
			out = append(out, r.Name)
		}
	}
	return out
}

// maxKBText is the longest search text the hub takes (wire.KBQuery).
const maxKBText = 1024

func (o *localOps) searchKB(ctx context.Context, call localipc.KBCall) (localipc.KBAnswer, error) {
	// Get help sends the whole problem as the user wrote it; the hub
	// searches on its first maxKBText bytes.
	text := strings.TrimSpace(localipc.Cut(strings.TrimSpace(call.Text), maxKBText))
	checks := call.Checks
	if len(checks) == 0 {
		checks = o.failingNames(ctx)
	}
	if len(checks) > 50 {
		checks = checks[:50]
	}
	qctx, cancel := context.WithTimeout(ctx, o.kbWait)
	res, err := o.link.SearchKB(qctx, wire.KBQuery{Text: text, Checks: checks, Limit: 10})
	cancel()
	if err == nil {
		o.kb.remember(res.Articles)
		if res.Articles == nil {
			res.Articles = []wire.KBArticle{}
		}
		return localipc.KBAnswer{Articles: res.Articles}, nil
	}
	if !errors.Is(err, link.ErrOffline) {
		o.log.Info("knowledge-base search: answering from the saved copy", "err", err)
	}
	return localipc.KBAnswer{Articles: o.kb.search(text, checks, 10), Cached: true}, nil
}

func (o *localOps) session(ctx context.Context, call localipc.SessionCall) (localipc.SessionAnswer, error) {
	h := wire.HelpSession{SessionID: call.SessionID, Started: call.Started, Ended: time.Now().UTC(), Category: call.Category,
		Ticket: call.Ticket, FixesRun: call.FixesRun, Articles: call.Articles, Failing: call.Failing}
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

// consentBroker holds fixes waiting for the user's consent until the tray
// or the Get help page answers (consent_answer) or the wait ends. A fix on
// a ticket is the business of the user who filed it: only that user (or
// the agent's own user) sees the question and may answer it, and it is
// asked only while that user's tray or page is polling. A fix on no
// ticket, or on a ticket whose filer is unknown, is for any local user.
type consentBroker struct {
	// wait bounds how long a fix waits for the user.
	wait time.Duration
	// present is how recently a tray or page must have asked the agent
	// for its status for the user to count as reachable.
	present time.Duration
	now     func() time.Time
	// owner names the local user who filed a ticket, "" if unknown.
	owner func(ticketID string) string

	mu       sync.Mutex
	lastSeen time.Time
	seenBy   map[string]time.Time // by local user name
	waiting  map[string]*consentWait
}

type consentWait struct {
	item   localipc.ConsentItem
	owner  string // "" for any local user
	answer chan bool
}

func newConsentBroker(wait time.Duration) *consentBroker {
	return &consentBroker{wait: wait, present: 30 * time.Second, now: time.Now, owner: func(string) string { return "" },
		seenBy: map[string]time.Time{}, waiting: map[string]*consentWait{}}
}

// seen records that who's tray or page is polling.
func (b *consentBroker) seen(who localipc.Caller) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	b.lastSeen = now
	if who.User != "" {
		if len(b.seenBy) > 1000 {
			clear(b.seenBy)
		}
		b.seenBy[who.User] = now
	}
}

// ask is the fixes runner's ConsentFunc.
func (b *consentBroker) ask(ctx context.Context, req fixes.ConsentRequest) (bool, error) {
	owner := ""
	if req.Ticket != "" {
		owner = b.owner(req.Ticket)
	}
	b.mu.Lock()
	last := b.lastSeen
	if owner != "" {
		last = b.seenBy[owner]
	}
	if last.IsZero() || b.now().Sub(last) > b.present {
		b.mu.Unlock()
		if owner != "" {
			return false, fmt.Errorf("%s, who filed the ticket, could not be asked (their Tierline tray is not running)", owner)
		}
		return false, errors.New("nobody at the device could be asked (the Tierline tray is not running in any session)")
	}
	who := req.RequestedBy
	if who == "" {
		who = "a technician"
	}
	w := &consentWait{answer: make(chan bool, 1), owner: owner, item: localipc.ConsentItem{RunID: req.RunID, Fix: req.Fix, Title: req.Title,
		Technician: who, Reason: req.UserText, Ticket: req.Ticket, Disruptive: req.Disruptive, Expires: b.now().Add(b.wait).UTC()}}
	b.waiting[req.RunID] = w
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.waiting, req.RunID)
		b.mu.Unlock()
	}()
	t := time.NewTimer(b.wait)
	defer t.Stop()
	select {
	case ok := <-w.answer:
		return ok, nil
	case <-t.C:
		return false, fmt.Errorf("the user did not answer within %s, so it was treated as declined", b.wait)
	case <-ctx.Done():
		return false, errors.New("the agent stopped while waiting for the user's answer")
	}
}

func (w *consentWait) isFor(who localipc.Caller) bool {
	return w.owner == "" || who.Privileged || w.owner == who.User
}

// pending lists the questions waiting for who, soonest to expire first.
func (b *consentBroker) pending(who localipc.Caller) []localipc.ConsentItem {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]localipc.ConsentItem, 0, len(b.waiting))
	for _, w := range b.waiting {
		if w.isFor(who) {
			out = append(out, w.item)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Expires.Before(out[j].Expires) })
	return out
}

func (b *consentBroker) answer(runID string, allow bool, who localipc.Caller) error {
	b.mu.Lock()
	w := b.waiting[runID]
	b.mu.Unlock()
	if w == nil {
		return &localipc.Error{Code: localipc.CodeFailed,
			Message: fmt.Sprintf("no fix is waiting for consent with run id %q; it may have been answered already or timed out", localipc.Clip(runID, 64))}
	}
	if !w.isFor(who) {
		return localipc.Forbidden("the fix waiting with run id %q is on a ticket another user of this computer filed; only they can answer it", localipc.Clip(runID, 64))
	}
	select {
	case w.answer <- allow:
	default:
	}
	return nil
}

// kbCache keeps the published articles the agent has seen, so Get help
// can show them when the hub cannot be reached: STATE/kb-cache.json,
// bounded to maxCachedArticles articles of at most maxCachedBody bytes.
type kbCache struct {
	path string
	log  *slog.Logger

	mu       sync.Mutex
	articles map[string]cachedArticle
	saved    time.Time // when the file was last written
	writes   int       // how many times it was written (for the tests)
}

type cachedArticle struct {
	wire.KBArticle
	Seen time.Time `json:"seen"`
}

const maxCachedArticles, maxCachedBody = 200, 16 << 10

func openKBCache(path string, log *slog.Logger) *kbCache {
	c := &kbCache{path: path, log: log, articles: map[string]cachedArticle{}}
	if b, err := os.ReadFile(path); err == nil {
		var list []cachedArticle
		if err := json.Unmarshal(b, &list); err != nil {
			log.Warn("ignoring an unreadable knowledge-base cache; it fills again from the hub", "file", path, "err", err)
		}
		for _, a := range list {
			if a.ID != "" && len(c.articles) < maxCachedArticles {
				c.articles[a.ID] = a
			}
		}
	}
	return c
}

// remember stores the hub's latest answer. The hub sends published
// articles only; an article the hub no longer returns for a query stays
// until it is pushed out by newer ones. The file is written when an
// article comes, goes or changes; when only the times they were last
// seen changed, at most once every kbSeenSave.
func (c *kbCache) remember(list []wire.KBArticle) {
	if len(list) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now().UTC()
	changed := false
	for _, a := range list {
		a.Body = localipc.Cut(a.Body, maxCachedBody)
		if old, ok := c.articles[a.ID]; !ok || !sameArticle(old.KBArticle, a) {
			changed = true
		}
		c.articles[a.ID] = cachedArticle{KBArticle: a, Seen: now}
	}
	all := make([]cachedArticle, 0, len(c.articles))
	for _, a := range c.articles {
		all = append(all, a)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Seen.After(all[j].Seen) })
	if len(all) > maxCachedArticles {
		for _, a := range all[maxCachedArticles:] {
			delete(c.articles, a.ID)
		}
		all = all[:maxCachedArticles]
		changed = true
	}
	if !changed && now.Sub(c.saved) < kbSeenSave {
		return
	}
	b, err := json.Marshal(all)
	if err == nil {
		err = c.write(b)
	}
	if err != nil {
		c.log.Warn("save the knowledge-base cache", "file", c.path, "err", err)
		return
	}
	c.saved = now
	c.writes++
}

// kbSeenSave is how often the cache is saved when only the times its
// articles were last seen changed.
const kbSeenSave = time.Minute

// sameArticle reports whether a and b are the same article as the cache
// keeps it; the snippet depends on the query and does not count.
func sameArticle(a, b wire.KBArticle) bool {
	return a.ID == b.ID && a.Title == b.Title && a.Body == b.Body && slices.Equal(a.Checks, b.Checks) &&
		slices.Equal(a.Fixes, b.Fixes)
}

func (c *kbCache) write(b []byte) error { return fsutil.WriteAtomic(c.path, b, 0o600) }

// search ranks the saved articles as the hub does, roughly: linked to a
// failing check first, then by how many of the words they contain.
func (c *kbCache) search(text string, checks []string, limit int) []wire.KBArticle {
	words := strings.Fields(strings.ToLower(text))
	c.mu.Lock()
	defer c.mu.Unlock()
	type scored struct {
		a     wire.KBArticle
		score int
	}
	var hits []scored
	for _, a := range c.articles {
		score := 0
		for _, ch := range a.Checks {
			if slices.Contains(checks, ch) {
				score += 100
			}
		}
		hay := strings.ToLower(a.Title + " " + a.Body)
		for _, w := range words {
			if len(w) > 2 && strings.Contains(hay, w) {
				score += 10
				if strings.Contains(strings.ToLower(a.Title), w) {
					score += 5
				}
			}
		}
		if score > 0 {
			hits = append(hits, scored{a.KBArticle, score})
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].score != hits[j].score {
			return hits[i].score > hits[j].score
		}
		return hits[i].a.Title < hits[j].a.Title
	})
	out := []wire.KBArticle{}
	for _, h := range hits {
		if len(out) == limit {
			break
		}
		out = append(out, h.a)
	}
	return out
}
