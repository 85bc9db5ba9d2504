package console

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tierline/tierline/hub/store"
)

// TestAdminPageShowsEmailIntake: the admin page shows how email intake is
// set up and how its last poll went, and says how to turn it on when it
// is off; it never holds a password (the hub never hands it one).
func TestAdminPageShowsEmailIntake(t *testing.T) {
	tc := newTestConsole(t)
	cl := tc.login(t, store.RoleAdmin)
	_, page := tc.get(t, cl, "/admin")
	if !strings.Contains(page, "Email intake is off") {
		t.Fatalf("admin page without email intake does not say it is off")
	}
	tc.cfg.Mail = func() MailStatus {
		return MailStatus{Enabled: true, Address: "helpdesk@example.test", IMAP: "imap.example.test:993", TLS: "imaps", User: "helpdesk",
			Mailbox: "INBOX", SMTP: "smtp.example.test:587", Poll: "1m", MaxFiles: 10, MaxFileSize: "10 MiB", SenderLimit: "20 mails per 1h",
			LastPoll: tc.clock.Now(), LastError: `imap imap.example.test:993: log in as helpdesk: server answered NO <b>denied</b>`, Filed: 3, Ignored: 1}
	}
	res, page := tc.get(t, cl, "/admin")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("admin page: %d", res.StatusCode)
	}
	for _, want := range []string{"helpdesk@example.test", "imap.example.test:993 (imaps)", "INBOX", "smtp.example.test:587",
		"up to 10 per mail, 10 MiB each", "3 filed as new tickets, 0 added to tickets, 1 ignored, 0 refused", "log in as helpdesk: server answered NO &lt;b&gt;denied&lt;/b&gt;",
		"0 waiting, 0 sent"} {
		if !strings.Contains(page, want) {
			t.Errorf("admin page lacks %q", want)
		}
	}
	if cl2 := tc.login(t, store.RoleTier3); cl2 != nil {
		if res, _ := tc.get(t, cl2, "/admin"); res.StatusCode == http.StatusOK {
			t.Errorf("a tier3 technician sees the admin page")
		}
	}
}
