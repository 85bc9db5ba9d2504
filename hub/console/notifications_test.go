package console

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/notify"
	"github.com/tierline/tierline/hub/store"
)

// TestNotificationPages: the bell shows the user's unread count on every
// page; the list shows their own notifications, escaped, newest first;
// the settings page says the quiet hours in words.
func TestNotificationPages(t *testing.T) {
	tc := newTestConsole(t)
	ctx := context.Background()
	me, other := tc.users[store.RoleTier1], tc.users[store.RoleTier2]
	now := tc.clock.Now()
	for i, n := range []store.Notification{
		{ID: "n1", UserID: me.ID, DedupeKey: "k1", Event: notify.EvAssigned, Title: `Assigned to you: #4 pc: <script>window.x=1</script>`, Link: "/tickets/t4", CreatedAt: now.Add(-time.Hour)},
		{ID: "n2", UserID: me.ID, DedupeKey: "k2", Event: notify.EvUserReplied, Title: "The user replied on #4 pc", Body: "still broken", Link: "/tickets/t4", CreatedAt: now.Add(-time.Minute)},
		{ID: "n3", UserID: other.ID, DedupeKey: "k3", Event: notify.EvAssigned, Title: "for someone else", CreatedAt: now},
	} {
		if _, err := tc.st.AddNotification(ctx, n, nil); err != nil {
			t.Fatalf("%d: %v", i, err)
		}
	}
	cl := tc.login(t, store.RoleTier1)
	_, body := tc.get(t, cl, "/queue")
	if !strings.Contains(body, `id="bell-count">2</span>`) || !strings.Contains(body, `aria-label="Notifications: 2 unread"`) {
		t.Fatalf("bell on the queue page: %s", snippet(body, "bell"))
	}
	res, body := tc.get(t, cl, "/notifications")
	if res.StatusCode != 200 || strings.Contains(body, "<script>window.x=1") || !strings.Contains(body, "&lt;script&gt;window.x=1") ||
		strings.Contains(body, "for someone else") || strings.Index(body, "The user replied") > strings.Index(body, "Assigned to you") ||
		!strings.Contains(body, "still broken") || !strings.Contains(body, "1m ago") {
		t.Fatalf("list: %d %s", res.StatusCode, snippet(body, "notify-list"))
	}
	if _, err := tc.st.MarkNotificationsRead(ctx, me.ID, nil, now); err != nil {
		t.Fatal(err)
	}
	if _, body = tc.get(t, cl, "/queue"); !strings.Contains(body, `id="bell-count" hidden>0</span>`) {
		t.Fatalf("bell after reading: %s", snippet(body, "bell"))
	}

	if err := notify.SavePrefs(ctx, tc.st, me.ID, notify.Prefs{Email: "me@x.test", WatchTiers: []int{2},
		QuietHours: &notify.QuietHours{From: "22:00", To: "07:30", TimeZone: "Europe/Berlin"},
		Events:     map[string]notify.Rule{notify.EvSLABreach: {Bell: true, Email: true, Always: true}}}, now); err != nil {
		t.Fatal(err)
	}
	res, body = tc.get(t, cl, "/notifications/settings")
	for _, want := range []string{"Every night from 10 pm to 7:30 am (Europe/Berlin)", `value="me@x.test"`, `name="watch_tier" value="2" checked`,
		`<tr data-event="sla_breach">`, "The time limit of a ticket of mine passed"} {
		if !strings.Contains(body, want) {
			t.Errorf("settings page lacks %q", want)
		}
	}
	if res.StatusCode != 200 {
		t.Fatalf("settings: %d", res.StatusCode)
	}
}

func snippet(body, near string) string {
	i := strings.Index(body, near)
	if i < 0 {
		return body
	}
	return body[max(0, i-200):min(len(body), i+400)]
}

// TestNotificationNoticeOnlyToItsUser: a bell notice goes to the pages of
// the user it is for, not to anyone else's.
func TestNotificationNoticeOnlyToItsUser(t *testing.T) {
	tc := newTestConsole(t)
	stream := func(role store.Role) <-chan string {
		cl := tc.login(t, role)
		req, _ := http.NewRequest("GET", tc.srv.URL+"/events", nil)
		req.Header.Set("Origin", tc.srv.URL)
		res, err := cl.Do(req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("/events as %s: %v", role, err)
		}
		t.Cleanup(func() { res.Body.Close() })
		got := make(chan string, 16)
		go func() {
			sc := bufio.NewScanner(res.Body)
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), "data: ") {
					got <- sc.Text()
				}
			}
		}()
		return got
	}
	mine, theirs := stream(store.RoleTier1), stream(store.RoleTier2)
	// Both streams are subscribed once each has said hello; wait for that
	// by publishing a public notice both must get.
	deadline := time.Now().Add(10 * time.Second)
	for sawA, sawB := false, false; !sawA || !sawB; {
		if time.Now().After(deadline) {
			t.Fatal("streams did not open")
		}
		tc.Publish(Notice{Kind: "ticket", ID: "warm-up"})
		select {
		case <-mine:
			sawA = true
		case <-theirs:
			sawB = true
		case <-time.After(100 * time.Millisecond):
		}
	}
	tc.PublishNotification(tc.users[store.RoleTier1], store.Notification{ID: "n1", Event: notify.EvAssigned, Title: "Assigned to you: #9", Link: "/tickets/t9"}, 3)
	tc.Publish(Notice{Kind: "ticket", ID: "after"})
	for {
		select {
		case line := <-mine:
			if !strings.Contains(line, `"kind":"notification"`) {
				continue
			}
			if !strings.Contains(line, `"unread":3`) || !strings.Contains(line, `"title":"Assigned to you: #9"`) || strings.Contains(line, "tier1-user") {
				t.Fatalf("bell notice: %s", line)
			}
			// The other stream got everything up to the marker, and no bell.
			for line := range theirs {
				if strings.Contains(line, `"kind":"notification"`) {
					t.Fatalf("another user heard the bell: %s", line)
				}
				if strings.Contains(line, `"id":"after"`) {
					return
				}
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no bell notice")
		}
	}
}
