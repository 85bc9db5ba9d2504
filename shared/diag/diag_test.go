package diag

import (
	"encoding/json"
	"testing"
)

func TestWorst(t *testing.T) {
	tests := []struct {
		in   []Status
		want Status
	}{
		{nil, StatusOK},
		{[]Status{StatusOK, StatusUnknown}, StatusUnknown},
		{[]Status{StatusWarning, StatusUnknown, StatusOK}, StatusWarning},
		{[]Status{StatusOK, StatusFailing, StatusWarning}, StatusFailing},
	}
	for _, tt := range tests {
		var rs []CheckResult
		for _, s := range tt.in {
			rs = append(rs, CheckResult{Status: s})
		}
		if got := Worst(rs); got != tt.want {
			t.Errorf("Worst(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	s := Sample{
		CPU:         CPU{TotalPct: 12, Load1: 0.5},
		Memory:      Memory{UsedPct: 40},
		Filesystems: []Filesystem{{Mount: "/", UsedPct: 30}, {Mount: "/home", UsedPct: 91}},
		Network:     []NetInterface{{RxBps: 100, TxBps: 10}, {RxBps: 50, TxBps: 5}},
	}
	want := Summary{CPUPct: 12, MemPct: 40, DiskPct: 91, Load1: 0.5, RxBps: 150, TxBps: 15}
	if got := s.Summarize(); got != want {
		t.Errorf("Summarize = %+v, want %+v", got, want)
	}
}

// TestPointJSON keeps the history point flat on the wire: the summary's
// fields sit beside the time, not under a nested key.
func TestPointJSON(t *testing.T) {
	b, err := json.Marshal(Point{Summary: Summary{CPUPct: 1}, N: 6, Max: &Summary{CPUPct: 2}})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	if m["cpu_pct"] != 1.0 || m["n"] != 6.0 || m["max"] == nil {
		t.Errorf("point JSON %s", b)
	}
}
