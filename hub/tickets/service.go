package tickets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/ticketevent"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// Store is what the service needs from the hub's store.
type Store interface {
	CreateTicket(ctx context.Context, t store.Ticket, events []store.TicketEvent, screenshot []byte) (store.Ticket, bool, error)
	UpdateTicket(ctx context.Context, id string, fn func(t *store.Ticket) ([]store.TicketEvent, error)) (store.Ticket, []store.TicketEvent, error)
	GetTicket(ctx context.Context, id string) (store.Ticket, error)
	ListTickets(ctx context.Context, f store.TicketFilter) ([]store.Ticket, error)
	DueTickets(ctx context.Context, now time.Time, limit int) ([]string, error)
	SetTicketNextCheck(ctx context.Context, id string, at *time.Time) error
	TicketEventsOf(ctx context.Context, from, to time.Time) ([]store.TicketEvent, error)
	HelpSessionCounts(ctx context.Context, from, to time.Time, window time.Duration, now time.Time) (store.SessionCounts, error)
	GetDevice(ctx context.Context, id string) (store.Device, error)
	GetSetting(ctx context.Context, key string) (string, bool, error)
	PutSetting(ctx context.Context, key, value string) error
	TicketEvents(ctx context.Context, id string) ([]store.TicketEvent, error)
	TicketLinks(ctx context.Context, ticketID string) ([]store.TicketLink, error)
	GetUserByName(ctx context.Context, name string) (store.User, error)
	// WithJobLock runs fn unless another hub sharing the database runs
	// the same job now (PostgreSQL advisory lock).
	WithJobLock(ctx context.Context, job string, fn func(ctx context.Context) error) (bool, error)
	// Vendors (vendors.go).
	GetVendor(ctx context.Context, idOrName string) (store.Vendor, error)
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]store.VendorDelivery, error)
	FinishDelivery(ctx context.Context, id, state, lastError string, next *time.Time, now time.Time) error
	// Knowledge base drafts (kb.go).
	CreateArticle(ctx context.Context, a store.Article) (store.Article, error)
	GetProblem(ctx context.Context, id string) (store.Problem, error)
	// Request templates (templates.go).
	GetRequestTemplate(ctx context.Context, id string) (store.RequestTemplate, error)
	ListRequestTemplates(ctx context.Context) ([]store.RequestTemplate, error)
}

// Errors callers translate to API codes.
var (
	// ErrInvalid: the request itself is wrong (400).
	ErrInvalid = errors.New("invalid request")
	// ErrState: the ticket's state does not allow this now (409).
	ErrState = errors.New("not possible in the ticket's current state")
	// ErrUnknownUser: an assignee or collaborator is not an enabled
	// console user (404).
	ErrUnknownUser = errors.New("no such console user")
	// ErrUnknownVendor: no enabled vendor by that id or name (404).
	ErrUnknownVendor = errors.New("no such vendor")
)

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

func badState(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrState, fmt.Sprintf(format, a...))
}

// Change is one stored change to a ticket: the ticket as the events left
// it, and the events, with their ids, in timeline order.
type Change struct {
	Ticket store.Ticket
	Events []store.TicketEvent
}

// Publisher takes ticket changes once they are stored. Publish must not
// block.
type Publisher interface {
	Publish(Change)
}

// PublishFunc is a Publisher that calls the function, on the caller's
// goroutine (tests use it to see changes as they happen).
type PublishFunc func(Change)

// Publish calls f.
func (f PublishFunc) Publish(c Change) { f(c) }

// Config configures a Service.
type Config struct {
	Store  Store
	Policy Policy
	Logger *slog.Logger
	Now    func() time.Time
	NewID  func() string
	// Changes hears of every change after it is stored: the ticket as
	// its events left it, and the events (to notify its device, update
	// console pages, count metrics). It must not block: the hub gives an
	// eventbus.Bus, whose subscribers each work off their own queue, so
	// nothing they do runs on a technician's request or the SLA loop.
	Changes Publisher
	// Vendors sends messages to Tier 4 vendors; without it tickets cannot
	// be forwarded to vendors.
	Vendors VendorSender
	// HubURL is put in vendor messages so a vendor can name the hub.
	HubURL string
	// DeflectionWindow is how long after a Get help session that fixed
	// the problem its device must not come back (a new session or a
	// ticket) for the session to count as deflected (default 72 h).
	DeflectionWindow time.Duration
	// RetryBase and RetryMax bound the backoff between attempts to reach a
	// vendor (default 30 s doubling up to 30 min); attempts never stop
	// while the vendor is enabled.
	RetryBase, RetryMax time.Duration
	// ReplyByMail queues a technician's message on an email ticket as a
	// reply to its requester (hub/mailout sends it), in the same
	// transaction as the message. Off, such messages stay in the console.
	ReplyByMail bool
}

// CheckAndSetDefaults validates c and fills defaults.
func (c *Config) CheckAndSetDefaults() error {
	if c.Store == nil {
		return errors.New("tickets: no store")
	}
	if c.Policy.Limits == nil {
		c.Policy.Limits = DefaultLimits()
	}
	if err := c.Policy.Validate(); err != nil {
		return err
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Logger = c.Logger.With("component", "tickets")
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.NewID == nil {
		c.NewID = wire.NewID
	}
	if c.Changes == nil {
		c.Changes = PublishFunc(func(Change) {})
	}
	if c.DeflectionWindow <= 0 {
		c.DeflectionWindow = DefaultDeflectionWindow
	}
	if c.RetryBase <= 0 {
		c.RetryBase = 30 * time.Second
	}
	if c.RetryMax <= 0 {
		c.RetryMax = 30 * time.Minute
	}
	if c.RetryMax < c.RetryBase {
		c.RetryMax = c.RetryBase
	}
	return nil
}

// Service files and works tickets.
type Service struct {
	cfg Config
	log *slog.Logger
	// pol is the policy in force: the configured one (flags) with the
	// admin's SLA settings over it.
	pol atomic.Pointer[Policy]
	// slaSetting is the stored SLA setting pol was last built from.
	slaSetting atomic.Pointer[string]
	delivering atomic.Bool
}

// New builds a Service.
func New(cfg Config) (*Service, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, log: cfg.Logger}
	p := cfg.Policy
	s.pol.Store(&p)
	return s, nil
}

// Policy returns the SLA policy in force.
func (s *Service) Policy() Policy { return *s.pol.Load() }

func (s *Service) policy() Policy { return *s.pol.Load() }

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// File creates the ticket a device's help request asks for, in Tier 1 or
// the tier the routing rules choose, with the request's snapshot frozen
// as evidence. Filing is idempotent on (device, request id): a replayed
// request returns the ticket the first one made, and false.
func (s *Service) File(ctx context.Context, deviceID, hostname string, req wire.HelpRequest) (store.Ticket, bool, error) {
	if err := req.Validate(); err != nil {
		return store.Ticket{}, false, invalid("help request: %v", err)
	}
	if deviceID == "" {
		return store.Ticket{}, false, invalid("help request without a device")
	}
	now := s.now()
	sig := Signature(req.Snapshot.Checks)
	group := ""
	if d, err := s.cfg.Store.GetDevice(ctx, deviceID); err == nil {
		group = d.Group
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.Ticket{}, false, fmt.Errorf("file ticket: %w", err)
	}
	tier, queue, rule := s.route(ctx, req.Category, sig, group)
	t := store.Ticket{ID: s.cfg.NewID(), DeviceID: deviceID, RequestID: req.RequestID, Requester: req.User,
		Title: title(hostname, req.Text), Body: req.Text, Category: req.Category, Queue: queue,
		Channel: store.IntakeAgent, Type: store.TypeIncident, Signature: sig, Snapshot: &req.Snapshot, CreatedAt: now}
	filed := ticketevent.Filed{Tier: tier, Impact: DefaultImpact, Urgency: DefaultUrgency, Category: req.Category,
		Queue: queue, Rule: rule, Hostname: hostname, User: req.User}
	var form *ticketevent.RequestForm
	if req.Template != "" {
		// A service request from the Get help page: checked against the
		// hub's template again, and filed whatever that finds.
		r, err := s.fromTemplate(ctx, req.Template, req.Answers, false)
		if err != nil {
			return store.Ticket{}, false, fmt.Errorf("file ticket: %w", err)
		}
		filed.Tier, filed.Queue, filed.Rule = r.tier()
		filed.Impact, filed.Urgency = ImpactUrgency(r.tpl.Priority)
		if filed.Category == "" {
			filed.Category = r.tpl.Category
		}
		t.Category, t.Queue, t.Type, filed.Type = filed.Category, filed.Queue, store.TypeRequest, store.TypeRequest
		t.Title = title(hostname, r.tpl.Name)
		form = &r.form
	}
	if !req.Filed.IsZero() {
		filed.FiledOnDevice = req.Filed.UTC().Format(time.RFC3339Nano)
	}
	actor := "device:" + deviceID
	events := []store.TicketEvent{{Time: now, Actor: actor, Data: filed}}
	if len(req.Tried.Articles) > 0 || len(req.Tried.Runs) > 0 {
		// The self_help event is the one record of what was tried;
		// the store reads the ticket's Tried from it.
		events = append(events, store.TicketEvent{Time: now, Actor: actor, Data: ticketevent.NewSelfHelp(req.Tried)})
	}
	if form != nil {
		events = append(events, store.TicketEvent{Time: now, Actor: actor, Data: *form})
	}
	return s.create(ctx, t, events, req.Screenshot)
}

// route is the tier and queue the routing rules give a new ticket, and the
// rule's name; Tier 1 when none matches.
func (s *Service) route(ctx context.Context, category, signature, group string) (tier int, queue, rule string) {
	rules, err := s.RoutingRules(ctx)
	if err != nil {
		// A broken setting must not lose the request: file to Tier 1
		// and say so in the log.
		s.log.Error("routing rules unreadable; filing to tier 1", "err", err)
	}
	if r, ok := Route(rules, category, signature, group); ok {
		return r.Tier, r.Queue, r.Name
	}
	return 1, "", ""
}

// create stores a new ticket with its first events, applied to it, and
// publishes the change. A ticket whose request id was seen before is
// returned as stored, with false.
func (s *Service) create(ctx context.Context, t store.Ticket, events []store.TicketEvent, screenshot []byte) (store.Ticket, bool, error) {
	for _, e := range events {
		Apply(&t, e, s.policy())
	}
	got, created, err := s.cfg.Store.CreateTicket(ctx, t, events, screenshot)
	if err != nil {
		return got, false, fmt.Errorf("file ticket: %w", err)
	}
	if created {
		s.cfg.Changes.Publish(Change{Ticket: got, Events: events})
	}
	return got, created, nil
}

// Signature is the sorted, comma-separated list of failing checks.
func Signature(checks []diag.CheckResult) string {
	var names []string
	for _, c := range checks {
		if c.Status == diag.StatusFailing && c.Name != "" && !slices.Contains(names, c.Name) {
			names = append(names, c.Name)
		}
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

// title is the ticket's title: the host and the first line of the user's
// words, shortened. It is plain text; renderers escape it.
func title(hostname, text string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	line = strings.TrimSpace(line)
	if utf8.RuneCountInString(line) > 80 {
		r := []rune(line)
		line = string(r[:79]) + "…"
	}
	if line == "" {
		line = "help requested"
	}
	if hostname != "" {
		return hostname + ": " + line
	}
	return line
}

// update changes a ticket through the store: fn checks the ticket and
// returns the events to append; they are applied here, so the stored state
// is always the projection of the timeline.
func (s *Service) update(ctx context.Context, id string, fn func(t *store.Ticket, now time.Time) ([]store.TicketEvent, error)) (store.Ticket, error) {
	t, events, err := s.cfg.Store.UpdateTicket(ctx, id, func(t *store.Ticket) ([]store.TicketEvent, error) {
		now := later(s.now(), t.UpdatedAt)
		events, err := fn(t, now)
		if err != nil {
			return nil, err
		}
		for i := range events {
			events[i].TicketID = t.ID
			Apply(t, events[i], s.policy())
		}
		return events, nil
	})
	if err != nil {
		return t, err
	}
	if len(events) > 0 {
		s.cfg.Changes.Publish(Change{Ticket: t, Events: events})
	}
	return t, nil
}

func ev(now time.Time, actor string, data ticketevent.Data) []store.TicketEvent {
	return []store.TicketEvent{{Time: now, Actor: actor, Data: data}}
}

func notDone(t *store.Ticket, what string) error {
	if t.State == store.TicketResolved || t.State == store.TicketClosed {
		return badState("ticket #%d is %s; reopen it before you %s", t.Number, t.State, what)
	}
	return nil
}

func checkName(what, v string) error {
	if v == "" || len(v) > 255 || strings.ContainsAny(v, "\x00\n\r") {
		return invalid("%s must be 1 to 255 characters on one line", what)
	}
	return nil
}

const maxText = 16 << 10

func checkText(what, v string, required bool) error {
	if required && strings.TrimSpace(v) == "" {
		return invalid("%s is required", what)
	}
	if len(v) > maxText || !utf8.ValidString(v) {
		return invalid("%s must be valid UTF-8 of at most %d bytes", what, maxText)
	}
	return nil
}

// checkUser reports a name that is not an enabled console user.
func (s *Service) checkUser(ctx context.Context, name string) error {
	u, err := s.cfg.Store.GetUserByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.DisabledAt != nil) {
		return fmt.Errorf("%w: %q is not an enabled console user; name one of the technicians (an admin adds them with `tierline-hub user add`)", ErrUnknownUser, name)
	}
	if err != nil {
		return fmt.Errorf("check user %s: %w", name, err)
	}
	return nil
}

// Assign gives the ticket to a technician; an empty name unassigns it.
func (s *Service) Assign(ctx context.Context, id, actor, to string) (store.Ticket, error) {
	if to != "" {
		if err := checkName("assignee", to); err != nil {
			return store.Ticket{}, err
		}
		if err := s.checkUser(ctx, to); err != nil {
			return store.Ticket{}, err
		}
		if err := s.checkUserSite(ctx, id, to); err != nil {
			return store.Ticket{}, err
		}
	}
	return s.update(ctx, id, func(t *store.Ticket, now time.Time) ([]store.TicketEvent, error) {
		if err := notDone(t, "assign it"); err != nil {
			return nil, err
		}
		if t.Assignee == to {
			return nil, nil
		}
		return ev(now, actor, ticketevent.Assigned{To: to}), nil
	})
}

// AddCollaborator lets a technician join the ticket (swarming).
func (s *Service) AddCollaborator(ctx context.Context, id, actor, user string) (store.Ticket, error) {
	if err := checkName("collaborator", user); err != nil {
		return store.Ticket{}, err
	}
	if err := s.checkUser(ctx, user); err != nil {
		return store.Ticket{}, err
	}
	if err := s.checkUserSite(ctx, id, user); err != nil {
		return store.Ticket{}, err
	}
	return s.update(ctx, id, func(t *store.Ticket, now time.Time) ([]store.TicketEvent, error) {
		if t.State == store.TicketClosed {
			return nil, badState("ticket #%d is closed", t.Number)
		}
		if slices.Contains(t.Collaborators, user) {
			return nil, nil
		}
		return ev(now, actor, ticketevent.Collaborator{User: user}), nil
	})
}

// Escalate moves the ticket to another tier, up or down, with a note; the
// new tier's clock starts and the ticket waits in its queue unassigned.
func (s *Service) Escalate(ctx context.Context, id, actor string, tier int, note string) (store.Ticket, error) {
	if tier < 1 || tier > TopTier {
		return store.Ticket{}, invalid("tier %d: escalate to tier 1 to %d (vendors have their own step)", tier, TopTier)
	}
	if err := checkText("note", note, true); err != nil {
		return store.Ticket{}, err
	}
	return s.update(ctx, id, func(t *store.Ticket, now time.Time) ([]store.TicketEvent, error) {
		if err := notDone(t, "escalate it"); err != nil {
			return nil, err
		}
		if t.Tier == tier {
			return nil, badState("ticket #%d is already in tier %d", t.Number, tier)
		}
		return ev(now, actor, ticketevent.Escalated{From: t.Tier, To: tier, Note: note}), nil
	})
}

// UserRepliedReason is why a resolved ticket reopens when its user writes.
const UserRepliedReason = "the user replied after it was resolved"

// Message adds a message to the ticket's conversation with its user. A
// technician's first message is the first response; the user's answer
// resumes a ticket waiting on the user and reopens a resolved one.
func (s *Service) Message(ctx context.Context, id, actor, from, text string) (store.Ticket, error) {
	return s.MessageOnce(ctx, id, actor, from, text, "")
}

// MessageOnce is Message made idempotent by msgID (the id the sender gave
// the message, at most 64 bytes): a message whose id is already on the
// ticket is not added again, and the ticket is returned as it is. An
// empty msgID adds the message every time, as Message does.
func (s *Service) MessageOnce(ctx context.Context, id, actor, from, text, msgID string) (store.Ticket, error) {
	if len(msgID) > 64 {
		return store.Ticket{}, invalid("message id must be at most 64 bytes")
	}
	if from != FromTechnician && from != FromUser {
		return store.Ticket{}, invalid("message from %q: must be %s or %s", from, FromTechnician, FromUser)
	}
	if err := checkText("text", text, true); err != nil {
		return store.Ticket{}, err
	}
	t, err := s.update(ctx, id, func(t *store.Ticket, now time.Time) ([]store.TicketEvent, error) {
		if t.State == store.TicketClosed {
			return nil, badState("ticket #%d is closed; file a new request", t.Number)
		}
		events := ev(now, actor, ticketevent.Message{From: from, Text: text, MsgID: msgID})
		events[0].MessageID = msgID
		if to := s.mailTo(t, from); to != "" {
			events[0].Mails = []store.MailOut{{ID: s.cfg.NewID(), To: to}}
		}
		if from == FromUser && t.State == store.TicketResolved {
			// The user says it is not over: the ticket is back in its
			// tier's queue, the reply on its timeline.
			events = append(ev(now, actor, ticketevent.Reopened{Reason: UserRepliedReason}), events...)
		}
		return events, nil
	})
	if errors.Is(err, store.ErrDuplicate) {
		return s.cfg.Store.GetTicket(ctx, id)
	}
	return t, err
}

// mailTo is the address a technician's message on t goes to by email,
// or "" when it does not go out by email.
func (s *Service) mailTo(t *store.Ticket, from string) string {
	if !s.cfg.ReplyByMail || from != FromTechnician || t.Channel != store.IntakeEmail {
		return ""
	}
	a, err := mail.ParseAddress(t.Requester)
	if err != nil {
		return ""
	}
	return a.Address
}

// SetWaiting pauses the ticket's clock while it waits on its user or a
// vendor, with one of WaitingReasons.
func (s *Service) SetWaiting(ctx context.Context, id, actor, state, reason string) (store.Ticket, error) {
	reasons, ok := WaitingReasons[state]
	if !ok {
		return store.Ticket{}, invalid("waiting state %q: use %s or %s", state, store.TicketWaitingUser, store.TicketWaitingVendor)
	}
	if !slices.Contains(reasons, reason) {
		return store.Ticket{}, invalid("reason %q for %s: use one of %s", reason, state, strings.Join(reasons, ", "))
	}
	return s.update(ctx, id, func(t *store.Ticket, now time.Time) ([]store.TicketEvent, error) {
		if !active(t.State) {
			return nil, badState("ticket #%d is %s; only a new or open ticket can wait", t.Number, t.State)
		}
		return ev(now, actor, ticketevent.Waiting{State: state, Reason: reason}), nil
	})
}

// Resume ends a wait: the clock runs again.
func (s *Service) Resume(ctx context.Context, id, actor string) (store.Ticket, error) {
	return s.update(ctx, id, func(t *store.Ticket, now time.Time) ([]store.TicketEvent, error) {
		if t.State != store.TicketWaitingUser && t.State != store.TicketWaitingVendor {
			return nil, badState("ticket #%d is %s, not waiting", t.Number, t.State)
		}
		return ev(now, actor, ticketevent.Resumed{}), nil
	})
}

// RecordRun puts a fix run on the ticket's timeline; it counts as a
// response.
func (s *Service) RecordRun(ctx context.Context, id, actor, runID, fix, outcome string) (store.Ticket, error) {
	return s.update(ctx, id, func(t *store.Ticket, now time.Time) ([]store.TicketEvent, error) {
		return ev(now, actor, ticketevent.Run{Run: runID, Fix: fix, Outcome: outcome}), nil
	})
}

// Resolve resolves the ticket: its clock stops.
func (s *Service) Resolve(ctx context.Context, id, actor, resolution string) (store.Ticket, error) {
	if err := checkText("resolution", resolution, true); err != nil {
		return store.Ticket{}, err
	}
	return s.update(ctx, id, func(t *store.Ticket, now time.Time) ([]store.TicketEvent, error) {
		if err := notDone(t, "resolve it"); err != nil {
			return nil, err
		}
		return ev(now, actor, ticketevent.Resolved{Resolution: resolution}), nil
	})
}

// Reopen brings a resolved ticket back into its tier's queue.
func (s *Service) Reopen(ctx context.Context, id, actor, reason string) (store.Ticket, error) {
	if err := checkText("reason", reason, false); err != nil {
		return store.Ticket{}, err
	}
	return s.update(ctx, id, func(t *store.Ticket, now time.Time) ([]store.TicketEvent, error) {
		if t.State != store.TicketResolved {
			return nil, badState("ticket #%d is %s; only a resolved ticket can be reopened", t.Number, t.State)
		}
		return ev(now, actor, ticketevent.Reopened{Reason: reason}), nil
	})
}

// Close closes a resolved ticket for good.
func (s *Service) Close(ctx context.Context, id, actor string) (store.Ticket, error) {
	return s.update(ctx, id, func(t *store.Ticket, now time.Time) ([]store.TicketEvent, error) {
		if t.State != store.TicketResolved {
			return nil, badState("ticket #%d is %s; resolve it before closing", t.Number, t.State)
		}
		return ev(now, actor, ticketevent.Closed{}), nil
	})
}

// Survey records the user's satisfaction (1-5) with a resolved ticket,
// once.
func (s *Service) Survey(ctx context.Context, id, actor string, score int, comment string) (store.Ticket, error) {
	if score < 1 || score > 5 {
		return store.Ticket{}, invalid("score %d: answer 1 (very unhappy) to 5 (very happy)", score)
	}
	if err := checkText("comment", comment, false); err != nil {
		return store.Ticket{}, err
	}
	return s.update(ctx, id, func(t *store.Ticket, now time.Time) ([]store.TicketEvent, error) {
		if t.State != store.TicketResolved && t.State != store.TicketClosed {
			return nil, badState("ticket #%d is %s; the survey comes after it is resolved", t.Number, t.State)
		}
		if t.CSAT != nil {
			return nil, nil
		}
		return ev(now, actor, ticketevent.Survey{Score: score, Comment: comment}), nil
	})
}

// SetPriority sets impact and urgency (1 high to 3 low); the priority
// follows from the matrix.
func (s *Service) SetPriority(ctx context.Context, id, actor string, impact, urgency int) (store.Ticket, error) {
	if impact < 1 || impact > 3 || urgency < 1 || urgency > 3 {
		return store.Ticket{}, invalid("impact and urgency must be 1 (high) to 3 (low)")
	}
	return s.update(ctx, id, func(t *store.Ticket, now time.Time) ([]store.TicketEvent, error) {
		if t.Impact == impact && t.Urgency == urgency {
			return nil, nil
		}
		return ev(now, actor, ticketevent.Priority{Impact: impact, Urgency: urgency}), nil
	})
}

// Link links the ticket to another: parent, duplicate or related.
func (s *Service) Link(ctx context.Context, id, actor, other, kind string) (store.Ticket, error) {
	if !slices.Contains(store.LinkKinds, kind) {
		return store.Ticket{}, invalid("link kind %q: use one of %s", kind, strings.Join(store.LinkKinds, ", "))
	}
	if err := checkName("other ticket", other); err != nil {
		return store.Ticket{}, err
	}
	if other == id {
		return store.Ticket{}, invalid("a ticket cannot be linked to itself")
	}
	return s.update(ctx, id, func(t *store.Ticket, now time.Time) ([]store.TicketEvent, error) {
		return ev(now, actor, ticketevent.Link{Other: other, LinkKind: kind}), nil
	})
}

// Tick appends the SLA events due by now on every ticket whose check time
// has come, and returns how many tickets it changed. With several hubs
// on one PostgreSQL database, one of them runs the pass at a time; the
// others return 0 at once.
func (s *Service) Tick(ctx context.Context) (int, error) {
	changed := 0
	_, err := s.cfg.Store.WithJobLock(ctx, "sla", func(ctx context.Context) error {
		var err error
		changed, err = s.tick(ctx)
		return err
	})
	return changed, err
}

func (s *Service) tick(ctx context.Context) (int, error) {
	now := s.now()
	changed := 0
	for {
		ids, err := s.cfg.Store.DueTickets(ctx, now, 200)
		if err != nil {
			return changed, err
		}
		moved := 0
		for _, id := range ids {
			var next *time.Time
			emitted := 0
			_, err := s.update(ctx, id, func(t *store.Ticket, _ time.Time) ([]store.TicketEvent, error) {
				evs := Triggers(t, s.policy(), now)
				s.reminderDeliveries(ctx, evs)
				emitted = len(evs)
				if emitted == 0 {
					next = nextCheck(t, s.policy())
				}
				return evs, nil
			})
			if err != nil {
				s.log.Error("SLA check", "ticket", id, "err", err)
				continue
			}
			moved++
			if emitted > 0 {
				changed++
				continue
			}
			// Nothing was due after all (the policy changed since the
			// check time was set): move the check time on.
			if next != nil && !next.After(now) {
				next = nil
			}
			if err := s.cfg.Store.SetTicketNextCheck(ctx, id, next); err != nil {
				s.log.Error("SLA check", "ticket", id, "err", err)
			}
		}
		if len(ids) < 200 || moved == 0 {
			return changed, nil
		}
	}
}

// Resync recomputes the check time of every ticket whose clock can run,
// under the policy in force: after a restart with other limits or hours,
// tickets are checked when the new policy says, not the old one.
func (s *Service) Resync(ctx context.Context) error {
	const page = 500
	for off := 0; ; off += page {
		list, err := s.cfg.Store.ListTickets(ctx, store.TicketFilter{
			States: []string{store.TicketNew, store.TicketOpen, store.TicketWaitingVendor}, Limit: page, Offset: off})
		if err != nil {
			return fmt.Errorf("resync SLA checks: %w", err)
		}
		for i := range list {
			t := &list[i]
			next := nextCheck(t, s.policy())
			if sameTime(next, t.NextCheckAt) {
				continue
			}
			if err := s.cfg.Store.SetTicketNextCheck(ctx, t.ID, next); err != nil {
				return fmt.Errorf("resync SLA checks: %w", err)
			}
		}
		if len(list) < page {
			return nil
		}
	}
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// Loop runs Resync once, then Tick every interval (default 2 s) until ctx
// ends. Each round also picks up SLA settings changed by an admin (on any
// hub sharing the database) and starts a pass of vendor deliveries in
// the background, so a slow vendor never holds up SLA checks.
func (s *Service) Loop(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = 2 * time.Second
	}
	if _, err := s.ReloadSLA(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("SLA settings", "err", err)
	}
	if err := s.Resync(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("SLA loop", "err", err)
	}
	tk := time.NewTicker(every)
	defer tk.Stop()
	var deliveries sync.WaitGroup
	defer deliveries.Wait() // the store outlives the loop, not a pass
	for {
		if changed, err := s.ReloadSLA(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("SLA settings", "err", err)
		} else if changed {
			if err := s.Resync(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("SLA loop", "err", err)
			}
		}
		if _, err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("SLA loop", "err", err)
		}
		if s.delivering.CompareAndSwap(false, true) {
			deliveries.Add(1)
			go func() {
				defer deliveries.Done()
				defer s.delivering.Store(false)
				if _, err := s.cfg.Store.WithJobLock(ctx, "vendor-deliveries", func(ctx context.Context) error {
					_, err := s.Deliver(ctx)
					return err
				}); err != nil && ctx.Err() == nil {
					s.log.Error("vendor deliveries", "err", err)
				}
			}()
		}
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
	}
}

// List returns tickets matching f, oldest first.
func (s *Service) List(ctx context.Context, f store.TicketFilter) ([]store.Ticket, error) {
	return s.cfg.Store.ListTickets(ctx, f)
}
