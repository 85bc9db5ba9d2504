package collect

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseBatteryWear(t *testing.T) {
	tests := []struct {
		file string
		pct  float64
		ok   bool
	}{
		{"windows/battery-wear-laptop", 73.36, true},
		{"windows/battery-wear-two", 89.58, true}, // matched by instance, not by order
		{"windows/battery-wear-desktop", 0, false},
		{"windows/battery-wear-no-design", 0, false},
	}
	for _, tt := range tests {
		b, err := os.ReadFile(filepath.Join("testdata", tt.file))
		if err != nil {
			t.Fatal(err)
		}
		pct, ok, err := ParseBatteryWear(string(b))
		if err != nil || ok != tt.ok || pct != tt.pct {
			t.Errorf("%s: %v %v %v, want %v %v", tt.file, pct, ok, err, tt.pct, tt.ok)
		}
	}
	if _, ok, err := ParseBatteryWear(""); ok || err != nil {
		t.Errorf("no output: %v %v", ok, err)
	}
	if _, _, err := ParseBatteryWear("Get-CimInstance : Access denied"); err == nil {
		t.Error("an error message parsed as JSON")
	}
}

func FuzzParseBatteryWear(f *testing.F) {
	files, _ := filepath.Glob("testdata/windows/*")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, s string) {
		if pct, ok, err := ParseBatteryWear(s); ok && (err != nil || pct <= 0 || pct != pct) {
			t.Errorf("%v %v %v", pct, ok, err)
		}
	})
}
