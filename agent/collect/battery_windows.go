package collect

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/tierline/tierline/shared/diag"
)

var procGetSystemPowerStatus = windows.NewLazySystemDLL("kernel32.dll").NewProc("GetSystemPowerStatus")

// systemPowerStatus is SYSTEM_POWER_STATUS.
type systemPowerStatus struct {
	ACLineStatus        byte
	BatteryFlag         byte
	BatteryLifePercent  byte
	SystemStatusFlag    byte
	BatteryLifeTime     uint32
	BatteryFullLifeTime uint32
}

// ReadBattery reads charge and AC state from GetSystemPowerStatus. Wear
// (full over design capacity) needs WMI's BatteryFullChargedCapacity and
// BatteryStaticData and is left unknown (HealthPct nil).
func ReadBattery(_ string) (*diag.Battery, error) {
	var st systemPowerStatus
	if r, _, err := procGetSystemPowerStatus.Call(uintptr(unsafe.Pointer(&st))); r == 0 {
		return nil, fmt.Errorf("GetSystemPowerStatus: %w", err)
	}
	return parsePowerStatus(st)
}

func parsePowerStatus(st systemPowerStatus) (*diag.Battery, error) {
	if st.BatteryFlag == 128 || st.BatteryFlag == 255 {
		return nil, noData("no battery")
	}
	b := &diag.Battery{OnAC: st.ACLineStatus == 1, State: "discharging"}
	if st.BatteryLifePercent <= 100 {
		b.ChargePct = float64(st.BatteryLifePercent)
	}
	switch {
	case st.BatteryFlag&8 != 0:
		b.State = "charging"
	case b.OnAC && b.ChargePct >= 100:
		b.State = "full"
	case b.OnAC:
		b.State = "not charging"
	}
	return b, nil
}
