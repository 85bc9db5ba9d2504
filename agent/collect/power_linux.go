package collect

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/tierline/tierline/shared/diag"
)

// readSysString reads a one-line sysfs attribute.
func readSysString(path string) (string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

func readSysFloat(path string) (float64, bool) {
	s, ok := readSysString(path)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// ReadBattery reads the system battery and AC state from
// <root>/sys/class/power_supply. It returns an ErrNoData error when there is
// no system battery (desktops, servers, VMs, containers). Peripheral
// batteries (mice, keyboards: scope "Device") are ignored.
func ReadBattery(root string) (*diag.Battery, error) {
	dir := filepath.Join(root, "sys/class/power_supply")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, noData("no power supply information (%s not readable)", "/sys/class/power_supply")
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	var bat *diag.Battery
	onAC, sawAC := false, false
	var full, design float64
	for _, name := range names {
		p := filepath.Join(dir, name)
		typ, _ := readSysString(filepath.Join(p, "type"))
		scope, _ := readSysString(filepath.Join(p, "scope"))
		switch typ {
		case "Mains", "USB", "USB_C", "USB_PD":
			if online, ok := readSysFloat(filepath.Join(p, "online")); ok {
				sawAC = true
				onAC = onAC || online == 1
			}
		case "Battery":
			if strings.EqualFold(scope, "Device") || bat != nil {
				continue
			}
			b := &diag.Battery{State: "unknown"}
			if c, ok := readSysFloat(filepath.Join(p, "capacity")); ok {
				b.ChargePct = c
			} else if now, ok := firstFloat(p, "energy_now", "charge_now"); ok {
				if f, ok := firstFloat(p, "energy_full", "charge_full"); ok && f > 0 {
					b.ChargePct = round2(now / f * 100)
				}
			}
			if st, ok := readSysString(filepath.Join(p, "status")); ok {
				b.State = batteryState(st)
			}
			full, _ = firstFloat(p, "energy_full", "charge_full")
			design, _ = firstFloat(p, "energy_full_design", "charge_full_design")
			if full > 0 && design > 0 {
				h := round2(full / design * 100)
				b.HealthPct = &h
			}
			bat = b
		}
	}
	if bat == nil {
		return nil, noData("no battery")
	}
	if sawAC {
		bat.OnAC = onAC
	} else {
		bat.OnAC = bat.State == "charging" || bat.State == "full"
	}
	return bat, nil
}

func firstFloat(dir string, names ...string) (float64, bool) {
	for _, n := range names {
		if f, ok := readSysFloat(filepath.Join(dir, n)); ok {
			return f, true
		}
	}
	return 0, false
}

func batteryState(s string) string {
	switch strings.ToLower(s) {
	case "charging":
		return "charging"
	case "discharging":
		return "discharging"
	case "full":
		return "full"
	case "not charging":
		return "not charging"
	}
	return "unknown"
}

// ReadTemperatures reads hwmon sensors under <root>/sys/class/hwmon and,
// when there are none, ACPI thermal zones under /sys/class/thermal.
func ReadTemperatures(root string) ([]diag.Temperature, error) {
	var out []diag.Temperature
	hw := filepath.Join(root, "sys/class/hwmon")
	chips, _ := os.ReadDir(hw)
	for _, chip := range chips {
		dir := filepath.Join(hw, chip.Name())
		chipName, ok := readSysString(filepath.Join(dir, "name"))
		if !ok {
			chipName = chip.Name()
		}
		inputs, _ := filepath.Glob(filepath.Join(dir, "temp*_input"))
		sort.Strings(inputs)
		for _, in := range inputs {
			v, ok := readSysFloat(in)
			if !ok {
				continue
			}
			prefix := strings.TrimSuffix(in, "_input")
			sensor := chipName + "/" + filepath.Base(prefix)
			if label, ok := readSysString(prefix + "_label"); ok && label != "" {
				sensor = chipName + "/" + label
			}
			t := diag.Temperature{Sensor: sensor, Celsius: v / 1000}
			if h, ok := readSysFloat(prefix + "_max"); ok {
				t.High = h / 1000
			}
			if c, ok := readSysFloat(prefix + "_crit"); ok {
				t.Crit = c / 1000
			}
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		zones, _ := filepath.Glob(filepath.Join(root, "sys/class/thermal/thermal_zone*"))
		sort.Strings(zones)
		for _, z := range zones {
			v, ok := readSysFloat(filepath.Join(z, "temp"))
			if !ok {
				continue
			}
			name, ok := readSysString(filepath.Join(z, "type"))
			if !ok {
				name = filepath.Base(z)
			}
			out = append(out, diag.Temperature{Sensor: name, Celsius: v / 1000})
		}
	}
	if len(out) == 0 {
		return nil, noData("no temperature sensors exposed")
	}
	return out, nil
}
