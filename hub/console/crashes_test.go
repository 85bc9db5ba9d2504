package console

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/auth"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// TestTicketPageShowsCrashes: the applications that crashed before a
// ticket was filed show on its page, their device-supplied names escaped.
func TestTicketPageShowsCrashes(t *testing.T) {
	tc := newTestConsole(t)
	ctx := context.Background()
	secret := auth.Secret(16)
	if err := tc.st.CreateToken(ctx, store.Token{ID: wire.NewID(), MaxUses: 1, ExpiresAt: time.Now().Add(time.Hour), CreatedAt: time.Now()}, auth.HashSecret(secret)); err != nil {
		t.Fatal(err)
	}
	devID := wire.NewID()
	if _, err := tc.st.EnrollDevice(ctx, auth.HashSecret(secret), store.Device{ID: devID, Hostname: "pc-crash", OS: "windows", Arch: "amd64"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	last := time.Date(2026, 12, 5, 10, 41, 0, 0, time.UTC)
	req := wire.HelpRequest{RequestID: wire.NewID(), Text: "Outlook keeps closing", Category: "application", Filed: now,
		Snapshot: wire.Snapshot{Taken: now, Crashes: []diag.AppCrashes{
			{App: "OUTLOOK.EXE", Version: "16.0.17029.20108", Crashes: 4, Today: 4, Last: last, LastKind: "crash", Reason: "0xc0000005", Source: "wer"},
			{App: hostile, Version: hostile, Hangs: 2, Today: 2, Last: last, LastKind: "hang", Reason: hostile, Source: "wer"},
		}}}
	tk, _, err := tc.svc.File(ctx, devID, "pc-crash", req)
	if err != nil {
		t.Fatal(err)
	}
	cl := tc.login(t, store.RoleTier1)
	res, page := tc.get(t, cl, "/tickets/"+tk.ID)
	if res.StatusCode != 200 {
		t.Fatalf("ticket page: %d\n%s", res.StatusCode, page)
	}
	for _, want := range []string{"Applications that crashed before filing", `id="snapshot-crashes"`,
		`<td>OUTLOOK.EXE</td><td>16.0.17029.20108</td><td class="num">4</td><td class="num">0</td><td class="num">4</td><td>2026-12-05 10:41:00 UTC (crash)</td><td>0xc0000005</td><td>wer</td>`,
		"&lt;script&gt;window.__xss=1&lt;/script&gt;", "(hang)"} {
		if !strings.Contains(page, want) {
			t.Errorf("ticket page lacks %s", want)
		}
	}
	for _, bad := range []string{"<script>window", "<img src=x", "<svg onload"} {
		if strings.Contains(page, bad) {
			t.Errorf("ticket page contains unescaped %q", bad)
		}
	}
	// A ticket without crashes has no such section.
	plain := tc.fileTicket(t, "pc-plain", "no crashes here")
	if _, page := tc.get(t, cl, "/tickets/"+plain.ID); strings.Contains(page, "snapshot-crashes") {
		t.Errorf("a ticket without crashes shows the crashes table")
	}
}
