package collect

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tierline/tierline/shared/diag"
)

func ptr(f float64) *float64 { return &f }

func TestReadBattery(t *testing.T) {
	tests := []struct {
		root   string
		want   *diag.Battery
		noData bool
	}{
		{root: t.TempDir(), noData: true},        // container: no /sys/class/power_supply
		{root: "testdata/desktop", noData: true}, // AC only
		{root: "testdata/worn", want: &diag.Battery{ChargePct: 81, HealthPct: ptr(40), OnAC: false, State: "discharging"}},
		{root: "testdata/healthy", want: &diag.Battery{ChargePct: 100, HealthPct: ptr(95.24), OnAC: true, State: "full"}},
	}
	for _, tt := range tests {
		t.Run(tt.root, func(t *testing.T) {
			got, err := ReadBattery(tt.root)
			if tt.noData {
				if !errors.Is(err, ErrNoData) {
					t.Fatalf("err = %v, want ErrNoData", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("battery (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadTemperatures(t *testing.T) {
	got, err := ReadTemperatures("testdata/sensors")
	if err != nil {
		t.Fatal(err)
	}
	want := []diag.Temperature{
		{Sensor: "coretemp/Package id 0", Celsius: 45, High: 80, Crit: 100},
		{Sensor: "coretemp/temp2", Celsius: 43.5},
		{Sensor: "nvme/Composite", Celsius: 38.85},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hwmon (-want +got):\n%s", diff)
	}
	got, err = ReadTemperatures("testdata/thermal")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]diag.Temperature{{Sensor: "acpitz", Celsius: 27.8}}, got); diff != "" {
		t.Errorf("thermal zones (-want +got):\n%s", diff)
	}
	if _, err := ReadTemperatures(t.TempDir()); !errors.Is(err, ErrNoData) {
		t.Errorf("no sensors: err = %v, want ErrNoData", err)
	}
}
