package console

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/tierline/tierline/hub/notify"
	"github.com/tierline/tierline/hub/store"
)

// inboxStore is what the bell and the notification pages read.
type inboxStore interface {
	UnreadNotifications(ctx context.Context, userID string) (int, error)
	Notifications(ctx context.Context, userID string, unreadOnly bool, limit int) ([]store.Notification, error)
	GetNotifyPrefs(ctx context.Context, userID string) (store.NotifyPrefs, error)
}

// The bell's list and each user's notification choices. Both are the
// user's own; changes go through the API (/api/v1/me/notifications),
// which checks them.
func init() {
	Register(Page{Pattern: "GET /notifications", Role: store.RoleTier1, Handle: notificationsPage})
	Register(Page{Pattern: "GET /notifications/settings", Role: store.RoleTier1, Handle: notificationSettingsPage})
}

type notificationsData struct {
	Items  []store.Notification
	Unread int
}

func notificationsPage(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	items, err := c.inbox.Notifications(r.Context(), req.User.ID, false, 100)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	unread := 0
	for _, n := range items {
		if n.ReadAt == nil {
			unread++
		}
	}
	c.Render(w, r, req, http.StatusOK, "notifications.html", View{Title: "Notifications", Scripts: []string{"notifications.js"},
		Data: notificationsData{Items: items, Unread: unread}})
}

// eventRow is one event of the settings form.
type eventRow struct {
	notify.EventInfo
	Rule notify.Rule
}

type notificationSettingsData struct {
	Prefs  notify.Prefs
	Events []eventRow
	// Tiers are the tiers one may watch, with whether they are watched.
	Tiers      []tierBox
	Queues     string // comma-separated, as the form edits them
	Groups     string
	Quiet      notify.QuietHours
	QuietOn    bool
	QuietWords string // the quiet hours in words, or ""
}

type tierBox struct {
	Tier    int
	Watched bool
}

func notificationSettingsPage(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	p, err := notify.LoadPrefs(r.Context(), c.inbox, req.User.ID)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	d := notificationSettingsData{Prefs: p, Queues: strings.Join(p.WatchQueues, ", "), Groups: strings.Join(p.WatchGroups, ", ")}
	for _, e := range notify.Events {
		d.Events = append(d.Events, eventRow{EventInfo: e, Rule: p.Rule(e.Name)})
	}
	for t := 1; t <= 4; t++ {
		watched := false
		for _, w := range p.WatchTiers {
			watched = watched || w == t
		}
		d.Tiers = append(d.Tiers, tierBox{Tier: t, Watched: watched})
	}
	d.Quiet = notify.QuietHours{From: "22:00", To: "07:00"}
	if p.QuietHours != nil {
		d.Quiet, d.QuietOn = *p.QuietHours, true
		d.QuietWords = quietWords(*p.QuietHours)
	}
	c.Render(w, r, req, http.StatusOK, "notification_settings.html", View{Title: "Notification settings", Scripts: []string{"notifications.js"}, Data: d})
}

// quietWords says quiet hours as people do: "Every night from 10 pm to
// 7 am (Europe/Berlin), email and webhooks wait; the bell still rings."
func quietWords(q notify.QuietHours) string {
	span := "Every day from " + clockWords(q.From) + " to " + clockWords(q.To)
	if q.From > q.To {
		span = "Every night from " + clockWords(q.From) + " to " + clockWords(q.To)
	}
	return span + " (" + q.TimeZone + ") email and webhooks wait until the quiet hours end, unless the event is marked “even in quiet hours”; the bell still rings."
}

// clockWords writes "22:00" as "10 pm" and "07:30" as "7:30 am".
func clockWords(hhmm string) string {
	h, err1 := strconv.Atoi(hhmm[:min(2, len(hhmm))])
	m, err2 := strconv.Atoi(strings.TrimPrefix(hhmm[min(2, len(hhmm)):], ":"))
	if err1 != nil || err2 != nil {
		return hhmm
	}
	switch {
	case h == 0 && m == 0:
		return "midnight"
	case h == 12 && m == 0:
		return "noon"
	}
	suffix := " am"
	if h >= 12 {
		suffix = " pm"
	}
	h12 := h % 12
	if h12 == 0 {
		h12 = 12
	}
	if m == 0 {
		return strconv.Itoa(h12) + suffix
	}
	return strconv.Itoa(h12) + ":" + hhmm[3:] + suffix
}
