package gateway

import (
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/shared/ratelimit"
	"github.com/tierline/tierline/shared/wire"
)

func TestParseBudgets(t *testing.T) {
	b, err := ParseBudgets("")
	if err != nil || len(b) != len(DefaultBudgets) || b[wire.TypeHelpRequest] != DefaultBudgets[wire.TypeHelpRequest] {
		t.Fatalf("defaults: %v %v", b, err)
	}
	b, err = ParseBudgets(" help_request=20/1h , health=off")
	if err != nil {
		t.Fatal(err)
	}
	if b[wire.TypeHelpRequest] != (ratelimit.Limit{N: 20, Per: time.Hour}) || !b[wire.TypeHealth].Off() ||
		b[wire.TypeUserReply] != DefaultBudgets[wire.TypeUserReply] {
		t.Fatalf("changed: %v", b)
	}
	if DefaultBudgets[wire.TypeHealth].Off() {
		t.Fatal("ParseBudgets changed the defaults")
	}
	for in, want := range map[string]string{
		"telemetry=5/1h":    "TYPE one of",
		"help_request":      "TYPE=COUNT/DURATION",
		"help_request=5":    "COUNT/DURATION",
		"help_request=x/1h": "whole number",
	} {
		if _, err := ParseBudgets(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseBudgets(%q) = %v, want an error saying %q", in, err, want)
		}
	}
	if d := DescribeBudgets(); !strings.Contains(d, "help_request=10/1h0m0s") {
		t.Errorf("DescribeBudgets %q", d)
	}
}

// BenchmarkBudgetAllow is the cost the hub adds to each budgeted message:
// one bucket lookup and update among 50,000 devices.
func BenchmarkBudgetAllow(b *testing.B) {
	k := ratelimit.NewKeyed(DefaultBudgets[wire.TypeHealth])
	ids := make([]string, 50000)
	for i := range ids {
		ids[i] = wire.NewID()
	}
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		k.Allow(ids[i%len(ids)], now.Add(time.Duration(i)*time.Millisecond))
	}
}
