// Package gethelp is the running agent's side of Get help: it files the
// user's help requests with a snapshot of the machine, keeps the device's
// tickets as the hub last described them (STATE/tickets.json), keeps the
// knowledge-base articles seen for offline use (STATE/kb-cache.json), and
// asks the user's consent for technicians' fixes (ConsentBroker). The
// page the user sees is agent/selfhelp and the icon agent/tray; both reach
// this package through the local socket (agent/localapi).
package gethelp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tierline/tierline/agent/fsutil"
	"github.com/tierline/tierline/agent/health"
	"github.com/tierline/tierline/agent/inventory"
	"github.com/tierline/tierline/agent/link"
	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/ratelimit"
	"github.com/tierline/tierline/shared/wire"
)

// Link is what the desk needs of the hub link (agent/link).
type Link interface {
	Send(ctx context.Context, body wire.Body) (uint64, error)
	State() link.State
}

// Checker runs health checks (agent/health).
type Checker interface {
	Run(ctx context.Context, names ...string) []diag.CheckResult
}

// History is the telemetry history a snapshot takes from (agent/history).
type History interface {
	Latest() (diag.Sample, bool)
	Snapshot(since time.Time) diag.History
}

// CrashRecord is the agent's record of application crashes (agent/crashes).
type CrashRecord interface {
	Recent(ctx context.Context) []diag.AppCrashes
}

// Config is what a Desk works with.
type Config struct {
	Link    Link
	Checks  Checker
	History History
	// Crashes, when set, adds the recent application crashes to snapshots.
	Crashes CrashRecord
	Logger  *slog.Logger
	// Dir is the state directory: tickets.json and help-requests.json
	// are kept there.
	Dir string
	// Clock is the device's clock (default time.Now). Ticket times are
	// the hub's: this clock corrected by the offset the link measures.
	Clock func() time.Time
	// Network reads the machine's network for a snapshot (default
	// inventory.Network on the live machine).
	Network func(ctx context.Context) diag.NetworkPicture
	// Limits bound how often help requests are filed (zero: none).
	Limits Limits
	// Templates are the hub's service request templates; a help request
	// naming one is checked against it before it is spooled.
	Templates *TemplateCache
}

// Desk is the running agent's side of Get help: it answers the local
// socket's "help" requests by taking a diagnostics snapshot, spooling a
// help_request for the hub and, when the hub answers in time, telling the
// caller the ticket number. It keeps the device's tickets as the hub's
// updates describe them.
type Desk struct {
	link    Link
	checks  Checker
	hist    History
	crashes CrashRecord
	log     *slog.Logger
	clock   func() time.Time
	network func(ctx context.Context) diag.NetworkPicture
	tpls    *TemplateCache
	// sampled is closed once the telemetry loop has added its first
	// sample to hist (nil when no loop feeds it).
	sampled chan struct{}

	mu        sync.Mutex
	inventory *diag.Inventory
	waiting   map[string]chan wire.HelpReceipt
	// tickets are this device's tickets as the hub last described them,
	// kept in STATE/tickets.json for "My tickets".
	tickets   map[string]*MyTicket
	cachePath string
	// requesters maps a help request's id to the local user who filed
	// it, until its receipt names the ticket (STATE/help-requests.json,
	// so a request queued offline keeps its owner across restarts).
	requesters map[string]string
	// claimed orders the pending requests this run of the agent took
	// (1, 2, ...); requests read from the file count as older than any
	// new one.
	claimed  map[string]uint64
	claimSeq uint64
	// listed is when each user last listed their tickets: technicians'
	// messages after it are "waiting".
	listed map[string]time.Time

	perUser, perDevice *ratelimit.Keyed
}

// The local socket's types of the desk's operations.
type (
	MyTicket   = localipc.MyTicket
	TicketNote = localipc.TicketNote
	HelpCall   = localipc.HelpCall
	HelpAnswer = localipc.HelpAnswer
)

// MaxTickets bounds the tickets kept in tickets.json and the help requests
// waiting for their receipt; MaxNotes bounds the messages kept per ticket.
const MaxTickets, MaxNotes = 50, 20

// TicketsFile and KBCacheFile are the desk's files in the state directory.
const (
	TicketsFile = "tickets.json"
	KBCacheFile = "kb-cache.json"
)

// NewDesk makes the desk, reading the ticket list and the pending help
// requests kept in cfg.Dir.
func NewDesk(cfg Config) *Desk {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cachePath := filepath.Join(cfg.Dir, TicketsFile)
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Network == nil {
		cfg.Network = func(ctx context.Context) diag.NetworkPicture { return inventory.Network(ctx, inventory.Config{}) }
	}
	d := &Desk{link: cfg.Link, checks: cfg.Checks, hist: cfg.History, crashes: cfg.Crashes, log: log, clock: cfg.Clock,
		network: cfg.Network, tpls: cfg.Templates, waiting: map[string]chan wire.HelpReceipt{},
		tickets: map[string]*MyTicket{}, cachePath: cachePath, requesters: map[string]string{}, claimed: map[string]uint64{},
		listed: map[string]time.Time{}, perUser: ratelimit.NewKeyed(cfg.Limits.PerUser), perDevice: ratelimit.NewKeyed(cfg.Limits.PerDevice)}
	if b, err := os.ReadFile(cachePath); err == nil {
		if err := json.Unmarshal(b, &d.tickets); err != nil || d.tickets == nil {
			log.Warn("ignoring an unreadable ticket list; it is rebuilt from the hub's updates", "file", cachePath, "err", err)
			d.tickets = map[string]*MyTicket{}
		}
	}
	if b, err := os.ReadFile(d.requestersPath()); err == nil {
		if err := json.Unmarshal(b, &d.requesters); err != nil || d.requesters == nil {
			log.Warn("ignoring an unreadable list of pending help requests", "file", d.requestersPath(), "err", err)
			d.requesters = map[string]string{}
		}
	}
	return d
}

// hubNow is the time now by the hub's clock, as well as the agent knows
// it: the device's clock corrected by the offset the link measured at its
// last handshake (the device's clock alone before the first). Ticket
// times on the device are the hub's, so that a device clock running ahead
// or behind neither hides the hub's updates nor puts the user's replies
// out of order.
func (d *Desk) hubNow() time.Time {
	now := d.clock()
	if d.link != nil {
		if st := d.link.State(); st.HubOffsetKnown {
			now = now.Add(st.HubOffset)
		}
	}
	return now.UTC()
}

func (d *Desk) requestersPath() string {
	return filepath.Join(filepath.Dir(d.cachePath), "help-requests.json")
}

// saveRequestersLocked writes the pending requests' owners; d.mu is held.
func (d *Desk) saveRequestersLocked() {
	b, err := json.Marshal(d.requesters)
	if err == nil {
		err = fsutil.WriteAtomic(d.requestersPath(), b, 0o600)
	}
	if err != nil {
		d.log.Warn("save the pending help requests", "file", d.requestersPath(), "err", err)
	}
}

// mine reports whether who may see ticket t.
func mine(t *MyTicket, who localipc.Caller) bool {
	return who.Privileged || t.User != "" && t.User == who.User
}

// WaitingFor counts technicians' messages the caller has not listed yet
// and resolved tickets waiting for its survey answer.
func (d *Desk) WaitingFor(who localipc.Caller) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	since := d.listed[who.User]
	n := 0
	for _, t := range d.tickets {
		if !mine(t, who) {
			continue
		}
		if t.AskSurvey {
			n++
		}
		for _, m := range t.Messages {
			if m.From != "you" && m.Time.After(since) {
				n++
			}
		}
	}
	return n
}

// saveLocked writes the ticket list; d.mu is held.
func (d *Desk) saveLocked() {
	if len(d.tickets) > MaxTickets {
		var oldest string
		for id, t := range d.tickets {
			if oldest == "" || t.Updated.Before(d.tickets[oldest].Updated) {
				oldest = id
			}
		}
		delete(d.tickets, oldest)
	}
	b, err := json.MarshalIndent(d.tickets, "", "  ")
	if err == nil {
		err = fsutil.WriteAtomic(d.cachePath, b, 0o600)
	}
	if err != nil {
		d.log.Warn("save the ticket list", "file", d.cachePath, "err", err)
	}
}

// addNoteLocked adds n to t's messages in time order (the hub's clock),
// keeping the newest MaxNotes; d.mu is held.
func (d *Desk) addNoteLocked(t *MyTicket, n TicketNote) {
	t.Messages = append(t.Messages, n)
	slices.SortStableFunc(t.Messages, func(a, b TicketNote) int { return a.Time.Compare(b.Time) })
	if len(t.Messages) > MaxNotes {
		t.Messages = t.Messages[len(t.Messages)-MaxNotes:]
	}
}

func (d *Desk) ticketLocked(id string) *MyTicket {
	t := d.tickets[id]
	if t == nil {
		t = &MyTicket{ID: id}
		d.tickets[id] = t
	}
	return t
}

// SetInventory keeps the latest inventory for the snapshots of help requests:
// only what a snapshot carries (snapshotKeep).
func (d *Desk) SetInventory(inv diag.Inventory) {
	inv = snapshotKeep(inv)
	d.mu.Lock()
	d.inventory = &inv
	d.mu.Unlock()
}

// snapshotKeep is inv as a snapshot carries it: at most snapshotListMax
// packages and services, with the totals where cut. The kept entries are
// copied and their strings packed into one allocation, so the rest of the
// inventory, read in a burst of small allocations, is all garbage once the
// caller drops it and the agent's heap returns to its size between
// inventories (docs/benchmarks.md, "where the memory goes").
func snapshotKeep(inv diag.Inventory) diag.Inventory {
	if len(inv.Software) > snapshotListMax {
		inv.Software, inv.SoftwareTotal = inv.Software[:snapshotListMax], len(inv.Software)
	}
	if len(inv.Services) > snapshotListMax {
		inv.Services, inv.ServicesTotal = inv.Services[:snapshotListMax], len(inv.Services)
	}
	var n int
	for _, s := range inv.Software {
		n += len(s.Name) + len(s.Version) + len(s.Publisher) + len(s.Source)
	}
	for _, s := range inv.Services {
		n += len(s.Name) + len(s.State)
	}
	var b strings.Builder
	b.Grow(n)
	// pack returns s as a part of the builder's one buffer (grown to n, it
	// is never reallocated; the bytes written stay as they are).
	pack := func(s string) string {
		start := b.Len()
		b.WriteString(s)
		return b.String()[start:]
	}
	soft := make([]diag.Software, len(inv.Software))
	for i, s := range inv.Software {
		s.Name, s.Version, s.Publisher, s.Source = pack(s.Name), pack(s.Version), pack(s.Publisher), pack(s.Source)
		soft[i] = s
	}
	svcs := make([]diag.Service, len(inv.Services))
	for i, s := range inv.Services {
		s.Name, s.State = pack(s.Name), pack(s.State)
		svcs[i] = s
	}
	inv.Software, inv.Services = nil, nil
	if len(soft) > 0 {
		inv.Software = soft
	}
	if len(svcs) > 0 {
		inv.Services = svcs
	}
	return inv
}

// Receipt is the link's OnHelpReceipt hook.
func (d *Desk) Receipt(r wire.HelpReceipt) {
	if r.Refused != "" {
		d.refused(r)
		return
	}
	d.mu.Lock()
	ch := d.waiting[r.RequestID]
	t := d.ticketLocked(r.TicketID)
	// The ticket's time is the hub's: its own when the receipt has it.
	updated := r.Updated
	if updated.IsZero() {
		updated = d.hubNow()
	}
	t.Number, t.Tier = r.Number, r.Tier
	if t.Title == "" {
		t.Title = r.Title
	}
	if updated.After(t.Updated) {
		t.Updated = updated
	}
	if t.State == "" {
		t.State = "new"
	}
	if u, ok := d.requesters[r.RequestID]; ok {
		if t.User == "" {
			t.User = u
		}
		delete(d.requesters, r.RequestID)
		delete(d.claimed, r.RequestID)
		d.saveRequestersLocked()
	}
	d.saveLocked()
	d.mu.Unlock()
	if ch != nil {
		select {
		case ch <- r:
		default:
		}
	}
	d.log.Info("help request filed on the hub", "request", r.RequestID, "ticket", r.Number)
}

// refused handles the hub's refusal of a help request: no ticket; the
// user waiting for it is told.
func (d *Desk) refused(r wire.HelpReceipt) {
	d.mu.Lock()
	ch := d.waiting[r.RequestID]
	if _, ok := d.requesters[r.RequestID]; ok {
		delete(d.requesters, r.RequestID)
		delete(d.claimed, r.RequestID)
		d.saveRequestersLocked()
	}
	d.mu.Unlock()
	if ch != nil {
		select {
		case ch <- r:
		default:
		}
	}
	d.log.Warn("the hub refused a help request", "request", r.RequestID, "reason", r.Refused, "retry_at", r.RetryAt)
}

// stateResolved is the hub's ticket state for a resolved ticket.
const stateResolved = "resolved"

// hasNote reports whether the update's message is already among notes.
func hasNote(notes []TicketNote, u wire.TicketUpdate) bool {
	for _, n := range notes {
		if n.Time.Equal(u.Time) && n.From == u.From && n.Text == u.Message {
			return true
		}
	}
	return false
}

// Update is the link's OnTicketUpdate hook. The hub sends a connecting
// agent its tickets' recent updates again (it may have missed them): an
// older update adds what is new but does not take the state back, a
// message already here is not added, and an update that changes nothing
// is not written to disk.
func (d *Desk) Update(u wire.TicketUpdate) {
	d.mu.Lock()
	t := d.ticketLocked(u.TicketID)
	changed := t.Number != u.Number || t.Title != u.Title
	t.Number, t.Title = u.Number, u.Title
	if !u.Time.Before(t.Updated) {
		if t.State == stateResolved && u.State != stateResolved {
			t.Surveyed = false // reopened: a new resolution asks again
		}
		changed = changed || t.State != u.State || t.Tier != u.Tier || !t.Updated.Equal(u.Time)
		t.State, t.Tier, t.Updated = u.State, u.Tier, u.Time
	}
	if u.AskSurvey && !t.Surveyed && t.State == stateResolved && !t.AskSurvey {
		t.AskSurvey, changed = true, true
	}
	if u.Message != "" && !hasNote(t.Messages, u) {
		d.addNoteLocked(t, TicketNote{From: u.From, Text: u.Message, Time: u.Time})
		changed = true
	}
	if changed {
		d.saveLocked()
	}
	d.mu.Unlock()
	if !changed {
		d.log.Debug("ticket update already known", "ticket", u.Number)
		return
	}
	d.log.Info("ticket update", "ticket", u.Number, "state", u.State, "tier", u.Tier, "message", u.Message != "")
}

// File files a help request for who: a user files in its own name; the
// administrator may file for whoever it says (the help command sends the
// shell's user).
func (d *Desk) File(ctx context.Context, who localipc.Caller, call HelpCall) (HelpAnswer, error) {
	if !who.Privileged || call.User == "" {
		call.User = who.User
	}
	return d.file(ctx, call)
}

// Tickets lists who's tickets, newest first. Unless peek is set, the
// technicians' messages listed count as seen.
func (d *Desk) Tickets(who localipc.Caller, peek bool) []MyTicket {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !peek {
		d.listed[who.User] = d.hubNow()
	}
	out := make([]MyTicket, 0, len(d.tickets))
	for _, t := range d.tickets {
		if mine(t, who) {
			out = append(out, *t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number > out[j].Number })
	return out
}

// Reply queues who's message to the technicians on one of its tickets.
func (d *Desk) Reply(ctx context.Context, who localipc.Caller, r wire.UserReply) error {
	if !who.Privileged || r.User == "" {
		r.User = who.User
	}
	if r.ID == "" {
		r.ID = wire.NewID()
	}
	r.TicketID = d.ticketID(r.TicketID)
	if err := r.Validate(); err != nil {
		return localipc.BadRequest("%v", err)
	}
	if err := d.allowed(r.TicketID, who); err != nil {
		return err
	}
	if _, err := d.link.Send(ctx, r); err != nil {
		return fmt.Errorf("could not save the reply: %w", err)
	}
	d.mu.Lock()
	t := d.ticketLocked(r.TicketID)
	d.addNoteLocked(t, TicketNote{From: "you", Text: r.Text, Time: d.hubNow()})
	d.saveLocked()
	d.mu.Unlock()
	return nil
}

// Survey queues who's answer to the survey of one of its tickets.
func (d *Desk) Survey(ctx context.Context, who localipc.Caller, a wire.SurveyAnswer) error {
	a.TicketID = d.ticketID(a.TicketID)
	if err := a.Validate(); err != nil {
		return localipc.BadRequest("%v", err)
	}
	if err := d.allowed(a.TicketID, who); err != nil {
		return err
	}
	// The hub takes an answer only for a resolved ticket: say so here,
	// rather than thank the user for an answer the hub will refuse.
	d.mu.Lock()
	mt := d.tickets[a.TicketID]
	state, number, surveyed := mt.State, mt.Number, mt.Surveyed
	d.mu.Unlock()
	switch {
	case state != stateResolved:
		return localipc.BadRequest("ticket #%d is %s: the survey comes when it is resolved", number, strings.ReplaceAll(state, "_", " "))
	case surveyed:
		return localipc.BadRequest("you already answered the survey of ticket #%d; thank you", number)
	}
	if _, err := d.link.Send(ctx, a); err != nil {
		return fmt.Errorf("could not save the answer: %w", err)
	}
	d.mu.Lock()
	t := d.ticketLocked(a.TicketID)
	t.AskSurvey, t.Surveyed = false, true
	d.saveLocked()
	d.mu.Unlock()
	return nil
}

// Owner names the local user who filed ticket id, "" when it is not one
// of this computer's tickets or its filer is unknown.
func (d *Desk) Owner(id string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if t := d.tickets[id]; t != nil {
		return t.User
	}
	return ""
}

// ticketID is the id of the ticket ref names: its id, or the number users
// are shown ("2" or "#2") of one of this computer's tickets; ref as it is
// otherwise.
func (d *Desk) ticketID(ref string) string {
	n, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(ref), "#"), 10, 64)
	if err != nil || n <= 0 {
		return ref
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, t := range d.tickets {
		if t.Number == n {
			return id
		}
	}
	return ref
}

// allowed refuses a ticket that is not this computer's, or not the
// caller's.
func (d *Desk) allowed(id string, who localipc.Caller) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	t := d.tickets[id]
	if t == nil {
		return fmt.Errorf("ticket %s is not one of this computer's tickets (see tierline-agent tickets)", id)
	}
	if !mine(t, who) {
		return localipc.Forbidden("ticket %s was filed by another user of this computer; you can only answer your own tickets", id)
	}
	return nil
}

// claim records user as the owner of help request id. The id is the
// caller's to choose (so a request sent again after a lost answer is the
// same request), but it never changes hands: an id pending for another
// user is refused, or knowing it would make the caller the owner of that
// user's ticket. Filing the same id again as the same user is fine.
func (d *Desk) claim(id, user string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if owner, ok := d.requesters[id]; ok && owner != user {
		return localipc.Forbidden("help request %s was filed by another user of this computer; "+
			"send your own request without a request id (a new one is chosen for you)", id)
	}
	// When the list is full, a user's new request pushes out the oldest
	// of its own; it never pushes out another user's (which could then be
	// claimed). A user with none to give up is refused.
	if _, ok := d.requesters[id]; !ok && len(d.requesters) >= MaxTickets {
		oldest, found := "", false
		for other, owner := range d.requesters {
			if owner == user && (!found || d.claimed[other] < d.claimed[oldest]) {
				oldest, found = other, true
			}
		}
		if !found {
			return &localipc.Error{Code: localipc.CodeFailed, Message: fmt.Sprintf("%d help requests from other users of this computer "+
				"are still waiting to reach the help desk, so no more can be queued; try again when the computer is back online", len(d.requesters))}
		}
		delete(d.requesters, oldest)
		delete(d.claimed, oldest)
	}
	if _, ok := d.claimed[id]; !ok {
		d.claimSeq++
		d.claimed[id] = d.claimSeq
	}
	d.requesters[id] = user
	d.saveRequestersLocked()
	return nil
}

func (d *Desk) file(ctx context.Context, call HelpCall) (HelpAnswer, error) {
	req := wire.HelpRequest{RequestID: call.RequestID, Text: call.Text, Category: call.Category, User: call.User,
		Tried: call.Tried, Screenshot: call.Screenshot, Filed: time.Now().UTC(), Template: call.Template, Answers: call.Answers}
	if req.RequestID == "" {
		req.RequestID = wire.NewID()
	}
	if err := d.checkRequest(&req); err != nil {
		return HelpAnswer{}, err
	}
	// Validate before the snapshot, so a bad request is refused at once.
	if err := req.Validate(); err != nil {
		return HelpAnswer{}, localipc.BadRequest("%v", err)
	}
	if err := d.admit(req.User, req.RequestID, d.clock()); err != nil {
		return HelpAnswer{}, err
	}
	if err := d.claim(req.RequestID, req.User); err != nil {
		return HelpAnswer{}, err
	}
	req.Snapshot = d.snapshot(ctx)
	if err := req.Validate(); err != nil {
		return HelpAnswer{}, err
	}
	ch := make(chan wire.HelpReceipt, 1)
	d.mu.Lock()
	d.waiting[req.RequestID] = ch
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.waiting, req.RequestID)
		d.mu.Unlock()
	}()
	if _, err := d.link.Send(ctx, req); err != nil {
		if errors.Is(err, ctx.Err()) {
			return HelpAnswer{}, err
		}
		return HelpAnswer{}, fmt.Errorf("could not save the request: %w", err)
	}
	ans := HelpAnswer{RequestID: req.RequestID, Queued: true, Connected: d.link.State().Connected}
	wait := min(max(call.Wait, 0), 30*time.Second)
	if wait == 0 {
		wait = 5 * time.Second
	}
	select {
	case r := <-ch:
		if r.Refused != "" {
			// RetryAt is by the hub's clock; the user reads this one's.
			now := d.clock()
			return HelpAnswer{}, localipc.Limited("%s You can ask again %s.", r.Refused, AskAgain(now.Add(r.RetryAt.Sub(d.hubNow())), now))
		}
		ans.TicketID, ans.Number, ans.Tier, ans.Next, ans.Joined = r.TicketID, r.Number, r.Tier, r.Next, r.Joined
	case <-time.After(wait):
	case <-ctx.Done():
	}
	return ans, nil
}

// checkRequest checks a service request's answers against the template
// as the agent last heard it from the hub (the hub checks them again),
// and fills the words and category the template gives when the user gave
// none.
func (d *Desk) checkRequest(req *wire.HelpRequest) error {
	if req.Template == "" {
		return nil
	}
	var tpl wire.RequestTemplate
	ok := false
	if d.tpls != nil {
		tpl, ok = d.tpls.Get(req.Template)
	}
	if !ok {
		return localipc.BadRequest("the request form %q is not known on this computer (any more); open Get help again to see the current ones",
			localipc.Clip(req.Template, 64))
	}
	if _, err := tpl.CheckAnswers(req.Answers); err != nil {
		return localipc.BadRequest("%v", err)
	}
	if strings.TrimSpace(req.Text) == "" {
		req.Text = tpl.Name
	}
	if req.Category == "" {
		req.Category = tpl.Category
	}
	return nil
}

// latestSample is the telemetry loop's latest sample. A request filed in
// the agent's first moments, before the loop has taken one (it collects the
// inventory first), waits up to wait for it rather than going without.
func (d *Desk) latestSample(ctx context.Context, wait time.Duration) (diag.Sample, bool) {
	if s, ok := d.hist.Latest(); ok || d.sampled == nil {
		return s, ok
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-d.sampled:
	case <-t.C:
	case <-ctx.Done():
	}
	return d.hist.Latest()
}

// ExpectSamples tells the desk a telemetry loop feeds its history; the
// returned func is called after each sample is added.
func (d *Desk) ExpectSamples() func() {
	d.sampled = make(chan struct{})
	var once sync.Once
	return func() { once.Do(func() { close(d.sampled) }) }
}

// snapshot is the machine's state now: health checks run now, the latest
// sample, the inventory and the recent history.
// snapshotListMax is how many packages and services a snapshot lists; the
// device's full inventory is on the hub.
const snapshotListMax = 300

func (d *Desk) snapshot(ctx context.Context) wire.Snapshot {
	snap := wire.Snapshot{Taken: time.Now().UTC()}
	// The network is read beside the checks: neither waits on the other.
	netDone := make(chan diag.NetworkPicture, 1)
	go func() {
		nctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		netDone <- d.network(nctx)
	}()
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	snap.Checks = d.checks.Run(health.Fresh(cctx))
	cancel()
	n := <-netDone
	n.Clip()
	snap.Network = &n
	if s, ok := d.latestSample(ctx, 15*time.Second); ok {
		snap.Sample = &s
	}
	d.mu.Lock()
	if d.inventory != nil {
		// The device's full inventory is on the hub; the snapshot keeps
		// the frame small.
		inv := *d.inventory
		snap.Inventory = &inv
	}
	d.mu.Unlock()
	snap.History = d.hist.Snapshot(time.Now().Add(-24 * time.Hour))
	if d.crashes != nil {
		snap.Crashes = d.crashes.Recent(ctx)
		if len(snap.Crashes) > wire.MaxSnapshotCrashes {
			snap.Crashes = snap.Crashes[:wire.MaxSnapshotCrashes]
		}
	}
	return snap
}
