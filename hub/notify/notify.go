// Package notify tells technicians what concerns them: a new ticket in a
// tier or queue they watch, a ticket assigned to them, the user's reply,
// being added as collaborator, SLA at 75% and at breach, an escalation to
// their tier, an overdue vendor, a device of a group they watch gone
// offline. Each user chooses per event: the console's bell, email and a
// webhook (generic signed JSON, Slack or Teams).
//
// Ticket events arrive from the ticket changes bus (Handle), off the
// request path and the SLA loop; offline devices are found by a scan.
// Each notification is stored once per user and subject (deduplicated)
// with its email and webhook deliveries in the same transaction; an
// outbox sends them with retries, at most Limit per user and channel per
// Window, and holds them back during the user's quiet hours unless the
// user marked the event "always".
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/ticketevent"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/shared/wire"
)

// Store is what notifications need from the hub's store.
type Store interface {
	ListUsers(ctx context.Context) ([]store.User, error)
	GetUser(ctx context.Context, id string) (store.User, error)
	ListNotifyPrefs(ctx context.Context) (map[string]store.NotifyPrefs, error)
	GetNotifyPrefs(ctx context.Context, userID string) (store.NotifyPrefs, error)
	AddNotifications(ctx context.Context, ns []store.NewNotification) ([]bool, error)
	GetNotification(ctx context.Context, id string) (store.Notification, error)
	UnreadNotifications(ctx context.Context, userID string) (int, error)
	DueNotifyDeliveries(ctx context.Context, now time.Time, limit int) ([]store.NotifyDelivery, error)
	NotifySentSince(ctx context.Context, userID, channel string, since time.Time) (int, error)
	DeferNotifyDelivery(ctx context.Context, id string, until time.Time, why string) error
	FinishNotifyDelivery(ctx context.Context, id, state, lastError string, next *time.Time, now time.Time) error
	DevicesWentOffline(ctx context.Context, groups []string, from, to time.Time) ([]store.Device, error)
	WithJobLock(ctx context.Context, job string, fn func(ctx context.Context) error) (bool, error)
}

// Sender delivers: email through the hub's mail server, webhooks through
// the signed JSON post (hub/vendors.Sender).
type Sender interface {
	SendMail(ctx context.Context, from, to string, msg []byte) error
	PostJSON(ctx context.Context, url, secret, event, delivery string, body []byte) error
}

// Config configures a Notifier.
type Config struct {
	Store  Store
	Sender Sender
	// From is the address notification email comes from (--smtp-from);
	// empty: the hub sends no email, and email choices wait in the outbox.
	From string
	// HubURL is the console's URL, for links in email and webhooks.
	HubURL string
	// Limit deliveries per user and channel in Window (default 30 per
	// hour); more wait for room.
	Limit  int
	Window time.Duration
	// OfflineAfter is how long a device must be gone before EvDeviceOffline
	// (default 10 minutes): a reconnect within it is no news.
	OfflineAfter time.Duration
	// Every is how often the outbox and the offline scan run besides being
	// woken (default 30 s, or RetryBase if shorter).
	Every time.Duration
	// RetryBase and RetryMax bound the wait between attempts (default 30 s
	// doubling up to 30 min).
	RetryBase, RetryMax time.Duration
	// Notified, if set, hears of each new notification with the user's
	// unread count (the console rings the bell).
	Notified func(user store.User, n store.Notification, unread int)
	Logger   *slog.Logger
	Now      func() time.Time
	NewID    func() string
}

// CheckAndSetDefaults validates c and fills defaults.
func (c *Config) CheckAndSetDefaults() error {
	if c.Store == nil || c.Sender == nil {
		return errors.New("notify: no store or sender")
	}
	if c.Limit <= 0 {
		c.Limit = 30
	}
	if c.Window <= 0 {
		c.Window = time.Hour
	}
	if c.OfflineAfter <= 0 {
		c.OfflineAfter = 10 * time.Minute
	}
	if c.Every <= 0 {
		c.Every = 30 * time.Second
	}
	if c.RetryBase <= 0 {
		c.RetryBase = 30 * time.Second
	}
	if c.RetryMax < c.RetryBase {
		c.RetryMax = max(c.RetryBase, 30*time.Minute)
	}
	c.HubURL = strings.TrimRight(c.HubURL, "/")
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Logger = c.Logger.With("component", "notify")
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.NewID == nil {
		c.NewID = wire.NewID
	}
	return nil
}

// Notifier turns ticket changes and offline devices into notifications and
// delivers them.
type Notifier struct {
	cfg     Config
	started time.Time
	wake    chan struct{}
	// lastScan is where the next offline scan starts.
	lastScan time.Time
	stats    struct{ created, sent, failed, held atomic.Int64 }
}

// New builds a Notifier.
func New(cfg Config) (*Notifier, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	return &Notifier{cfg: cfg, started: cfg.Now(), wake: make(chan struct{}, 1)}, nil
}

// Wake makes the outbox look for due deliveries now.
func (n *Notifier) Wake() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// recipient is a user with their choices.
type recipient struct {
	user  store.User
	prefs Prefs
}

// recipients loads every enabled user with their choices.
func (n *Notifier) recipients(ctx context.Context) ([]recipient, error) {
	users, err := n.cfg.Store.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	stored, err := n.cfg.Store.ListNotifyPrefs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]recipient, 0, len(users))
	for _, u := range users {
		if u.DisabledAt != nil {
			continue
		}
		sp := stored[u.ID]
		p, err := decodePrefs(sp.Prefs, sp.WebhookSecret)
		if err != nil {
			n.cfg.Logger.Warn("notification settings unreadable; using the defaults", "user", u.Name, "err", err)
		}
		out = append(out, recipient{user: u, prefs: p})
	}
	return out, nil
}

// notice is one thing to tell some users.
type notice struct {
	event    string
	key      string
	ticketID string
	deviceID string
	title    string
	body     string
	link     string
	// site is the ticket's or device's: only users of that site (or of
	// every site) are told.
	site string
}

// Handle is the notifier's subscriber to the ticket changes bus.
func (n *Notifier) Handle(c tickets.Change) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.HandleChange(ctx, c); err != nil {
		n.cfg.Logger.Error("notify of a ticket change", "ticket", c.Ticket.Number, "err", err)
	}
}

// HandleChange notifies the users a ticket change concerns.
func (n *Notifier) HandleChange(ctx context.Context, c tickets.Change) error {
	var rs []recipient
	for _, e := range c.Events {
		switch e.Data.(type) {
		case ticketevent.Filed, ticketevent.Assigned, ticketevent.Message, ticketevent.Collaborator,
			ticketevent.SLAWarning, ticketevent.SLABreach, ticketevent.Escalated, ticketevent.VendorOverdue:
		default:
			continue
		}
		if rs == nil {
			var err error
			if rs, err = n.recipients(ctx); err != nil {
				return err
			}
		}
		nt, who := ticketNotice(c.Ticket, e, rs)
		// Nobody is told of what they did themselves.
		who = slices.DeleteFunc(who, func(r recipient) bool { return r.user.Name == e.Actor })
		if err := n.add(ctx, who, nt); err != nil {
			return err
		}
	}
	return nil
}

// ticketNotice is what one ticket event tells, and whom.
func ticketNotice(t store.Ticket, e store.TicketEvent, rs []recipient) (notice, []recipient) {
	// The key names the event: by its id, or for the first event (which
	// the change of a new ticket carries without one) by its kind.
	key := "ticket:" + t.ID + ":" + strconv.FormatInt(e.ID, 10)
	if _, filed := e.Data.(ticketevent.Filed); filed {
		key = "ticket:" + t.ID + ":filed"
	}
	nt := notice{key: key, ticketID: t.ID, link: "/tickets/" + t.ID, site: t.Site}
	ref := fmt.Sprintf("#%d %s", t.Number, t.Title)
	byName := func(names ...string) []recipient {
		var out []recipient
		for _, r := range rs {
			if r.user.Name != "" && slices.Contains(names, r.user.Name) {
				out = append(out, r)
			}
		}
		return out
	}
	watchers := func(tier int) []recipient {
		var out []recipient
		for _, r := range rs {
			if slices.Contains(r.prefs.WatchTiers, tier) || (t.Queue != "" && slices.Contains(r.prefs.WatchQueues, t.Queue)) {
				out = append(out, r)
			}
		}
		return out
	}
	// owners are who works the ticket; nobody yet: who watches the tier.
	owners := func(tier int) []recipient {
		if t.Assignee == "" && len(t.Collaborators) == 0 {
			return watchers(tier)
		}
		return byName(append([]string{t.Assignee}, t.Collaborators...)...)
	}
	switch d := e.Data.(type) {
	case ticketevent.Filed:
		nt.event, nt.title = EvTicketNew, fmt.Sprintf("New ticket in Tier %d: %s", d.Tier, ref)
		if d.Queue != "" {
			nt.title = fmt.Sprintf("New ticket in Tier %d, queue %s: %s", d.Tier, d.Queue, ref)
		}
		nt.body = short(t.Body)
		return nt, watchers(d.Tier)
	case ticketevent.Assigned:
		if d.To == "" {
			return nt, nil
		}
		nt.event, nt.title = EvAssigned, "Assigned to you: "+ref
		return nt, byName(d.To)
	case ticketevent.Message:
		if d.From != ticketevent.FromUser {
			return nt, nil
		}
		nt.event, nt.title, nt.body = EvUserReplied, "The user replied on "+ref, short(d.Text)
		return nt, byName(append([]string{t.Assignee}, t.Collaborators...)...)
	case ticketevent.Collaborator:
		nt.event, nt.title = EvCollaborator, "You were added as collaborator on "+ref
		return nt, byName(d.User)
	case ticketevent.SLAWarning:
		if d.Pct != 75 {
			return nt, nil
		}
		nt.event, nt.title = EvSLA75, fmt.Sprintf("75%% of the Tier %d time limit (%s) is used on %s", d.Tier, words(d.Limit), ref)
		return nt, owners(d.Tier)
	case ticketevent.SLABreach:
		nt.event, nt.title = EvSLABreach, fmt.Sprintf("The Tier %d time limit (%s) passed on %s", d.Tier, words(d.Limit), ref)
		return nt, owners(d.Tier)
	case ticketevent.Escalated:
		role, ok := tickets.TierRole(d.To)
		if !ok || d.To <= d.From {
			return nt, nil
		}
		nt.event, nt.title = EvEscalated, fmt.Sprintf("Escalated from Tier %d to Tier %d: %s", d.From, d.To, ref)
		nt.body = short(d.Reason + d.Note)
		var out []recipient
		for _, r := range rs {
			if r.user.Role == role {
				out = append(out, r)
			}
		}
		return nt, out
	case ticketevent.VendorOverdue:
		nt.event, nt.title = EvVendorOverdue, "The vendor has not answered in time on "+ref
		return nt, owners(t.Tier)
	}
	return nt, nil
}

// words writes a stored duration ("4h0m0s") as people do ("4h").
func words(d string) string {
	v, err := time.ParseDuration(d)
	if err != nil {
		return d
	}
	return tickets.ShortDuration(v)
}

// short clips text to one paragraph of at most 300 characters.
func short(s string) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > 300 {
		s = string([]rune(s)[:299]) + "…"
	}
	return s
}

// add stores one notification for each of rs that has the bell on for
// its event, as their rules say, with their email and webhook deliveries
// (held until quiet hours end), in one transaction, and rings the bells.
func (n *Notifier) add(ctx context.Context, rs []recipient, nt notice) error {
	now := n.cfg.Now()
	var batch []store.NewNotification
	var to []store.User
	for _, r := range rs {
		rule := r.prefs.Rule(nt.event)
		if !rule.Bell || !store.SeesSite(r.user.Sites, nt.site) {
			continue
		}
		rec := store.Notification{ID: n.cfg.NewID(), UserID: r.user.ID, DedupeKey: nt.key, Event: nt.event, TicketID: nt.ticketID,
			DeviceID: nt.deviceID, Title: nt.title, Body: nt.body, Link: nt.link, CreatedAt: now}
		var next *time.Time
		if q := r.prefs.QuietHours; q != nil && !rule.Always {
			if end, quiet := q.End(now); quiet {
				next = &end
			}
		}
		var ds []store.NotifyDelivery
		if rule.Email && r.prefs.Email != "" {
			ds = append(ds, store.NotifyDelivery{ID: rec.ID + "-email", Channel: store.NotifyEmail, NextAttemptAt: next})
		}
		if rule.Webhook && r.prefs.WebhookURL != "" {
			ds = append(ds, store.NotifyDelivery{ID: rec.ID + "-webhook", Channel: store.NotifyWebhook, NextAttemptAt: next})
		}
		batch = append(batch, store.NewNotification{Notification: rec, Deliveries: ds})
		to = append(to, r.user)
	}
	added, err := n.cfg.Store.AddNotifications(ctx, batch)
	if err != nil {
		return err
	}
	wake := false
	for i, ok := range added {
		if !ok {
			continue
		}
		n.stats.created.Add(1)
		wake = wake || len(batch[i].Deliveries) > 0
		if n.cfg.Notified != nil {
			unread, err := n.cfg.Store.UnreadNotifications(ctx, to[i].ID)
			if err != nil {
				n.cfg.Logger.Warn("count unread notifications", "user", to[i].Name, "err", err)
			}
			n.cfg.Notified(to[i], batch[i].Notification, unread)
		}
	}
	if wake {
		n.Wake()
	}
	return nil
}

// ScanOffline notifies the watchers of each device that went offline
// between the last scan and OfflineAfter ago and is still offline. Only
// disconnects this hub saw count (since it started), so a restart after an
// outage does not report the whole fleet.
func (n *Notifier) ScanOffline(ctx context.Context) error {
	rs, err := n.recipients(ctx)
	if err != nil {
		return err
	}
	var groups []string
	for _, r := range rs {
		if r.prefs.Rule(EvDeviceOffline).Bell {
			for _, g := range r.prefs.WatchGroups {
				if !slices.Contains(groups, g) {
					groups = append(groups, g)
				}
			}
		}
	}
	to := n.cfg.Now().Add(-n.cfg.OfflineAfter)
	from := n.lastScan
	if from.IsZero() || from.Before(n.started) {
		from = n.started
	}
	if len(groups) == 0 || to.Before(from) {
		return nil
	}
	devs, err := n.cfg.Store.DevicesWentOffline(ctx, groups, from, to)
	if err != nil {
		return err
	}
	for _, d := range devs {
		seen := n.cfg.Now()
		if d.LastSeen != nil {
			seen = *d.LastSeen
		}
		nt := notice{event: EvDeviceOffline, key: "device:" + d.ID + ":" + strconv.FormatInt(seen.UnixNano(), 10), deviceID: d.ID, site: d.Site,
			link: "/devices/" + d.ID, title: fmt.Sprintf("%s (group %s) is offline since %s UTC", d.Hostname, d.Group, seen.UTC().Format("2006-01-02 15:04"))}
		var who []recipient
		for _, r := range rs {
			if slices.Contains(r.prefs.WatchGroups, d.Group) {
				who = append(who, r)
			}
		}
		if err := n.add(ctx, who, nt); err != nil {
			return err
		}
	}
	// The next scan starts just after this one's end: a device that went
	// offline exactly at to is not notified twice (the key would stop it
	// anyway).
	n.lastScan = to.Add(time.Nanosecond)
	return nil
}
