package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// TestTicketViewHasCrashes: the API's ticket view carries the snapshot's
// recent crashes as the agent sent them, device text escaped in JSON.
func TestTicketViewHasCrashes(t *testing.T) {
	f := setupTickets(t)
	last := time.Date(2026, 12, 5, 10, 41, 0, 0, time.UTC)
	tk, _, err := f.svc.File(t.Context(), f.device, "pc", wire.HelpRequest{RequestID: "req-crash", Text: "Outlook keeps closing", Category: "application",
		Snapshot: wire.Snapshot{Crashes: []diag.AppCrashes{{App: "OUTLOOK.EXE<script>", Version: "16.0", Crashes: 4, Today: 4, Last: last, LastKind: "crash", Reason: "0xc0000005", Source: "wer"}}}})
	if err != nil {
		t.Fatal(err)
	}
	rec := f.call(t, "GET", "/api/v1/tickets/"+tk.ID, f.tokens[store.RoleTier1], "")
	if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "<script>") {
		t.Fatalf("ticket: %d %s", rec.Code, rec.Body.String())
	}
	got := decode[ticketAnswer](t, rec.Body.Bytes())
	if s := got.Ticket.Snapshot; s == nil || len(s.Crashes) != 1 || s.Crashes[0].App != "OUTLOOK.EXE<script>" || s.Crashes[0].Crashes != 4 ||
		s.Crashes[0].Reason != "0xc0000005" || !s.Crashes[0].Last.Equal(last) {
		t.Fatalf("snapshot crashes: %+v", got.Ticket.Snapshot)
	}
}
