package console

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/tickets"
)

// The reports page shows the period's support metrics, per tier and by
// channel, for Tier 1 and up; the CSV downloads it links hold the same
// figures and the tickets, with text a spreadsheet could take for a
// formula neutralised.
func TestReportsPage(t *testing.T) {
	tc := newTestConsole(t)
	a := tc.fileTicket(t, "pc-1", "printer jammed")
	if _, _, err := tc.svc.Open(t.Context(), "ana", tickets.Intake{Requester: `=HYPERLINK("http://evil")`, Text: "laptop won't boot", Channel: store.IntakeWalkIn}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := tc.svc.Resolve(t.Context(), a.ID, "ana", "Cleared the queue"); err != nil {
		t.Fatal(err)
	}
	cl := tc.login(t, store.RoleTier1)
	res, page := tc.get(t, cl, "/reports?days=7")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/reports: %d\n%s", res.StatusCode, page)
	}
	for _, want := range []string{"Support reports", `id="r-tickets"><span class="stat-n">2</span>`, "resolved at first contact",
		"Get help (device)", "walk-in", `data-tier="1"`, "Download these metrics (CSV)", `id="r-fcr"><span class="stat-n">100%`} {
		if !strings.Contains(page, want) {
			t.Errorf("/reports lacks %q", want)
		}
	}
	// The measures by channel: the device's ticket resolved at first
	// contact, the walk-in open.
	for _, want := range []string{`<tr data-key="agent">
      <td>Get help (device)</td><td class="num">1</td><td class="num">1</td><td class="num">1 (100%)</td>`,
		`<tr data-key="walk-in">
      <td>walk-in</td><td class="num">1</td><td class="num">0</td><td class="num">0 (0%)</td>`,
		`id="type-metrics"`, "Tickets filed and resolved per day", "Resolved at first contact, per day", "Satisfaction per day (1-5)"} {
		if !strings.Contains(page, want) {
			t.Errorf("/reports lacks %q", want)
		}
	}
	// Seven days of points: today's carries both tickets filed.
	if n := strings.Count(page, `<polyline class="line s-filed"`); n != 1 {
		t.Errorf("%d filed lines", n)
	}
	if res, _ := tc.get(t, cl, "/reports?days=5"); res.StatusCode != http.StatusBadRequest {
		t.Errorf("days=5: %d", res.StatusCode)
	}

	// The tickets CSV: one row each, the formula neutralised.
	res, body := tc.get(t, cl, "/api/v1/tickets?format=csv")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("tickets CSV: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) != 3 || rows[0][0] != "number" {
		t.Fatalf("tickets CSV: %v\n%s", err, body)
	}
	for _, r := range rows[1:] {
		if strings.HasPrefix(r[1], "=") {
			t.Errorf("a title starting with = is written as a formula: %q", r[1])
		}
	}
	if !strings.Contains(body, "'=HYPERLINK") || !strings.Contains(body, "walk-in") {
		t.Errorf("tickets CSV:\n%s", body)
	}
	// The metrics CSV the page links to.
	from := tc.clock.Now().UTC().Truncate(24 * time.Hour).Add(-6 * 24 * time.Hour).Format(time.RFC3339)
	to := tc.clock.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour).Format(time.RFC3339)
	res, body = tc.get(t, cl, "/api/v1/metrics/support?format=csv&from="+from+"&to="+to)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, ",all,2,1,") || !strings.Contains(body, ",channel,walk-in,1") ||
		!strings.Contains(body, ",channel,agent,1,1,1,0,0,") || !strings.Contains(body, "day,filed,resolved,first_contact") {
		t.Errorf("metrics CSV: %d\n%s", res.StatusCode, body)
	}
}
