package tickets

import (
	"encoding/csv"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tierline/tierline/hub/store"
)

// WriteTicketsCSV writes tickets as CSV, one a row, for spreadsheets.
// Text from users and devices is written so a spreadsheet never takes it
// for a formula.
func WriteTicketsCSV(w io.Writer, list []store.Ticket) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"number", "title", "state", "tier", "priority", "channel", "type", "category", "requester",
		"device_id", "assignee", "queue", "created_at", "first_response_at", "resolved_at", "escalations", "breaches", "csat"})
	for _, t := range list {
		csat := ""
		if t.CSAT != nil {
			csat = strconv.Itoa(*t.CSAT)
		}
		_ = cw.Write([]string{strconv.FormatInt(t.Number, 10), cell(t.Title), t.State, strconv.Itoa(t.Tier), "P" + strconv.Itoa(t.Priority),
			t.Channel, t.Type, cell(t.Category), cell(t.Requester), t.DeviceID, cell(t.Assignee), cell(t.Queue), stamp(&t.CreatedAt),
			stamp(t.FirstResponseAt), stamp(t.ResolvedAt), strconv.Itoa(t.Escalations), strconv.Itoa(t.Breaches), csat})
	}
	cw.Flush()
	return cw.Error()
}

// WriteMetricsCSV writes support metrics as CSV: a row for all tiers and
// one for each tier, then the tickets by channel and by type.
func WriteMetricsCSV(w io.Writer, m Metrics) error {
	cw := csv.NewWriter(w)
	from, to := m.From.UTC().Format(time.RFC3339), m.To.UTC().Format(time.RFC3339)
	_ = cw.Write([]string{"from", "to", "tier", "entered", "resolved", "escalated", "breached", "response_breached",
		"first_contact", "escalation_rate", "breach_rate", "first_response_median_s", "time_to_resolve_median_s",
		"backlog_open", "csat_answers", "csat_mean"})
	for _, tm := range append([]TierMetrics{m.Overall}, m.Tiers...) {
		tier := strconv.Itoa(tm.Tier)
		if tm.Tier == 0 {
			tier = "all"
		}
		_ = cw.Write([]string{from, to, tier, strconv.Itoa(tm.Entered), strconv.Itoa(tm.Resolved), strconv.Itoa(tm.Escalated),
			strconv.Itoa(tm.Breached), strconv.Itoa(tm.ResponseBreached), strconv.Itoa(tm.FirstContact),
			num(tm.EscalationRate), num(tm.BreachRate), num(tm.FirstResponse.Median), num(tm.TimeToResolve.Median),
			strconv.Itoa(tm.Backlog.Open), strconv.Itoa(tm.CSAT.Answers), num(tm.CSAT.Mean)})
	}
	_ = cw.Write(nil)
	_ = cw.Write([]string{"from", "to", "breakdown", "value", "tickets"})
	for _, b := range []struct {
		name string
		m    map[string]int
	}{{"channel", m.Channels}, {"type", m.Types}} {
		for _, k := range sortedKeys(b.m) {
			_ = cw.Write([]string{from, to, b.name, k, strconv.Itoa(b.m[k])})
		}
	}
	_ = cw.Write([]string{from, to, "self_help", "sessions", strconv.Itoa(m.SelfHelp.Sessions)})
	_ = cw.Write([]string{from, to, "self_help", "deflected", strconv.Itoa(m.SelfHelp.Deflected)})
	_ = cw.Write([]string{from, to, "self_help", "pending", strconv.Itoa(m.SelfHelp.Pending)})
	_ = cw.Write([]string{from, to, "self_help", "came_back", strconv.Itoa(m.SelfHelp.CameBack)})
	_ = cw.Write([]string{from, to, "first_contact_resolution", num(m.FirstContactResolution), ""})
	_ = cw.Write(nil)
	_ = cw.Write([]string{"from", "to", "group", "value", "tickets", "resolved", "first_contact", "escalated", "breached",
		"first_response_median_s", "time_to_resolve_median_s", "csat_answers", "csat_mean"})
	for _, b := range []struct {
		name string
		m    map[string]GroupMetrics
	}{{"channel", m.ByChannel}, {"type", m.ByType}} {
		for _, k := range sortedKeys(b.m) {
			g := b.m[k]
			_ = cw.Write([]string{from, to, b.name, cell(k), strconv.Itoa(g.Tickets), strconv.Itoa(g.Resolved), strconv.Itoa(g.FirstContact),
				strconv.Itoa(g.Escalated), strconv.Itoa(g.Breached), num(g.FirstResponse.Median), num(g.TimeToResolve.Median),
				strconv.Itoa(g.CSAT.Answers), num(g.CSAT.Mean)})
		}
	}
	_ = cw.Write(nil)
	_ = cw.Write([]string{"day", "filed", "resolved", "first_contact", "csat_answers", "csat_mean"})
	for _, d := range m.Days {
		_ = cw.Write([]string{d.Day, strconv.Itoa(d.Filed), strconv.Itoa(d.Resolved), strconv.Itoa(d.FirstContact),
			strconv.Itoa(d.CSAT.Answers), num(d.CSAT.Mean)})
	}
	cw.Flush()
	return cw.Error()
}

// cell keeps a spreadsheet from reading text as a formula (CSV
// injection): text starting with = + - @ or a tab or CR gets a leading '.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func stamp(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
