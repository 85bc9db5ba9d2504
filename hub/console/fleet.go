package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tierline/tierline/hub/store"
)

// fleetStore is what the fleet health page reads from the store.
type fleetStore interface {
	FleetHealth(ctx context.Context, from, to time.Time, topProblems int) (store.FleetHealth, error)
}

// The fleet health page needs Tier 3, like GET /api/v1/fleet/health: admins
// watch the fleet, Tier 3 engineers hunt patterns across it.
func init() {
	Register(Page{Pattern: "GET /fleet", Role: store.RoleTier3, Nav: "Fleet", NavOrder: 30, Handle: fleetPage})
}

// Column is one day of a column chart.
type Column struct {
	X, Y, W, H float64
	Label, Tip string
	Count      int
}

type fleetData struct {
	Health      store.FleetHealth
	Days        int
	DayLinks    []rangeLink
	Checks      BarChart
	Problems    BarChart
	Tickets     BarChart
	FixRates    BarChart
	Breaches    []Column
	BreachMax   int
	BreachTotal int
	BreachTicks []Tick
	OnlinePct   float64
}

// fleetPage shows devices online/offline, failing health checks (each a
// link to the devices where it fails), top problems, open tickets by
// tier, SLA breaches per day and fix success rates, over ?days=7|30|90.
func fleetPage(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	days, from, to, ok := c.periodDays(w, r, req)
	if !ok {
		return
	}
	h, err := c.fleet.FleetHealth(r.Context(), from, to, 10)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	d := fleetData{Health: h, Days: days}
	d.DayLinks = dayLinks("/fleet", days)
	if h.Devices.Total > 0 {
		d.OnlinePct = 100 * float64(h.Devices.Online) / float64(h.Devices.Total)
	}

	// Failing checks: failing and warning stacked; each bar drills down.
	var labels, hrefs, values, tips []string
	var a, b []float64
	for _, fc := range h.FailingChecks {
		labels = append(labels, fc.Name)
		hrefs = append(hrefs, "/devices?"+url.Values{"check": {fc.Name}}.Encode())
		values = append(values, fmt.Sprintf("%d failing, %d warning", fc.Failing, fc.Warning))
		tips = append(tips, fmt.Sprintf("%s: failing on %d, warning on %d devices", fc.Name, fc.Failing, fc.Warning))
		a, b = append(a, float64(fc.Failing)), append(b, float64(fc.Warning))
	}
	d.Checks = newBarChart("Failing health checks", labels, hrefs, values, tips, a, b, "b-fail", "b-warn")

	labels, hrefs, values, tips, a, b = nil, nil, nil, nil, nil, nil
	for _, p := range h.TopProblems {
		labels = append(labels, p.Title)
		hrefs = append(hrefs, "")
		values = append(values, strconv.Itoa(p.Tickets)+" tickets")
		tips = append(tips, p.Title+" ("+p.State+"): "+strconv.Itoa(p.Tickets)+" tickets")
		a, b = append(a, float64(p.Tickets)), append(b, 0)
	}
	d.Problems = newBarChart("Top recurring problems", labels, hrefs, values, tips, a, b, "b-brand", "")

	// Tickets by tier: open (new, open, waiting) against resolved and closed.
	open, done, seen := map[int]int{}, map[int]int{}, map[int]bool{}
	var tiers []int
	for _, tc := range h.Tickets { // sorted by tier
		if !seen[tc.Tier] {
			seen[tc.Tier] = true
			tiers = append(tiers, tc.Tier)
		}
		if tc.State == store.TicketResolved || tc.State == store.TicketClosed {
			done[tc.Tier] += tc.Count
		} else {
			open[tc.Tier] += tc.Count
		}
	}
	labels, hrefs, values, tips, a, b = nil, nil, nil, nil, nil, nil
	for _, t := range tiers {
		labels = append(labels, "Tier "+strconv.Itoa(t))
		hrefs = append(hrefs, "/queue?tier="+strconv.Itoa(t))
		values = append(values, fmt.Sprintf("%d open, %d done", open[t], done[t]))
		tips = append(tips, fmt.Sprintf("Tier %d: %d open, %d resolved or closed", t, open[t], done[t]))
		a, b = append(a, float64(open[t])), append(b, float64(done[t]))
	}
	d.Tickets = newBarChart("Tickets by tier", labels, hrefs, values, tips, a, b, "b-brand", "b-done")

	labels, hrefs, values, tips, a, b = nil, nil, nil, nil, nil, nil
	for _, fr := range h.FixRates {
		labels = append(labels, fr.Fix)
		hrefs = append(hrefs, "")
		v := "no verdict"
		if fr.SuccessPct >= 0 {
			v = fmt.Sprintf("%.0f%% of %d", fr.SuccessPct, fr.Success+fr.Failure)
		}
		values = append(values, v)
		tips = append(tips, fmt.Sprintf("%s: %d worked, %d did not, %d runs in all", fr.Fix, fr.Success, fr.Failure, fr.Runs))
		a, b = append(a, float64(fr.Success)), append(b, float64(fr.Failure))
	}
	d.FixRates = newBarChart("Fix success", labels, hrefs, values, tips, a, b, "b-ok", "b-fail")

	// SLA breaches per day as columns.
	for _, dc := range h.SLABreaches {
		d.BreachMax = max(d.BreachMax, dc.Count)
		d.BreachTotal += dc.Count
	}
	top := niceCeil(float64(d.BreachMax))
	const left, right, top0, bottom = 40.0, 630.0, 10.0, 150.0
	cw := (right - left) / float64(max(len(h.SLABreaches), 1))
	for i, dc := range h.SLABreaches {
		hgt := (bottom - top0) * float64(dc.Count) / top
		col := Column{X: left + float64(i)*cw + 1, W: max(cw-2, 1), Y: bottom - hgt, H: hgt, Count: dc.Count,
			Tip: dc.Day.Format("Mon Jan 2") + ": " + strconv.Itoa(dc.Count) + " SLA breaches"}
		if i%max(len(h.SLABreaches)/6, 1) == 0 {
			col.Label = dc.Day.Format("Jan 2")
		}
		d.Breaches = append(d.Breaches, col)
	}
	for i := 0; i <= 2; i++ {
		v := top * float64(i) / 2
		d.BreachTicks = append(d.BreachTicks, Tick{Pos: bottom - (bottom-top0)*v/top, Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	c.Render(w, r, req, http.StatusOK, "fleet.html", View{Title: "Fleet health", Data: d})
}

// periodDays reads a page's ?days=7|30|90 (default 30): whole UTC days,
// today included. On a bad value it renders the error and returns false.
func (c *Console) periodDays(w http.ResponseWriter, r *http.Request, req *Request) (days int, from, to time.Time, ok bool) {
	days = 30
	if s := r.URL.Query().Get("days"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || (n != 7 && n != 30 && n != 90) {
			c.Error(w, r, req, http.StatusBadRequest, "days must be 7, 30 or 90.")
			return 0, from, to, false
		}
		days = n
	}
	to = c.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	return days, to.Add(-time.Duration(days) * 24 * time.Hour), to, true
}

// dayLinks are the 7/30/90-day tabs of a page at path.
func dayLinks(path string, days int) []rangeLink {
	var out []rangeLink
	for _, n := range []int{7, 30, 90} {
		out = append(out, rangeLink{Name: strconv.Itoa(n) + " days", Link: path + "?days=" + strconv.Itoa(n), Active: n == days})
	}
	return out
}
