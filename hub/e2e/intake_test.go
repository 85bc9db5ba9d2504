package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestTechnicianFilesTickets: a technician takes a phone call from the user
// of an online device and files the ticket through the API: the device's
// checks run on the spot (fresher than its scheduled run) and the ticket
// carries them. For a caller without a device the ticket works end to
// end; for a device that is offline the ticket says it has no diagnostics
// and why.
func TestTechnicianFilesTickets(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	a := enroll(t, h.tokenCreate())
	a.run("--check-interval", "1h") // only the run at start, unless asked
	var d device
	eventually(t, "the device online with its first checks", 60*time.Second, func() bool {
		return h.get("/api/v1/devices/"+a.id, &d) == http.StatusOK && d.Online && !d.checkTime("disk-almost-full").IsZero()
	})
	scheduled := d.checkTime("disk-almost-full")

	type opened struct {
		Ticket  ticketJSON `json:"ticket"`
		Created bool       `json:"created"`
	}
	var call opened
	body := `{"device":"` + a.id + `","requester":"maria","text":"Outlook keeps asking for my password","category":"sign-in","channel":"phone"}`
	if code := h.do("POST", "/api/v1/tickets", h.token, strings.NewReader(body), &call); code != http.StatusCreated || !call.Created {
		t.Fatalf("file for the caller: status %d, %+v", code, call)
	}
	var got ticketDetail
	h.get("/api/v1/tickets/"+call.Ticket.ID, &got)
	if got.Ticket.Snapshot == nil || len(got.Ticket.Snapshot.Checks) == 0 {
		t.Fatalf("the ticket of an online device has no diagnostics: %+v", got.Ticket)
	}
	// The checks ran for this ticket: the device's stored results are now
	// newer than its scheduled run, and the snapshot holds every check.
	h.get("/api/v1/devices/"+a.id, &d)
	if !d.checkTime("disk-almost-full").After(scheduled) {
		t.Errorf("disk-almost-full last ran %s, at its scheduled run: the ticket's checks were not run on the spot", d.checkTime("disk-almost-full"))
	}
	if len(got.Ticket.Snapshot.Checks) != len(d.Health) {
		t.Errorf("the snapshot holds %d checks, the device has %d", len(got.Ticket.Snapshot.Checks), len(d.Health))
	}
	if got.Ticket.Title != "maria: Outlook keeps asking for my password" || got.Timeline[0].Actor != "admin" ||
		got.Timeline[0].Data["channel"] != "phone" {
		t.Errorf("phone ticket: title %q, filed by %s: %v", got.Ticket.Title, got.Timeline[0].Actor, got.Timeline[0].Data)
	}

	// Someone whose laptop does not start has no device to name.
	var walkIn opened
	if code := h.do("POST", "/api/v1/tickets", h.token, strings.NewReader(`{"requester":"Bo Berg","text":"My laptop won't boot","channel":"walk-in"}`), &walkIn); code != http.StatusCreated {
		t.Fatalf("file for a walk-in: status %d", code)
	}
	for _, step := range []struct{ path, body string }{
		{"/messages", `{"text":"Bring it to the desk; we will swap the disk."}`},
		{"/resolve", `{"resolution":"Disk replaced."}`},
	} {
		if code := h.do("POST", "/api/v1/tickets/"+walkIn.Ticket.ID+step.path, h.token, strings.NewReader(step.body), nil); code != http.StatusOK {
			t.Fatalf("%s on the walk-in ticket: status %d", step.path, code)
		}
	}
	got = ticketDetail{}
	h.get("/api/v1/tickets/"+walkIn.Ticket.ID, &got)
	if got.Ticket.State != "resolved" || got.Ticket.DeviceID != "" || got.Ticket.Snapshot != nil {
		t.Errorf("walk-in ticket: state %s, device %q, snapshot %v", got.Ticket.State, got.Ticket.DeviceID, got.Ticket.Snapshot)
	}

	// The device goes offline: a ticket for it says it has no diagnostics.
	a.proc.stop()
	eventually(t, "the device offline", 30*time.Second, func() bool {
		return h.get("/api/v1/devices/"+a.id, &d) == http.StatusOK && !d.Online
	})
	var later opened
	if code := h.do("POST", "/api/v1/tickets", h.token, strings.NewReader(`{"device":"`+a.id+`","text":"Same again","channel":"chat"}`), &later); code != http.StatusCreated {
		t.Fatalf("file for an offline device: status %d", code)
	}
	got = ticketDetail{}
	h.get("/api/v1/tickets/"+later.Ticket.ID, &got)
	if got.Ticket.Snapshot != nil || got.Timeline[0].Data["no_snapshot"] != "the device was offline when the ticket was filed" {
		t.Errorf("offline device's ticket: snapshot %v, filed %v", got.Ticket.Snapshot, got.Timeline[0].Data)
	}

	// The channels are in the support metrics.
	var m struct {
		Channels map[string]int `json:"channels"`
	}
	h.get("/api/v1/metrics/support", &m)
	if m.Channels["phone"] != 1 || m.Channels["walk-in"] != 1 || m.Channels["chat"] != 1 {
		t.Errorf("support metrics by channel: %v", m.Channels)
	}
}
