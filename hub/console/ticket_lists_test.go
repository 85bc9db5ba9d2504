package console

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
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

// A snapshot that lists the first 300 of a machine's 1001 packages says
// so, and points to the computer's page for all of them.
func TestTicketPageSaysSnapshotSoftwareIsCut(t *testing.T) {
	tc := newTestConsole(t)
	dev := tc.fileTicket(t, "pc-7", "slow").DeviceID
	sw := make([]diag.Software, 300)
	for i := range sw {
		sw[i] = diag.Software{Name: fmt.Sprintf("pkg%03d", i), Version: "1"}
	}
	now := time.Now()
	tk, _, err := tc.svc.File(t.Context(), dev, "pc-7", wire.HelpRequest{RequestID: wire.NewID(), Text: "apps missing", Filed: now,
		Snapshot: wire.Snapshot{Taken: now, Inventory: &diag.Inventory{Hostname: "pc-7", Software: sw, SoftwareTotal: 1001}}})
	if err != nil {
		t.Fatal(err)
	}
	cl := tc.login(t, store.RoleTier1)
	_, page := tc.get(t, cl, "/tickets/"+tk.ID)
	if want := `1001 packages (the first 300 in the snapshot; all on the <a href="/devices/` + dev + `">computer's page</a>)`; !strings.Contains(page, want) {
		t.Errorf("ticket page lacks %q", want)
	}
}
