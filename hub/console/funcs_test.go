package console

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/diag"
)

// {{ago}} counts from the console's clock, as the rest of the page does,
// not from the machine's.
func TestAgoUsesConsoleClock(t *testing.T) {
	tc := newTestConsole(t)
	tk := tc.fileTicket(t, "pc-1", "printer jammed")
	tc.clock.Add(50 * time.Hour)
	cl := tc.login(t, store.RoleTier1)
	_, page := tc.get(t, cl, "/tickets/"+tk.ID)
	if !strings.Contains(page, "filed 2d ago") {
		t.Fatalf("ticket filed 50h before the console's clock does not say \"filed 2d ago\":\n%s", page)
	}
}

// A fix that failed before the checks ran again shows "not checked", not
// an empty cell; checks only run after are listed too.
func TestVerifyRows(t *testing.T) {
	got := verifyRows(
		[]diag.CheckResult{{Name: "printer-stopped", Status: diag.StatusFailing}, {Name: "print-jobs-stuck", Status: diag.StatusWarning}},
		[]diag.CheckResult{{Name: "print-jobs-stuck", Status: diag.StatusOK}, {Name: "service-stopped", Status: diag.StatusOK}})
	want := []verifyRow{{"printer-stopped", "failing", "not checked"}, {"print-jobs-stuck", "warning", "ok"}, {"service-stopped", "not checked", "ok"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("verifyRows: %v, want %v", got, want)
	}
}

// Lengths of time and who did what read as people say them.
func TestWords(t *testing.T) {
	for sec, want := range map[uint64]string{42: "42s", 1392: "23m", 3*3600 + 5*60: "3h 5m", 12 * 86400: "12d"} {
		if got := funcs["span"].(func(any) string)(sec); got != want {
			t.Errorf("span(%d s) = %q, want %q", sec, got, want)
		}
	}
	dev := store.Device{ID: "abc123", Hostname: "pc-17"}
	for actor, want := range map[string]string{"device:abc123": "pc-17 (the computer)", "device:other": "the computer",
		"user:maria": "maria (user)", "sla": "SLA clock", "ana": "ana"} {
		if got := actorName(actor, dev); got != want {
			t.Errorf("actorName(%q) = %q, want %q", actor, got, want)
		}
	}
}

// A bar chart leaves room after its longest bar for that bar's value, so
// "1 failing, 0 warning" is not cut off at the chart's edge (on phones it
// was).
func TestBarChartValuesFit(t *testing.T) {
	c := newBarChart("Failing health checks", []string{"oom-kills", "disk-almost-full"}, []string{"", ""},
		[]string{"1 failing, 0 warning", "12 failing, 103 warning"}, []string{"", ""}, []float64{1, 12}, []float64{0, 103}, "b-fail", "b-warn")
	for _, b := range c.Bars {
		end := float64(c.Label) + b.AW + b.BW + 6 + 7.5*float64(len(b.Value))
		if end > float64(c.Width) {
			t.Errorf("%s: the value %q ends at %.0f px, past the chart's %d", b.Label, b.Value, end, c.Width)
		}
	}
}

// Audit details read as text and JSON, not Go's map syntax.
func TestDetailValue(t *testing.T) {
	for _, c := range []struct {
		in   any
		want string
	}{
		{"tier_limits", "tier_limits"}, {float64(5), "5"}, {1.5, "1.5"}, {true, "true"}, {nil, ""},
		{map[string]any{"admin": true, "tier3": false}, `{"admin":true,"tier3":false}`},
		{[]any{"staff", "helpdesk"}, `["staff","helpdesk"]`},
	} {
		if got := detailValue(c.in); got != c.want {
			t.Errorf("detailValue(%#v) = %q, want %q", c.in, got, c.want)
		}
	}
}
