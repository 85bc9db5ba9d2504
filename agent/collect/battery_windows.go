package collect

import (
	"context"
	"fmt"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/tierline/tierline/agent/execx"
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

// ReadBattery reads charge and AC state from GetSystemPowerStatus (cheap,
// every sample). Wear (full over design capacity) comes from WMI through
// PowerShell, which costs a process start: it is refreshed in the
// background at most once an hour and is unknown (HealthPct nil) until the
// first refresh has finished.
func ReadBattery(_ string) (*diag.Battery, error) {
	var st systemPowerStatus
	if r, _, err := procGetSystemPowerStatus.Call(uintptr(unsafe.Pointer(&st))); r == 0 {
		return nil, fmt.Errorf("GetSystemPowerStatus: %w", err)
	}
	b, err := parsePowerStatus(st)
	if err == nil {
		b.HealthPct = batteryWear()
	}
	return b, err
}

// wearEvery is how often battery wear is read again.
const wearEvery = time.Hour

var wear struct {
	mu      sync.Mutex
	pct     float64
	known   bool
	at      time.Time
	running bool
}

// batteryWear returns the last wear reading and starts a refresh when it
// is due.
func batteryWear() *float64 {
	wear.mu.Lock()
	defer wear.mu.Unlock()
	if !wear.running && (wear.at.IsZero() || time.Since(wear.at) >= wearEvery) {
		wear.running = true
		go refreshWear()
	}
	if !wear.known {
		return nil
	}
	v := wear.pct
	return &v
}

func refreshWear() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := execx.Run(ctx, execx.Cmd{
		Argv:    []string{"powershell", "-NoProfile", "-NonInteractive", "-Command", BatteryWearScript},
		Timeout: 45 * time.Second, MaxOutput: 64 << 10,
	})
	var pct float64
	known := false
	if err == nil {
		pct, known, _ = ParseBatteryWear(res.Output)
	}
	wear.mu.Lock()
	defer wear.mu.Unlock()
	wear.pct, wear.known, wear.at, wear.running = pct, known, time.Now(), false
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
