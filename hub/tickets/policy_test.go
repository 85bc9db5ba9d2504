package tickets_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tierline/tierline/hub/cli"
	"github.com/tierline/tierline/hub/tickets"
)

// The default policy is the same as the serve flag's default.
func TestDefaultLimitsMatchServeFlag(t *testing.T) {
	flag, err := cli.ParseTierLimits("1=15m,2=4h,3=2d")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(flag, tickets.DefaultLimits()); diff != "" {
		t.Errorf("default limits differ from --tier-limits default (-flag +default):\n%s", diff)
	}
	if err := (tickets.Policy{Limits: flag}).Validate(); err != nil {
		t.Error(err)
	}
	if err := (tickets.Policy{Limits: map[int]time.Duration{1: 0}}).Validate(); err == nil {
		t.Error("a zero limit was accepted")
	}
}

func TestPriorityMatrix(t *testing.T) {
	want := [3][3]int{{1, 2, 3}, {2, 3, 4}, {3, 4, 5}}
	for i := 1; i <= 3; i++ {
		for u := 1; u <= 3; u++ {
			if got := tickets.Priority(i, u); got != want[i-1][u-1] {
				t.Errorf("impact %d urgency %d: priority %d, want %d", i, u, got, want[i-1][u-1])
			}
		}
	}
	if tickets.Priority(0, 9) != 3 {
		t.Error("out-of-range impact and urgency are not clamped")
	}
}

func TestParseBusinessHours(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	for _, tt := range []struct {
		in   string
		want *tickets.BusinessHours
	}{
		{"mon-fri 09:00-17:00", &tickets.BusinessHours{Days: []time.Weekday{1, 2, 3, 4, 5}, From: 9 * time.Hour, To: 17 * time.Hour, Location: time.UTC}},
		{"sat,sun 10:30-14:00 Europe/Berlin", &tickets.BusinessHours{Days: []time.Weekday{6, 0}, From: 10*time.Hour + 30*time.Minute, To: 14 * time.Hour, Location: berlin}},
		{"fri-mon 00:00-24:00", &tickets.BusinessHours{Days: []time.Weekday{5, 6, 0, 1}, To: 24 * time.Hour, Location: time.UTC}},
		{"mon-fri", nil},
		{"mon-fry 09:00-17:00", nil},
		{"mon 17:00-09:00", nil},
		{"mon 9-17", nil},
		{"mon 09:00-17:00 Mars/Olympus", nil},
	} {
		got, err := tickets.ParseBusinessHours(tt.in)
		if tt.want == nil {
			if err == nil {
				t.Errorf("%q: accepted", tt.in)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b *time.Location) bool { return a.String() == b.String() })); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestBusinessClock(t *testing.T) {
	hours, err := tickets.ParseBusinessHours("mon-fri 09:00-17:00")
	if err != nil {
		t.Fatal(err)
	}
	biz := tickets.Policy{Hours: hours}
	wall := tickets.Policy{}
	// 2026-03-06 is a Friday.
	fri := func(h, m int) time.Time { return time.Date(2026, 3, 6, h, m, 0, 0, time.UTC) }
	for _, tt := range []struct {
		name     string
		p        tickets.Policy
		from, to time.Time
		want     time.Duration
	}{
		{"wall clock", wall, fri(16, 0), fri(18, 0), 2 * time.Hour},
		{"inside hours", biz, fri(10, 0), fri(11, 30), 90 * time.Minute},
		{"after hours do not count", biz, fri(16, 0), fri(23, 0), time.Hour},
		{"weekend does not count", biz, fri(16, 50), fri(16, 50).AddDate(0, 0, 3), 8 * time.Hour},
		{"before hours", biz, fri(6, 0), fri(9, 15), 15 * time.Minute},
		{"backwards is zero", biz, fri(12, 0), fri(11, 0), 0},
	} {
		if got := tt.p.Elapsed(tt.from, tt.to); got != tt.want {
			t.Errorf("%s: elapsed %s, want %s", tt.name, got, tt.want)
		}
	}
	for _, tt := range []struct {
		name string
		p    tickets.Policy
		from time.Time
		d    time.Duration
		want time.Time
	}{
		{"wall clock", wall, fri(16, 55), 15 * time.Minute, fri(17, 10)},
		{"same day", biz, fri(9, 0), 15 * time.Minute, fri(9, 15)},
		{"over the weekend", biz, fri(16, 55), 15 * time.Minute, time.Date(2026, 3, 9, 9, 10, 0, 0, time.UTC)},
		{"filed at night", biz, fri(22, 0), time.Hour, time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC)},
		{"exactly the rest of the day", biz, fri(16, 0), time.Hour, fri(17, 0)},
		{"two business days", biz, fri(9, 0), 16 * time.Hour, time.Date(2026, 3, 9, 17, 0, 0, 0, time.UTC)},
	} {
		got := tt.p.Add(tt.from, tt.d)
		if !got.Equal(tt.want) {
			t.Errorf("%s: %s + %s = %s, want %s", tt.name, tt.from, tt.d, got, tt.want)
		}
		if back := tt.p.Elapsed(tt.from, got); back != tt.d {
			t.Errorf("%s: Elapsed(from, Add(from, d)) = %s, want %s", tt.name, back, tt.d)
		}
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "", 8 * time.Hour: "8h", 90 * time.Minute: "1h30m", 45 * time.Second: "45s",
		30 * time.Minute: "30m", time.Hour + time.Second: "1h0m1s"} {
		if got := tickets.ShortDuration(d); got != want {
			t.Errorf("ShortDuration(%s) = %q, want %q", d, got, want)
		}
		if want != "" {
			if back, err := time.ParseDuration(want); err != nil || back != d {
				t.Errorf("%q does not parse back to %s", want, d)
			}
		}
	}
}

// Lengths of time read as people write them and written back the same way.
func TestSpans(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"15 min": 15 * time.Minute, "15m": 15 * time.Minute, "4 hours": 4 * time.Hour, "2 days": 48 * time.Hour,
		"2d": 48 * time.Hour, "1 h 30 min": 90 * time.Minute, "1h30m": 90 * time.Minute, "90s": 90 * time.Second,
		"1.5 h": 90 * time.Minute, " 3 Days ": 72 * time.Hour, "1 w": 7 * 24 * time.Hour, "1 h, 5 min": 65 * time.Minute,
	} {
		if got, err := tickets.ParseSpan(in); err != nil || got != want {
			t.Errorf("ParseSpan(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "soon", "15", "min", "15 fortnights", "1 h 30"} {
		if d, err := tickets.ParseSpan(bad); err == nil {
			t.Errorf("ParseSpan(%q) = %s, want an error", bad, d)
		}
	}
	for d, want := range map[time.Duration]string{15 * time.Minute: "15 min", 48 * time.Hour: "2 d", 90 * time.Minute: "1 h 30 min",
		90 * time.Second: "1 min 30 s", 26 * time.Hour: "1 d 2 h", 0: ""} {
		if got := tickets.HumanSpan(d); got != want {
			t.Errorf("HumanSpan(%s) = %q, want %q", d, got, want)
		}
		if d > 0 {
			if back, err := tickets.ParseSpan(want); err != nil || back != d {
				t.Errorf("ParseSpan(HumanSpan(%s)) = %s, %v", d, back, err)
			}
		}
	}
}
