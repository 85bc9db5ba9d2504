package console

import (
	"strings"
	"testing"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/tickets"
)

// An email ticket's page lists the files the user sent, each a download
// link, and the dropped ones with the reason; names are escaped.
func TestTicketPageListsAttachments(t *testing.T) {
	tc := newTestConsole(t)
	tk, _, err := tc.svc.Open(t.Context(), "mailin", tickets.Intake{Requester: "alice@example.test", Text: "scanner broken", Channel: store.IntakeEmail}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := tc.clock.Now()
	if err := tc.st.AddAttachments(t.Context(), tk.ID, []store.Attachment{
		{ID: "a1", MailID: "m1", Position: 0, Name: `<img src=x onerror=alert(1)>.png`, ContentType: "image/png", Size: 2048, Data: []byte("png"), CreatedAt: now},
		{ID: "a2", MailID: "m1", Position: 1, Name: "scan.pdf", ContentType: "application/pdf", Size: 40 << 20, Dropped: "larger than 10 MiB", CreatedAt: now},
	}); err != nil {
		t.Fatal(err)
	}
	cl := tc.login(t, store.RoleTier1)
	_, page := tc.get(t, cl, "/tickets/"+tk.ID)
	for _, want := range []string{`id="attachments"`, `href="/api/v1/tickets/` + tk.ID + `/attachments/a1" download`, "&lt;img src=x onerror=alert(1)&gt;.png",
		"scan.pdf (40.0 MB): not kept, larger than 10 MiB", "Came in by</dt><dd id=\"ticket-channel\">email"} {
		if !strings.Contains(page, want) {
			t.Errorf("ticket page lacks %q", want)
		}
	}
	if strings.Contains(page, "<img src=x") {
		t.Error("an attachment's name is not escaped")
	}
}
