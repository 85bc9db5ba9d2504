package collect

import (
	"errors"
	"testing"
)

func TestParsePowerStatus(t *testing.T) {
	if _, err := parsePowerStatus(systemPowerStatus{BatteryFlag: 128}); !errors.Is(err, ErrNoData) {
		t.Errorf("desktop: err = %v", err)
	}
	b, err := parsePowerStatus(systemPowerStatus{ACLineStatus: 1, BatteryFlag: 8, BatteryLifePercent: 64})
	if err != nil || !b.OnAC || b.State != "charging" || b.ChargePct != 64 || b.HealthPct != nil {
		t.Errorf("charging laptop: %+v %v", b, err)
	}
}
