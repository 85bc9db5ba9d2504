package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/api"
	"github.com/tierline/tierline/hub/store"
)

// TestNotificationPrefsAPI: a user reads the defaults, saves choices,
// never sees the webhook secret again, and bad choices get clear errors
// and change nothing.
func TestNotificationPrefsAPI(t *testing.T) {
	f := setup(t)
	tok := f.tokens[store.RoleTier1]
	rec := f.call(t, "GET", "/api/v1/me/notifications", tok, "")
	var got struct {
		Email            string                         `json:"email"`
		WebhookURL       string                         `json:"webhook_url"`
		WebhookFormat    string                         `json:"webhook_format"`
		HasWebhookSecret bool                           `json:"has_webhook_secret"`
		Events           map[string]map[string]bool     `json:"events"`
		WatchTiers       []int                          `json:"watch_tiers"`
		QuietHours       *struct{ From, To string }     `json:"quiet_hours"`
		Available        []struct{ Name, Label string } `json:"available_events"`
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &got) != nil || !got.Events["assigned"]["bell"] || got.Events["assigned"]["email"] ||
		len(got.Available) != 9 || got.Available[0].Name != "ticket_new" {
		t.Fatalf("defaults: %d %s", rec.Code, rec.Body)
	}
	const secret = "0123456789abcdef0123"
	body := `{"email":"ana@support.test","webhook_url":"https://chat.example/hooks/1","webhook_secret":"` + secret + `",
		"events":{"assigned":{"bell":true,"email":true},"sla_breach":{"bell":true,"webhook":true,"always":true}},
		"watch_tiers":[1,2],"watch_queues":["printers"],"quiet_hours":{"from":"22:00","to":"07:00","time_zone":"Europe/Berlin"}}`
	rec = f.call(t, "PUT", "/api/v1/me/notifications", tok, body)
	if rec.Code != 200 || strings.Contains(rec.Body.String(), secret) {
		t.Fatalf("save: %d %s", rec.Code, rec.Body)
	}
	for _, c := range []struct{ body, want string }{
		{`{"email":"nope"}`, "email must be a plain address"},
		{`{"webhook_url":"http://169.254.169.254/"}`, "link-local"},
		{`{"events":{"assigned":{"email":true}}}`, "need bell on"},
		{`{"quiet_hours":{"from":"22:00","to":"07:00"}}`, "time_zone is required"},
		{`{"watch_tiers":[0]}`, "0 is not a tier"},
		{`{"colour":"red"}`, `unknown field`},
		{`{"email":`, "notification settings"},
		{`{} {}`, "one JSON object only"},
	} {
		rec := f.call(t, "PUT", "/api/v1/me/notifications", tok, c.body)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("PUT %s: %d %s, want 400 %q", c.body, rec.Code, rec.Body, c.want)
		}
	}
	rec = f.call(t, "GET", "/api/v1/me/notifications", tok, "")
	got.Events, got.QuietHours = nil, nil
	if json.Unmarshal(rec.Body.Bytes(), &got) != nil || got.Email != "ana@support.test" || !got.HasWebhookSecret || got.WebhookFormat != "generic" ||
		!got.Events["sla_breach"]["always"] || got.QuietHours == nil || got.QuietHours.From != "22:00" || len(got.WatchTiers) != 2 ||
		strings.Contains(rec.Body.String(), secret) {
		t.Fatalf("after bad PUTs: %s", rec.Body)
	}
	sp, err := f.store.GetNotifyPrefs(context.Background(), userID(t, f, "u-tier1"))
	if err != nil || sp.WebhookSecret != secret {
		t.Fatalf("stored secret: %+v %v", sp, err)
	}
	// Another user's choices are their own.
	rec = f.call(t, "GET", "/api/v1/me/notifications", f.tokens[store.RoleTier2], "")
	if strings.Contains(rec.Body.String(), "ana@support.test") {
		t.Fatalf("tier2 sees tier1's choices: %s", rec.Body)
	}
}

func userID(t *testing.T, f fixture, name string) string {
	t.Helper()
	u, err := f.store.GetUserByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// TestNotificationInboxAPI: a user lists and marks read their own
// notifications only.
func TestNotificationInboxAPI(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	me, other := userID(t, f, "u-tier1"), userID(t, f, "u-tier2")
	now := time.Now()
	for i, u := range []string{me, me, other} {
		n := store.Notification{ID: "n" + string(rune('1'+i)), UserID: u, DedupeKey: "k" + string(rune('1'+i)), Event: "assigned",
			Title: "Assigned to you: #" + string(rune('1'+i)) + " <b>x</b>", Link: "/tickets/t1", CreatedAt: now.Add(time.Duration(i) * time.Second)}
		if _, err := f.store.AddNotification(ctx, n, nil); err != nil {
			t.Fatal(err)
		}
	}
	tok := f.tokens[store.RoleTier1]
	var inbox struct {
		Unread        int `json:"unread"`
		Notifications []struct {
			ID, Title string
			ReadAt    *time.Time `json:"read_at"`
		} `json:"notifications"`
	}
	rec := f.call(t, "GET", "/api/v1/me/notifications/inbox", tok, "")
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &inbox) != nil || inbox.Unread != 2 || len(inbox.Notifications) != 2 || inbox.Notifications[0].ID != "n2" {
		t.Fatalf("inbox: %d %s", rec.Code, rec.Body)
	}
	for _, c := range []struct{ method, path, body, want string }{
		{"GET", "/api/v1/me/notifications/inbox?limit=0", "", "limit must be a number from 1 to 200"},
		{"GET", "/api/v1/me/notifications/inbox?unread=maybe", "", "unread must be 1 or 0"},
		{"POST", "/api/v1/me/notifications/read", `{}`, "say which notifications are read"},
		{"POST", "/api/v1/me/notifications/read", `{"ids":["n1"],"all":true}`, "not both"},
		{"POST", "/api/v1/me/notifications/read", `{"ids":[""]}`, "ids must be notification ids"},
	} {
		rec := f.call(t, c.method, c.path, tok, c.body)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("%s %s %s: %d %s, want 400 %q", c.method, c.path, c.body, rec.Code, rec.Body, c.want)
		}
	}
	// Marking another user's notification does nothing to it.
	rec = f.call(t, "POST", "/api/v1/me/notifications/read", tok, `{"ids":["n1","n3"]}`)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"marked": 1`) || !strings.Contains(rec.Body.String(), `"unread": 1`) {
		t.Fatalf("mark read: %d %s", rec.Code, rec.Body)
	}
	if n, _ := f.store.UnreadNotifications(ctx, other); n != 1 {
		t.Fatalf("the other user's notification was marked read")
	}
	rec = f.call(t, "GET", "/api/v1/me/notifications/inbox?unread=1", tok, "")
	if json.Unmarshal(rec.Body.Bytes(), &inbox) != nil || len(inbox.Notifications) != 1 || inbox.Notifications[0].ID != "n2" {
		t.Fatalf("unread only: %s", rec.Body)
	}
	rec = f.call(t, "POST", "/api/v1/me/notifications/read", tok, `{"all":true}`)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"unread": 0`) {
		t.Fatalf("mark all read: %d %s", rec.Code, rec.Body)
	}
}

// TestNotificationsReadTellsTheConsole: marking notifications read hands
// the user's new unread count to the console (its other pages' bells).
func TestNotificationsReadTellsTheConsole(t *testing.T) {
	f := setup(t)
	var heard []string
	a, err := api.New(api.Config{Store: f.store, NotificationsRead: func(user string, unread int) {
		heard = append(heard, user+":"+strconv.Itoa(unread))
	}})
	if err != nil {
		t.Fatal(err)
	}
	f.api = a
	me := userID(t, f, "u-tier1")
	for _, id := range []string{"n1", "n2"} {
		if _, err := f.store.AddNotification(context.Background(), store.Notification{ID: id, UserID: me, DedupeKey: id, Event: "assigned", Title: id, CreatedAt: time.Now()}, nil); err != nil {
			t.Fatal(err)
		}
	}
	f.call(t, "POST", "/api/v1/me/notifications/read", f.tokens[store.RoleTier1], `{"ids":["n1"]}`)
	f.call(t, "POST", "/api/v1/me/notifications/read", f.tokens[store.RoleTier1], `{"ids":["n1"]}`) // nothing new
	f.call(t, "POST", "/api/v1/me/notifications/read", f.tokens[store.RoleTier1], `{"all":true}`)
	if strings.Join(heard, ",") != "u-tier1:1,u-tier1:0" {
		t.Fatalf("console heard %q", heard)
	}
}
