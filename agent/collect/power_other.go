//go:build !linux

package collect

import (
	"context"

	"github.com/shirou/gopsutil/v4/sensors"

	"github.com/tierline/tierline/shared/diag"
)

// ReadTemperatures reads the OS's sensors through gopsutil (WMI thermal
// zones on Windows, SMC on macOS). root is unused outside Linux.
func ReadTemperatures(root string) ([]diag.Temperature, error) {
	ts, err := sensors.TemperaturesWithContext(context.Background())
	var out []diag.Temperature
	for _, t := range ts {
		out = append(out, diag.Temperature{Sensor: t.SensorKey, Celsius: t.Temperature, High: t.High, Crit: t.Critical})
	}
	if len(out) == 0 {
		if err != nil {
			return nil, noData("temperature sensors not readable: %v", err)
		}
		return nil, noData("no temperature sensors exposed")
	}
	return out, nil
}
