package console

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
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
	// Over the period's days: tickets filed and resolved, first-contact
	// resolution, satisfaction.
	Volume, FCR, CSAT LineChart
	// Groups are the tables of each channel's and each type's measures,
	// most tickets first.
	Groups []groupTable
	// CSV links download the same period's metrics and tickets.
	MetricsCSV, TicketsCSV string
}

type reportTile struct {
	ID, Value, Label, Class string
}

// groupTable is a table of groups' measures.
type groupTable struct {
	ID, Title, Head string
	Rows            []reportGroup
}

// reportGroup is one row of the by-channel and by-type tables.
type reportGroup struct {
	Key, Name string
	tickets.GroupMetrics
}

func reportGroups(groups map[string]tickets.GroupMetrics, names map[string]string) []reportGroup {
	out := make([]reportGroup, 0, len(groups))
	for k, g := range groups {
		name := k
		if n, ok := names[k]; ok {
			name = n
		}
		out = append(out, reportGroup{Key: k, Name: name, GroupMetrics: g})
	}
	slices.SortFunc(out, func(a, b reportGroup) int {
		if a.Tickets != b.Tickets {
			return b.Tickets - a.Tickets
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out
}

// dayCharts draws the period's days: each day's figure at its middle.
func dayCharts(d *reportsData, from, to time.Time) {
	var filed, resolved, fcr, csat []SeriesPoint
	for _, day := range d.M.Days {
		t, err := time.Parse(time.DateOnly, day.Day)
		if err != nil {
			continue
		}
		mid := t.Add(12 * time.Hour)
		filed = append(filed, SeriesPoint{mid, float64(day.Filed)})
		resolved = append(resolved, SeriesPoint{mid, float64(day.Resolved)})
		if day.Resolved > 0 {
			fcr = append(fcr, SeriesPoint{mid, 100 * float64(day.FirstContact) / float64(day.Resolved)})
		}
		if day.CSAT.Answers > 0 {
			csat = append(csat, SeriesPoint{mid, day.CSAT.Mean})
		}
	}
	d.Volume = newLineChart("Tickets filed and resolved per day", from, to, 0, fmtCount, []string{"filed", "resolved"},
		[]string{"s-filed", "s-resolved"}, [][]SeriesPoint{filed, resolved})
	d.FCR = newLineChart("Resolved at first contact, per day", from, to, 100, fmtPct, []string{"first contact"},
		[]string{"s-fcr"}, [][]SeriesPoint{fcr})
	d.CSAT = newLineChart("Satisfaction per day (1-5)", from, to, 5, fmtScore, []string{"mean answer"},
		[]string{"s-csat"}, [][]SeriesPoint{csat})
	for _, c := range []*LineChart{&d.Volume, &d.FCR, &d.CSAT} {
		c.NoData = "No tickets in this period"
	}
}

func fmtCount(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }
func fmtScore(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

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
	d.Channels = countChart("Tickets by how they came in", m.Channels, channelNames)
	d.Types = countChart("Tickets by type", m.Types, typeNames)
	tierCounts := map[string]int{}
	for _, t := range m.Tiers {
		tierCounts["Tier "+strconv.Itoa(t.Tier)] = t.Entered
	}
	d.Tier = countChart("Tickets that were in each tier", tierCounts, nil)
	d.Groups = []groupTable{
		{ID: "channel-metrics", Title: "By channel", Head: "Came in by", Rows: reportGroups(m.ByChannel, channelNames)},
		{ID: "type-metrics", Title: "By type", Head: "Type", Rows: reportGroups(m.ByType, typeNames)},
	}
	dayCharts(&d, from, to)
	c.Render(w, r, req, http.StatusOK, "reports.html", View{Title: "Reports", Data: d})
}

// channelNames and typeNames are the words for keys that are not words.
var (
	channelNames = map[string]string{store.IntakeAgent: "Get help (device)"}
	typeNames    = map[string]string{store.TypeRequest: "service request"}
)

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
