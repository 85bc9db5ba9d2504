package console

import (
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/tierline/tierline/shared/diag"
)

// funcs are the helpers every template may use; "ago", which reads the
// console's clock, is added per console (Console.agoFunc). None of them
// returns template.HTML: what they make is escaped like any other text.
var funcs = template.FuncMap{
	"detailValue": detailValue,
	"kindWords":   fieldKindWords,
	"sentence":    sentence,
	"when": func(t any) string {
		tt, ok := asTime(t)
		if !ok {
			return "—"
		}
		return tt.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"iso": func(t any) string {
		tt, ok := asTime(t)
		if !ok {
			return ""
		}
		return tt.UTC().Format(time.RFC3339Nano)
	},
	"bytes": func(n any) string {
		v := number(n)
		units := []string{"B", "KB", "MB", "GB", "TB", "PB"}
		i := 0
		for v >= 1024 && i < len(units)-1 {
			v /= 1024
			i++
		}
		if i == 0 {
			return fmt.Sprintf("%.0f %s", v, units[i])
		}
		return fmt.Sprintf("%.1f %s", v, units[i])
	},
	"pct": func(f float64) string {
		if math.IsNaN(f) {
			return "—"
		}
		return fmt.Sprintf("%.0f%%", f)
	},
	// span is a length of time given in seconds, as people say it:
	// "18m", "3h 5m", "12d".
	"span":       func(sec any) string { return span(time.Duration(number(sec) * float64(time.Second))) },
	"verifyRows": verifyRows,
	"mul100":     func(f float64) float64 { return 100 * f },
	"secs":       secondsSpan,
	"join":       strings.Join,
	"upper":      strings.ToUpper,
	"add":        func(a, b int) int { return a + b },
	"sub":        func(a, b int) int { return a - b },
}

// agoFunc is the template's {{ago .T}}: how long before the console's
// clock (Config.Now) t was, "never" for no time.
func (c *Console) agoFunc(t any) string {
	tt, ok := asTime(t)
	if !ok {
		return "never"
	}
	return ago(c.cfg.Now().Sub(tt))
}

func asTime(v any) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t, !t.IsZero()
	case *time.Time:
		if t == nil || t.IsZero() {
			return time.Time{}, false
		}
		return *t, true
	}
	return time.Time{}, false
}

func ago(d time.Duration) string {
	if d < 0 {
		return "in " + span(-d)
	}
	return span(d) + " ago"
}

// span says how long d is, rounded down to what matters: "42s", "18m",
// "3h 5m", "12d".
func span(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

// verifyRow is one check of a fix's verification: its status before the
// fix ran and after.
type verifyRow struct{ Name, Before, After string }

// verifyRows pairs a run's checks before and after by name, in the order
// they were checked; a check not run on one side says so ("not checked":
// the fix failed before the checks ran again, say), never an empty cell.
func verifyRows(before, after []diag.CheckResult) []verifyRow {
	var rows []verifyRow
	at := map[string]int{}
	row := func(name string) *verifyRow {
		i, ok := at[name]
		if !ok {
			i = len(rows)
			at[name] = i
			rows = append(rows, verifyRow{Name: name, Before: notChecked, After: notChecked})
		}
		return &rows[i]
	}
	for _, c := range before {
		row(c.Name).Before = string(c.Status)
	}
	for _, c := range after {
		row(c.Name).After = string(c.Status)
	}
	return rows
}

const notChecked = "not checked"

// secondsSpan says a duration given in seconds (a median) as a length of
// time; "—" for none.
func secondsSpan(s float64) string {
	if s <= 0 {
		return "—"
	}
	return span(time.Duration(s * float64(time.Second)))
}

// number is a template's integer or float as a float64 (0 for others).
func number(n any) float64 {
	switch x := n.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case float64:
		return x
	}
	return 0
}

// sentence ends s as a sentence with one full stop: none is added when s
// already ends with one, or with "!", "?" or "…" (before any closing
// quote or bracket), so a resolution note "Rebooted." reads "Rebooted."
// and not "Rebooted..".
func sentence(s string) string {
	s = strings.TrimRightFunc(s, unicode.IsSpace)
	if s == "" {
		return s
	}
	end := strings.TrimRight(s, "\"')]»”’")
	if strings.HasSuffix(end, ".") || strings.HasSuffix(end, "!") || strings.HasSuffix(end, "?") || strings.HasSuffix(end, "…") {
		return s
	}
	return s + "."
}

// detailValue writes an audit detail's value as a person reads it: text as
// it is, whole numbers without a fraction, lists and objects as compact
// JSON (never Go's map[...] syntax).
func detailValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int, int64, uint64:
		return fmt.Sprint(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
