package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/tierline/tierline/hub/notify"
	"github.com/tierline/tierline/hub/store"
)

// notifyStore is what the notification routes call on the store.
type notifyStore interface {
	GetNotifyPrefs(ctx context.Context, userID string) (store.NotifyPrefs, error)
	PutNotifyPrefs(ctx context.Context, p store.NotifyPrefs, clearSecret bool) error
	Notifications(ctx context.Context, userID string, unreadOnly bool, limit int) ([]store.Notification, error)
	UnreadNotifications(ctx context.Context, userID string) (int, error)
	MarkNotificationsRead(ctx context.Context, userID string, ids []string, at time.Time) (int, error)
}

// Each user's own notifications: every technician and admin, for
// themselves only.
func (a *API) notificationRoutes() []Route {
	return []Route{
		{"GET /api/v1/me/notifications", store.RoleTier1, a.getNotifyPrefs},
		{"PUT /api/v1/me/notifications", store.RoleTier1, a.putNotifyPrefs},
		{"GET /api/v1/me/notifications/inbox", store.RoleTier1, a.notificationInbox},
		{"POST /api/v1/me/notifications/read", store.RoleTier1, a.readNotifications},
	}
}

// NotifyPrefsView is the answer of GET and PUT /api/v1/me/notifications:
// the caller's choices (never the webhook secret) and the events there
// are, in the order the console shows them.
type NotifyPrefsView struct {
	notify.Prefs
	Available []notify.EventInfo `json:"available_events"`
}

func (a *API) getNotifyPrefs(w http.ResponseWriter, r *http.Request, who Caller) {
	p, err := notify.LoadPrefs(r.Context(), a.notifyPrefs, who.UserID)
	if err != nil {
		a.internal(w, "load notification settings", err)
		return
	}
	writeJSON(w, http.StatusOK, NotifyPrefsView{Prefs: p, Available: notify.Events})
}

func (a *API) putNotifyPrefs(w http.ResponseWriter, r *http.Request, who Caller) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "request body: "+err.Error())
		return
	}
	p, err := notify.DecodePrefs(raw)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	err = notify.SavePrefs(r.Context(), a.notifyPrefs, who.UserID, p, a.cfg.Now())
	switch {
	case errors.Is(err, notify.ErrInvalid):
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	case err != nil:
		a.internal(w, "save notification settings", err)
		return
	}
	a.audit(r, who, "user.notifications", who.UserID, "ok", map[string]any{"email": p.Email != "", "webhook": p.WebhookURL != "",
		"webhook_format": p.WebhookFormat, "quiet_hours": p.QuietHours != nil})
	a.getNotifyPrefs(w, r, who)
}

// InboxView is the answer of GET /api/v1/me/notifications/inbox.
type InboxView struct {
	Unread        int                  `json:"unread"`
	Notifications []store.Notification `json:"notifications"`
}

// notificationInbox lists the caller's notifications, newest first:
// ?unread=1 only the unread ones, ?limit=N (1-200, default 50).
func (a *API) notificationInbox(w http.ResponseWriter, r *http.Request, who Caller) {
	q := r.URL.Query()
	limit := 50
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 200 {
			writeError(w, http.StatusBadRequest, "bad_request", "limit must be a number from 1 to 200")
			return
		}
		limit = n
	}
	unreadOnly := false
	switch q.Get("unread") {
	case "", "0", "false":
	case "1", "true":
		unreadOnly = true
	default:
		writeError(w, http.StatusBadRequest, "bad_request", "unread must be 1 or 0")
		return
	}
	list, err := a.notifyPrefs.Notifications(r.Context(), who.UserID, unreadOnly, limit)
	if err != nil {
		a.internal(w, "list notifications", err)
		return
	}
	unread, err := a.notifyPrefs.UnreadNotifications(r.Context(), who.UserID)
	if err != nil {
		a.internal(w, "count notifications", err)
		return
	}
	writeJSON(w, http.StatusOK, InboxView{Unread: unread, Notifications: list})
}

// readNotifications marks the caller's notifications read:
// {"ids": ["..."]} or {"all": true}.
func (a *API) readNotifications(w http.ResponseWriter, r *http.Request, who Caller) {
	var req struct {
		IDs []string `json:"ids"`
		All bool     `json:"all"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	switch {
	case req.All && len(req.IDs) > 0:
		writeError(w, http.StatusBadRequest, "bad_request", `send {"ids": [...]} or {"all": true}, not both`)
		return
	case !req.All && len(req.IDs) == 0:
		writeError(w, http.StatusBadRequest, "bad_request", `say which notifications are read: {"ids": ["..."]} or {"all": true}`)
		return
	case len(req.IDs) > 500:
		writeError(w, http.StatusBadRequest, "bad_request", "mark at most 500 notifications at once, or send {\"all\": true}")
		return
	}
	for _, id := range req.IDs {
		if id == "" || len(id) > 64 {
			writeError(w, http.StatusBadRequest, "bad_request", "ids must be notification ids as the inbox lists them")
			return
		}
	}
	n, err := a.notifyPrefs.MarkNotificationsRead(r.Context(), who.UserID, req.IDs, a.cfg.Now())
	if err != nil {
		a.internal(w, "mark notifications read", err)
		return
	}
	unread, err := a.notifyPrefs.UnreadNotifications(r.Context(), who.UserID)
	if err != nil {
		a.internal(w, "count notifications", err)
		return
	}
	if a.cfg.NotificationsRead != nil && n > 0 {
		a.cfg.NotificationsRead(who.Name, unread)
	}
	writeJSON(w, http.StatusOK, map[string]int{"marked": n, "unread": unread})
}
