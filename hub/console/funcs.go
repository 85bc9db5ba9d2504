package console

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"
)

// funcs are the helpers every template may use; "ago", which reads the
// console's clock, is added per console (Console.agoFunc). None of them
// returns template.HTML: what they make is escaped like any other text.
var funcs = template.FuncMap{
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
		var v float64
		switch x := n.(type) {
		case int:
			v = float64(x)
		case int64:
			v = float64(x)
		case uint64:
			v = float64(x)
		case float64:
			v = x
		}
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
	"join":  strings.Join,
	"upper": strings.ToUpper,
	"add":   func(a, b int) int { return a + b },
	"sub":   func(a, b int) int { return a - b },
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
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		s = fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		s = fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%dh %dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	default:
		s = fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}
