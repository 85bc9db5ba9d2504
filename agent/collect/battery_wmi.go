package collect

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

// BatteryWearScript is the PowerShell the Windows agent runs (hourly, not
// per sample) for battery wear: WMI's BatteryStaticData (design capacity)
// and BatteryFullChargedCapacity, in root/wmi, as one JSON document.
const BatteryWearScript = `$s=@(Get-CimInstance -Namespace root/wmi -ClassName BatteryStaticData -ErrorAction SilentlyContinue | Select-Object InstanceName,DesignedCapacity);` +
	`$f=@(Get-CimInstance -Namespace root/wmi -ClassName BatteryFullChargedCapacity -ErrorAction SilentlyContinue | Select-Object InstanceName,FullChargedCapacity);` +
	`ConvertTo-Json -Compress -InputObject @{static=$s;full=$f}`

// ParseBatteryWear reads BatteryWearScript's output and returns the sum
// of full-charge capacities over the sum of design capacities, in percent,
// over the batteries that report both. ok is false when no battery does.
func ParseBatteryWear(out string) (pct float64, ok bool, err error) {
	var doc struct {
		Static []struct {
			InstanceName     string
			DesignedCapacity float64
		} `json:"static"`
		Full []struct {
			InstanceName        string
			FullChargedCapacity float64
		} `json:"full"`
	}
	out = strings.TrimSpace(strings.TrimPrefix(out, "\ufeff"))
	if out == "" {
		return 0, false, nil
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		return 0, false, fmt.Errorf("parse battery wear: %w", err)
	}
	design := map[string]float64{}
	for _, s := range doc.Static {
		if s.DesignedCapacity > 0 {
			design[strings.ToLower(s.InstanceName)] = s.DesignedCapacity
		}
	}
	var sumFull, sumDesign float64
	for _, f := range doc.Full {
		d, found := design[strings.ToLower(f.InstanceName)]
		if !found || f.FullChargedCapacity <= 0 {
			continue
		}
		sumFull += f.FullChargedCapacity
		sumDesign += d
	}
	h := sumFull / sumDesign * 100
	if sumDesign == 0 || math.IsNaN(h) || math.IsInf(h, 0) || h > 1000 {
		return 0, false, nil
	}
	return round2(h), true, nil
}
