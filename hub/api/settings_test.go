package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/shared/wire"
)

// TestSLABusinessHoursRoute: an admin sets business hours through the SLA
// settings in the serve flag's format; they read back, a ticket's due time
// follows them, "" counts all hours, a technician may not change them and
// bad input is refused with the format in the message.
func TestSLABusinessHoursRoute(t *testing.T) {
	f := setupTickets(t)
	admin := f.tokens[store.RoleAdmin]
	monday := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	f.set(monday)

	rec := f.call(t, "GET", "/api/v1/settings/sla", admin, "")
	if got := decode[tickets.SLAView](t, rec.Body.Bytes()); rec.Code != http.StatusOK || got.BusinessHours != "" || got.BusinessHoursSource != "default" {
		t.Fatalf("get before: %d %s", rec.Code, rec.Body)
	}
	rec = f.call(t, "PUT", "/api/v1/settings/sla", admin, `{"business_hours":"tue-fri 09:00-17:00 UTC"}`)
	if got := decode[tickets.SLAView](t, rec.Body.Bytes()); rec.Code != http.StatusOK || got.BusinessHours != "tue-fri 09:00-17:00 UTC" || got.BusinessHoursSource != "setting" {
		t.Fatalf("put: %d %s", rec.Code, rec.Body)
	}
	rec = f.call(t, "GET", "/api/v1/settings/sla", admin, "")
	if got := decode[tickets.SLAView](t, rec.Body.Bytes()); got.BusinessHours != "tue-fri 09:00-17:00 UTC" || got.TierLimitsSource != "default" {
		t.Fatalf("get after: %s", rec.Body)
	}

	// In force: a ticket filed on Monday is due 15 business minutes into Tuesday.
	tk := f.file(t, "req-1", "printer")
	rec = f.call(t, "GET", "/api/v1/tickets/"+tk.ID, f.tokens[store.RoleTier1], "")
	due := decode[ticketAnswer](t, rec.Body.Bytes()).Ticket.SLA.Due
	if want := monday.Add(24*time.Hour + 15*time.Minute); due == nil || !due.Equal(want) {
		t.Fatalf("due %v, want %v", due, want)
	}

	// A technician may neither read nor change them.
	if rec := f.call(t, "GET", "/api/v1/settings/sla", f.tokens[store.RoleTier3], ""); rec.Code != http.StatusForbidden {
		t.Fatalf("tier3 reads SLA settings: %d", rec.Code)
	}
	if rec := f.call(t, "PUT", "/api/v1/settings/sla", f.tokens[store.RoleTier3], `{"business_hours":""}`); rec.Code != http.StatusForbidden {
		t.Fatalf("tier3 sets business hours: %d", rec.Code)
	}

	for _, bad := range []string{`{"business_hours":"9 to 5"}`, `{"business_hours":"mon-fri 17:00-09:00"}`,
		`{"business_hours":"mon-fri 09:00-17:00 Nowhere/Town"}`, `{"business_hours":"funday 09:00-17:00"}`} {
		rec := f.call(t, "PUT", "/api/v1/settings/sla", admin, bad)
		msg := decode[wire.APIError](t, rec.Body.Bytes()).Error
		if rec.Code != http.StatusBadRequest || !strings.Contains(msg, "business_hours") || !strings.Contains(msg, "DAYS FROM-TO [ZONE]") {
			t.Errorf("%s: %d %s", bad, rec.Code, msg)
		}
	}
	if rec := f.call(t, "PUT", "/api/v1/settings/sla", admin, `{"business_hours":["mon-fri"]}`); rec.Code != http.StatusBadRequest {
		t.Errorf("business hours as a list: %d", rec.Code)
	}

	// "" is all hours: the same ticket is due 15 wall-clock minutes after filing.
	rec = f.call(t, "PUT", "/api/v1/settings/sla", admin, `{"business_hours":""}`)
	if got := decode[tickets.SLAView](t, rec.Body.Bytes()); rec.Code != http.StatusOK || got.BusinessHours != "" || got.BusinessHoursSource != "setting" {
		t.Fatalf("put off: %d %s", rec.Code, rec.Body)
	}
	rec = f.call(t, "GET", "/api/v1/tickets/"+tk.ID, f.tokens[store.RoleTier1], "")
	if due := decode[ticketAnswer](t, rec.Body.Bytes()).Ticket.SLA.Due; due == nil || !due.Equal(monday.Add(15*time.Minute)) {
		t.Fatalf("due with all hours %v", due)
	}

	// Every change, and every refusal, is audited with the hours asked for.
	rec = f.call(t, "GET", "/api/v1/audit?action=tickets.sla", admin, "")
	if body := rec.Body.String(); rec.Code != http.StatusOK || !strings.Contains(body, "tue-fri 09:00-17:00 UTC") || !strings.Contains(body, "Nowhere/Town") {
		t.Fatalf("audit: %d %s", rec.Code, body)
	}
}
