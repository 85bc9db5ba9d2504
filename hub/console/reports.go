package console

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/tickets"
)

func init() {
	Register(Page{Pattern: "GET /reports", Role: store.RoleTier1, Nav: "Reports", NavOrder: 35, Handle: reportsPage})
}

// reportsData is the support metrics of a period, as the reports page
// shows them.
type reportsData struct {
	M        tickets.Metrics
	Days     int
	DayLinks []rangeLink
	// Tiles are the headline figures; Tiers the per-tier table.
	Tiles    []reportTile
	Tiers    []tickets.TierMetrics
	Channels BarChart
	Types    BarChart
	Tier     BarChart
	// CSV links download the same period's metrics and tickets.
	MetricsCSV, TicketsCSV string
}

type reportTile struct {
	ID, Value, Label, Class string
}

// reportsPage shows the support metrics over ?days=7|30|90: first-contact
// resolution, first response and time to resolve, escalation and breach
// rates, self-help deflection and CSAT, per tier and by channel and type,
// with CSV downloads of the metrics and the tickets.
func reportsPage(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	if c.cfg.Metrics == nil {
		c.Error(w, r, req, http.StatusServiceUnavailable, "Reports are not available on this hub.")
		return
	}
	days, from, to, ok := c.periodDays(w, r, req)
	if !ok {
		return
	}
	m, err := c.cfg.Metrics(r.Context(), from, to)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	d := reportsData{M: m, Days: days, Tiers: m.Tiers, DayLinks: dayLinks("/reports", days)}
	period := url.Values{"from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}, "format": {"csv"}}.Encode()
	d.MetricsCSV = "/api/v1/metrics/support?" + period
	d.TicketsCSV = "/api/v1/tickets?format=csv&limit=1000"
	o := m.Overall
	csat := "—"
	if o.CSAT.Answers > 0 {
		csat = fmt.Sprintf("%.1f / 5", o.CSAT.Mean)
	}
	d.Tiles = []reportTile{
		{"r-tickets", strconv.Itoa(m.Tickets), "tickets filed", ""},
		{"r-fcr", share(m.FirstContactResolution), "resolved at first contact", ""},
		{"r-first-response", secondsSpan(o.FirstResponse.Median), "median first response", ""},
		{"r-resolve", secondsSpan(o.TimeToResolve.Median), "median time to resolve", ""},
		{"r-escalation", share(o.EscalationRate), "escalated", warnIf(o.EscalationRate > 0.3)},
		{"r-breach", share(o.BreachRate), "breached the SLA", badIf(o.BreachRate > 0)},
		{"r-deflection", share(m.SelfHelp.DeflectionRate), fmt.Sprintf("of %d Get help sessions fixed it for good (%d pending, %d came back within %s)",
			m.SelfHelp.Sessions, m.SelfHelp.Pending, m.SelfHelp.CameBack, m.SelfHelp.Window), ""},
		{"r-csat", csat, fmt.Sprintf("satisfaction (%d answers)", o.CSAT.Answers), ""},
		{"r-backlog", strconv.Itoa(o.Backlog.Open), "open now", ""},
	}
	d.Channels = countChart("Tickets by how they came in", m.Channels, map[string]string{store.IntakeAgent: "Get help (device)"})
	d.Types = countChart("Tickets by type", m.Types, map[string]string{store.TypeRequest: "service request"})
	tierCounts := map[string]int{}
	for _, t := range m.Tiers {
		tierCounts["Tier "+strconv.Itoa(t.Tier)] = t.Entered
	}
	d.Tier = countChart("Tickets that were in each tier", tierCounts, nil)
	c.Render(w, r, req, http.StatusOK, "reports.html", View{Title: "Reports", Data: d})
}

// countChart is a bar a key, largest first; names renames keys.
func countChart(title string, counts map[string]int, names map[string]string) BarChart {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if counts[a] != counts[b] {
			return counts[b] - counts[a]
		}
		if a < b {
			return -1
		}
		return 1
	})
	var labels, hrefs, values, tips []string
	var a, b []float64
	for _, k := range keys {
		label := k
		if n, ok := names[k]; ok {
			label = n
		}
		labels, hrefs = append(labels, label), append(hrefs, "")
		values = append(values, strconv.Itoa(counts[k]))
		tips = append(tips, fmt.Sprintf("%s: %d tickets", label, counts[k]))
		a, b = append(a, float64(counts[k])), append(b, 0)
	}
	return newBarChart(title, labels, hrefs, values, tips, a, b, "b-brand", "")
}

func share(f float64) string { return fmt.Sprintf("%.0f%%", 100*f) }

func warnIf(b bool) string {
	if b {
		return "warn"
	}
	return ""
}

func badIf(b bool) string {
	if b {
		return "bad"
	}
	return ""
}
