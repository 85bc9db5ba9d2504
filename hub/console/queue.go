package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/ticketevent"
	"github.com/tierline/tierline/hub/tickets"
)

// queueStore is what the queue page reads from the store.
type queueStore interface {
	QueueTickets(ctx context.Context, f store.QueueFilter) ([]store.Ticket, bool, error)
	DeviceNames(ctx context.Context, ids []string) (map[string]string, error)
	DeviceGroups(ctx context.Context) ([]string, error)
	GetSetting(ctx context.Context, key string) (string, bool, error)
	QueueCounts(ctx context.Context) (map[int]int, error)
}

func init() {
	Register(Page{Pattern: "GET /queue", Role: store.RoleTier1, Nav: "Queue", NavOrder: 10, Handle: queuePage})
}

// QueuePageSize is how many tickets one queue page shows.
const QueuePageSize = 100

// queueRow is one ticket in the queue, as rendered and as sent to queue.js.
type queueRow struct {
	ID       string    `json:"id"`
	Number   int64     `json:"number"`
	Title    string    `json:"title"`
	Category string    `json:"category"`
	Queue    string    `json:"queue"`
	Device   string    `json:"device"`
	State    string    `json:"state"`
	Priority int       `json:"priority"`
	Assignee string    `json:"assignee"`
	Created  time.Time `json:"created"`
	Age      string    `json:"age"`
	// SLA countdown: Due (running clock) or LeftMS (paused), of LimitMS.
	Due     string `json:"due,omitempty"`
	LeftMS  int64  `json:"left_ms"`
	LimitMS int64  `json:"limit_ms"`
	Paused  bool   `json:"paused"`
}

type queueTab struct {
	Tier        int
	Label, Link string
	Count       int
	Active      bool
}

type queueData struct {
	Tier int
	Mine bool // the "Mine" tab: my tickets in every tier
	// MineFilter: only my tickets, in the tier shown (the filter's
	// "mine" box, ?mine=1).
	MineFilter bool
	State      string
	Priority   int
	Group      string
	Queue      string
	Page       int
	Tabs       []queueTab
	Rows       []queueRow
	More       bool
	PrevLink   string
	NextLink   string
	States     []string
	Groups     []string
	Queues     []string
}

// openStates are the states a queue shows.
var openStates = []string{store.TicketNew, store.TicketOpen, store.TicketWaitingUser, store.TicketWaitingVendor}

// defaultTier is the queue a role lands on.
func defaultTier(r store.Role) int {
	switch r {
	case store.RoleTier2:
		return 2
	case store.RoleTier3:
		return 3
	}
	return 1
}

func queuePage(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	q := r.URL.Query()
	d := queueData{States: openStates, Page: 1}
	d.Mine = q.Get("tier") == "mine"
	if !d.Mine {
		d.Tier = defaultTier(req.User.Role)
		if v := q.Get("tier"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 4 {
				c.Error(w, r, req, http.StatusBadRequest, "The tier must be 1 to 4 or \"mine\".")
				return
			}
			d.Tier = n
		}
	}
	if v := q.Get("state"); v != "" {
		if !slices.Contains(openStates, v) {
			c.Error(w, r, req, http.StatusBadRequest, "The state filter must be one of new, open, waiting_user, waiting_vendor.")
			return
		}
		d.State = v
	}
	if v := q.Get("priority"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 5 {
			c.Error(w, r, req, http.StatusBadRequest, "The priority filter must be 1 to 5.")
			return
		}
		d.Priority = n
	}
	d.Group = q.Get("group")
	if len(d.Group) > 200 {
		c.Error(w, r, req, http.StatusBadRequest, "The device group filter is too long.")
		return
	}
	d.Queue = q.Get("queue")
	if len(d.Queue) > 200 {
		c.Error(w, r, req, http.StatusBadRequest, "The queue filter is too long.")
		return
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			c.Error(w, r, req, http.StatusBadRequest, "The page must be a number from 1.")
			return
		}
		d.Page = n
	}
	d.MineFilter = q.Get("mine") == "1"
	mineFilter := d.MineFilter || d.Mine
	f := store.QueueFilter{Tier: d.Tier, State: d.State, Priority: d.Priority, Group: d.Group, Queue: d.Queue,
		Limit: QueuePageSize, Offset: (d.Page - 1) * QueuePageSize}
	if mineFilter {
		f.Mine = req.User.Name
	}
	ctx := r.Context()
	st := c.queue
	list, more, err := st.QueueTickets(ctx, f)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	d.More = more
	ids := make([]string, len(list))
	for i, t := range list {
		ids[i] = t.DeviceID
	}
	names, err := st.DeviceNames(ctx, ids)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	pol := c.cfg.Policy()
	now := c.cfg.Now()
	for _, t := range list {
		d.Rows = append(d.Rows, makeQueueRow(t, names[t.DeviceID], pol, now))
	}
	counts, err := c.queueCounts(ctx)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	if q.Get("format") == "json" {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"rows": orEmpty(d.Rows), "more": d.More, "counts": counts})
		return
	}
	if d.Groups, err = st.DeviceGroups(ctx); err != nil {
		c.Fail(w, r, req, err)
		return
	}
	if d.Queues, err = c.queueNames(ctx, d.Queue); err != nil {
		c.Fail(w, r, req, err)
		return
	}
	link := func(tier string, page int) string {
		v := url.Values{"tier": {tier}}
		if d.State != "" {
			v.Set("state", d.State)
		}
		if d.Priority > 0 {
			v.Set("priority", strconv.Itoa(d.Priority))
		}
		if d.Group != "" {
			v.Set("group", d.Group)
		}
		if d.Queue != "" {
			v.Set("queue", d.Queue)
		}
		if q.Get("mine") == "1" && tier != "mine" {
			v.Set("mine", "1")
		}
		if page > 1 {
			v.Set("page", strconv.Itoa(page))
		}
		return "/queue?" + v.Encode()
	}
	for tier := 1; tier <= 4; tier++ {
		d.Tabs = append(d.Tabs, queueTab{Tier: tier, Label: "Tier " + strconv.Itoa(tier), Link: link(strconv.Itoa(tier), 1), Count: counts[tier], Active: !d.Mine && d.Tier == tier})
	}
	d.Tabs = append(d.Tabs, queueTab{Label: "Mine", Link: link("mine", 1), Count: -1, Active: d.Mine})
	cur := strconv.Itoa(d.Tier)
	if d.Mine {
		cur = "mine"
	}
	if d.Page > 1 {
		d.PrevLink = link(cur, d.Page-1)
	}
	if d.More {
		d.NextLink = link(cur, d.Page+1)
	}
	title := "Tier " + cur + " queue"
	if d.Mine {
		title = "My tickets"
	}
	c.Render(w, r, req, http.StatusOK, "queue.html", View{Title: title, Scripts: []string{"queue.js"}, Data: d})
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func makeQueueRow(t store.Ticket, host string, pol tickets.Policy, now time.Time) queueRow {
	row := queueRow{ID: t.ID, Number: t.Number, Title: t.Title, Category: t.Category, Queue: t.Queue, Device: host, State: t.State,
		Priority: t.Priority, Assignee: t.Assignee, Created: t.CreatedAt, Age: ago(now.Sub(t.CreatedAt))}
	sla := tickets.Status(&t, pol, now)
	if sla.Limit > 0 {
		row.LimitMS = sla.Limit.Milliseconds()
		row.LeftMS = (sla.Limit - sla.Used).Milliseconds()
		if sla.Due != nil {
			row.Due = sla.Due.UTC().Format(time.RFC3339Nano)
		} else {
			row.Paused = true
		}
	}
	return row
}

// queueNames lists the named queues the routing rules send tickets to,
// for the queue filter, with cur (the filter in force) among them. Reading
// the rules costs one setting, not a scan of the tickets.
func (c *Console) queueNames(ctx context.Context, cur string) ([]string, error) {
	var names []string
	if cur != "" {
		names = append(names, cur)
	}
	raw, ok, err := c.queue.GetSetting(ctx, tickets.RoutingSetting)
	if err != nil {
		return nil, err
	}
	if ok && strings.TrimSpace(raw) != "" {
		rules, err := tickets.ParseRules([]byte(raw))
		if err != nil {
			// The API refuses bad rules, so this is an old or hand-edited
			// setting: the page still works, without the list.
			c.cfg.Logger.Warn("routing rules unreadable; the queue filter lists no queues", "err", err)
		}
		for _, r := range rules {
			if r.Queue != "" {
				names = append(names, r.Queue)
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// countsTTL is how long the queue's tab counts are reused: counting the
// open tickets reads every one of them, which with tens of thousands open
// costs more than the rest of the page. A change that moves a ticket
// between queues (filed, escalated, resolved, reopened, closed) makes them
// count again at once, so a tab never shows a number its rows contradict.
const countsTTL = 3 * time.Second

type countsCache struct {
	mu     sync.Mutex
	at     time.Time
	counts map[int]int
}

// movesQueues are the ticket events that change the tab counts.
var movesQueues = map[string]bool{ticketevent.KindFiled: true, ticketevent.KindEscalated: true,
	ticketevent.KindResolved: true, ticketevent.KindReopened: true, ticketevent.KindClosed: true}

// invalidate makes the next queue page count again if ch moved a ticket
// between queues.
func (cc *countsCache) invalidate(ch tickets.Change) {
	for _, e := range ch.Events {
		if movesQueues[e.Kind()] {
			cc.mu.Lock()
			cc.counts = nil
			cc.mu.Unlock()
			return
		}
	}
}

func (c *Console) queueCounts(ctx context.Context) (map[int]int, error) {
	cc := &c.counts
	cc.mu.Lock()
	defer cc.mu.Unlock()
	now := c.cfg.Now()
	if cc.counts != nil && now.Sub(cc.at) < countsTTL && !now.Before(cc.at) {
		return cc.counts, nil
	}
	m, err := c.queue.QueueCounts(ctx)
	if err != nil {
		return nil, err
	}
	cc.counts, cc.at = m, now
	return m, nil
}
