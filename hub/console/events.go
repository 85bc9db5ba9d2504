package console

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/tierline/tierline/hub/auth"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/tickets"
)

// liveStore is what the live event stream calls on the store.
type liveStore interface {
	PruneSessions(ctx context.Context, now, idleBefore time.Time) (int, error)
	GetDevice(ctx context.Context, id string) (store.Device, error)
	DeviceSite(ctx context.Context, id string) (string, error)
	LookupSession(ctx context.Context, hash []byte, now time.Time, idle, touchEvery time.Duration) (store.Session, store.User, error)
}

// Notice is one live update sent to console pages over /events. It is kept
// small: pages fetch what they need when a notice concerns them.
type Notice struct {
	Kind    string `json:"kind"` // "ticket", "run" or "telemetry"
	ID      string `json:"id,omitempty"`
	Number  int64  `json:"number,omitempty"`
	Tier    int    `json:"tier,omitempty"`
	State   string `json:"state,omitempty"`
	Event   string `json:"event,omitempty"` // ticket event kind
	Device  string `json:"device,omitempty"`
	Ticket  string `json:"ticket,omitempty"` // a run's ticket
	Outcome string `json:"outcome,omitempty"`
	// Telemetry carries the device's latest summary on a telemetry notice.
	Telemetry any       `json:"telemetry,omitempty"`
	Time      time.Time `json:"time"`
	// User is who a "notification" notice is for: only that user's pages
	// hear it, with their unread count and the notification's title and
	// console link.
	User string `json:"-"`
	// Site is the site of the notice's ticket or device: only pages of
	// users of that site (or of every site) hear it. "" for notices of no
	// site (resync, notifications).
	Site   string `json:"-"`
	Unread int    `json:"unread,omitempty"`
	Title  string `json:"title,omitempty"`
	Link   string `json:"link,omitempty"`
}

// Broker fans notices out to the /events streams.
type Broker struct {
	c    *Console
	mu   sync.Mutex
	subs map[*subscriber]struct{}
}

type subscriber struct {
	ch     chan Notice
	device string // telemetry of this device, if any
	user   string // the page's user, for their notifications
	// sites are the user's sites (nil: every site), as at subscribing;
	// the stream ends at the next ping when the session does.
	sites []string
}

func newBroker(c *Console) *Broker { return &Broker{c: c, subs: map[*subscriber]struct{}{}} }

// Publish sends n to every page listening. A page too slow to keep up
// misses notices rather than slowing the hub; it gets a "resync" notice and
// reloads what it shows.
func (c *Console) Publish(n Notice) {
	if n.Time.IsZero() {
		n.Time = c.cfg.Now()
	}
	b := c.broker
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		if n.Kind == "telemetry" && s.device != n.Device {
			continue
		}
		if n.Kind == "notification" && s.user != n.User {
			continue
		}
		if n.Site != "" && !store.SeesSite(s.sites, n.Site) {
			continue
		}
		select {
		case s.ch <- n:
		default:
			// Full: drop the oldest to make room for a resync marker.
			select {
			case <-s.ch:
			default:
			}
			select {
			case s.ch <- Notice{Kind: "resync", Time: n.Time}:
			default:
			}
		}
	}
}

// PublishTicket publishes a ticket change to the pages; the hub calls it
// from its subscriber to the ticket changes bus.
func (c *Console) PublishTicket(ch tickets.Change) {
	c.counts.invalidate(ch)
	t, kind := ch.Ticket, ""
	if len(ch.Events) > 0 {
		kind = ch.Events[len(ch.Events)-1].Kind()
	}
	c.Publish(Notice{Kind: "ticket", ID: t.ID, Number: t.Number, Tier: t.Tier, State: t.State, Event: kind, Device: t.DeviceID, Site: siteOrDefault(t.Site)})
}

// PublishNotification rings the bell on the user's open pages; it fits
// hub/notify's Config.Notified.
func (c *Console) PublishNotification(u store.User, n store.Notification, unread int) {
	c.Publish(Notice{Kind: "notification", User: u.Name, ID: n.ID, Event: n.Event, Unread: unread, Title: n.Title, Link: n.Link})
}

// PublishUnread sets the bell on the user's open pages to unread, after
// they read notifications on one of them; it fits the API's
// Config.NotificationsRead.
func (c *Console) PublishUnread(user string, unread int) {
	c.Publish(Notice{Kind: "notification", User: user, Unread: unread})
}

// PublishRun publishes a finished fix run (it fits the gateway's
// OnRunFinished hook), or a running run's new progress step.
func (c *Console) PublishRun(r store.Run) {
	if !c.broker.listening() {
		return // no page to tell: spare the site lookup
	}
	site, err := c.live.DeviceSite(context.Background(), r.DeviceID)
	if err != nil {
		// Not knowing the device's site, tell only pages of every site.
		site = "\x00unknown"
	}
	c.Publish(Notice{Kind: "run", ID: r.ID, Device: r.DeviceID, Ticket: r.Ticket, State: r.State, Outcome: r.Outcome, Site: site})
}

// listening reports whether any page is subscribed.
func (b *Broker) listening() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs) > 0
}

func (b *Broker) subscribe(device, user string, sites []string) *subscriber {
	s := &subscriber{ch: make(chan Notice, 64), device: device, user: user, sites: sites}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

func (b *Broker) unsubscribe(s *subscriber) {
	b.mu.Lock()
	delete(b.subs, s)
	b.mu.Unlock()
}

func (b *Broker) watched() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for s := range b.subs {
		if s.device != "" && !seen[s.device] {
			seen[s.device] = true
			out = append(out, s.device)
		}
	}
	return out
}

// Run pushes telemetry of watched devices and deletes ended sessions until
// ctx ends, and ends the /events streams then.
func (c *Console) Run(ctx context.Context) {
	t := time.NewTicker(c.cfg.TelemetryEvery)
	defer t.Stop()
	prune := time.NewTicker(10 * time.Minute)
	defer prune.Stop()
	last := map[string]time.Time{}
	for {
		select {
		case <-prune.C:
			now := c.cfg.Now()
			if n, err := c.live.PruneSessions(ctx, now, now.Add(-c.cfg.SessionIdle)); err != nil {
				c.log.Warn("prune ended console sessions; will retry", "err", err)
			} else if n > 0 {
				c.log.Debug("pruned ended console sessions", "n", n)
			}
			continue
		case <-ctx.Done():
			c.broker.mu.Lock()
			for s := range c.broker.subs {
				close(s.ch)
				delete(c.broker.subs, s)
			}
			c.broker.mu.Unlock()
			return
		case <-t.C:
		}
		watched := c.broker.watched()
		keep := map[string]time.Time{}
		for _, id := range watched {
			d, err := c.live.GetDevice(ctx, id)
			if err != nil || d.LatestAt == nil {
				continue
			}
			keep[id] = *d.LatestAt
			if last[id].Equal(*d.LatestAt) {
				continue
			}
			c.Publish(Notice{Kind: "telemetry", Device: id, Time: *d.LatestAt, Telemetry: d.Summary, State: onlineWord(d.Online), Site: siteOrDefault(d.Site)})
		}
		last = keep
	}
}

func onlineWord(on bool) string {
	if on {
		return "online"
	}
	return "offline"
}

// sessionValid reports whether the request's session still stands,
// without counting the check as activity: an open page's live stream must
// not keep an idle session alive.
func (c *Console) sessionValid(r *http.Request) bool {
	ck, err := r.Cookie(CookieName)
	if err != nil || ck.Value == "" || len(ck.Value) > 128 {
		return false
	}
	const never = time.Duration(math.MaxInt64)
	_, _, err = c.live.LookupSession(r.Context(), auth.HashSecret(ck.Value), c.cfg.Now(), c.cfg.SessionIdle, never)
	return err == nil
}

// events serves /events: server-sent events for a logged-in user, from the
// console's own origin only. ?device=ID adds that device's telemetry.
func (c *Console) events(w http.ResponseWriter, r *http.Request) {
	if !originOK(r) {
		http.Error(w, "refused: live updates are only for the console's own pages (Origin "+r.Header.Get("Origin")+")", http.StatusForbidden)
		return
	}
	req, err := c.session(r)
	if err != nil {
		http.Error(w, "log in to the console first", http.StatusUnauthorized)
		return
	}
	if !req.Can(store.RoleTier1) {
		http.Error(w, "this needs the tier1 role or higher", http.StatusForbidden)
		return
	}
	device := r.URL.Query().Get("device")
	if len(device) > 64 {
		http.Error(w, "device id is too long", http.StatusBadRequest)
		return
	}
	if device != "" {
		if _, err := c.live.DeviceSite(store.WithSites(r.Context(), req.User.Sites), device); err != nil {
			http.Error(w, "no such device in your sites", http.StatusNotFound)
			return
		}
	}
	// Subscribed before the page learns the stream is open, so a change
	// made after the page's "open" (its cue to catch up) is never missed.
	s := c.broker.subscribe(device, req.User.Name, req.User.Sites)
	defer c.broker.unsubscribe(s)
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 3000\n: hello\n\n")
	if err := rc.Flush(); err != nil {
		return
	}
	ping := time.NewTicker(c.pingEvery)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-ping.C:
			// The stream lives only as long as its session: after logout,
			// expiry or the user's disabling it ends (the page's reconnect
			// then gets 401 and shows the login).
			if !c.sessionValid(r) {
				fmt.Fprint(w, "event: session\ndata: {\"ended\":true}\n\n")
				_ = rc.Flush()
				return
			}
			fmt.Fprint(w, ": ping\n\n")
		case n, ok := <-s.ch:
			if !ok {
				return
			}
			b, _ := json.Marshal(n)
			fmt.Fprintf(w, "data: %s\n\n", b)
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}
