package inventory

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/jaypipes/ghw"

	"github.com/tierline/tierline/shared/diag"
)

// ghwOpts silences ghw's warnings (they would go to stderr of a service)
// and keeps it from running external tools.
func ghwOpts() []any {
	return []any{ghw.WithDisableWarnings(), ghw.WithDisableTools()}
}

func fillCPU(_ context.Context, _ *Config, inv *diag.Inventory) error {
	info, err := ghw.CPU(ghwOpts()...)
	if err != nil {
		return fmt.Errorf("read cpu: %w", err)
	}
	ci := &diag.CPUInfo{Packages: len(info.Processors), Cores: int(info.TotalCores), Threads: int(info.TotalHardwareThreads)}
	if len(info.Processors) > 0 {
		ci.Model, ci.Vendor = info.Processors[0].Model, info.Processors[0].Vendor
	}
	inv.Hardware.CPU = ci
	return nil
}

func fillMemory(_ context.Context, _ *Config, inv *diag.Inventory) error {
	info, err := ghw.Memory(ghwOpts()...)
	if err != nil {
		return fmt.Errorf("read memory: %w", err)
	}
	if info.TotalPhysicalBytes > 0 {
		inv.Hardware.MemoryBytes = uint64(info.TotalPhysicalBytes)
	} else if info.TotalUsableBytes > 0 {
		inv.Hardware.MemoryBytes = uint64(info.TotalUsableBytes)
	}
	for _, m := range info.Modules {
		if m == nil {
			continue
		}
		inv.Hardware.MemoryMods = append(inv.Hardware.MemoryMods, diag.MemoryModule{
			Label: firstNonEmpty(m.Label, m.Location), Size: uint64(max(m.SizeBytes, 0)), Vendor: m.Vendor, Serial: m.SerialNumber,
		})
	}
	return nil
}

func fillDisks(_ context.Context, _ *Config, inv *diag.Inventory) error {
	info, err := ghw.Block(ghwOpts()...)
	if err != nil {
		return fmt.Errorf("read block devices: %w", err)
	}
	for _, d := range info.Disks {
		// Loop, RAM and empty (unconfigured zram) devices are not disks.
		if d == nil || d.SizeBytes == 0 || strings.HasPrefix(d.Name, "loop") || strings.HasPrefix(d.Name, "ram") {
			continue
		}
		bd := diag.BlockDevice{
			Name: d.Name, Model: clean(d.Model), Vendor: clean(d.Vendor), Serial: clean(d.SerialNumber),
			SizeBytes: d.SizeBytes, Type: strings.ToLower(d.DriveType.String()),
		}
		if d.StorageController.String() == "virtio" {
			bd.Type = "virtual"
		}
		for _, p := range d.Partitions {
			if p == nil {
				continue
			}
			bd.Partitions = append(bd.Partitions, diag.Partition{Name: p.Name, SizeBytes: p.SizeBytes, Mount: p.MountPoint, FSType: p.Type})
		}
		inv.Hardware.Disks = append(inv.Hardware.Disks, bd)
	}
	if len(inv.Hardware.Disks) == 0 {
		return noData("no block devices visible")
	}
	return nil
}

func fillGPU(_ context.Context, cfg *Config, inv *diag.Inventory) error {
	// ghw parses the whole PCI ID database (most of an inventory's CPU)
	// before it looks for cards; on Linux look first.
	if runtime.GOOS == "linux" {
		if cards, _ := filepath.Glob(cfg.path("/sys/class/drm/card[0-9]*")); len(cards) == 0 {
			return noData("no graphics adapter")
		}
	}
	info, err := ghw.GPU(ghwOpts()...)
	if err != nil {
		return noData("graphics adapters not readable: %v", err)
	}
	for _, c := range info.GraphicsCards {
		if c == nil {
			continue
		}
		g := diag.GPU{}
		if c.DeviceInfo != nil {
			if c.DeviceInfo.Vendor != nil {
				g.Vendor = c.DeviceInfo.Vendor.Name
			}
			if c.DeviceInfo.Product != nil {
				g.Model = c.DeviceInfo.Product.Name
			}
		}
		if g.Model == "" {
			g.Model = c.Address
		}
		inv.Hardware.GPUs = append(inv.Hardware.GPUs, g)
	}
	if len(inv.Hardware.GPUs) == 0 {
		return noData("no graphics adapter")
	}
	return nil
}

func fillNICs(_ context.Context, _ *Config, inv *diag.Inventory) error {
	info, err := ghw.Network(ghwOpts()...)
	if err != nil {
		return fmt.Errorf("read network adapters: %w", err)
	}
	for _, n := range info.NICs {
		if n == nil || n.Name == "lo" {
			continue
		}
		inv.Hardware.NICs = append(inv.Hardware.NICs, diag.NIC{Name: n.Name, MAC: n.MACAddress, Virtual: n.IsVirtual, Speed: clean(strings.TrimPrefix(n.Speed, "-1"))})
	}
	return nil
}

// fillFirmware reads BIOS, baseboard and product (DMI/SMBIOS). Containers
// and some VMs expose none of it.
func fillFirmware(_ context.Context, _ *Config, inv *diag.Inventory) error {
	var missing []string
	if b, err := ghw.BIOS(ghwOpts()...); err == nil && (clean(b.Vendor) != "" || clean(b.Version) != "") {
		inv.Hardware.BIOS = &diag.BIOS{Vendor: clean(b.Vendor), Version: clean(b.Version), Date: clean(b.Date)}
	} else {
		missing = append(missing, "bios")
	}
	if b, err := ghw.Baseboard(ghwOpts()...); err == nil && (clean(b.Vendor) != "" || clean(b.Product) != "") {
		inv.Hardware.Baseboard = &diag.Baseboard{Vendor: clean(b.Vendor), Product: clean(b.Product), Serial: clean(b.SerialNumber)}
	} else {
		missing = append(missing, "baseboard")
	}
	if p, err := ghw.Product(ghwOpts()...); err == nil && (clean(p.Vendor) != "" || clean(p.Name) != "") {
		inv.Hardware.Product = &diag.Product{Vendor: clean(p.Vendor), Name: clean(p.Name), Serial: clean(p.SerialNumber), UUID: clean(p.UUID)}
	} else {
		missing = append(missing, "product")
	}
	if len(missing) > 0 {
		return noData("no DMI data for %s", strings.Join(missing, ", "))
	}
	return nil
}

// clean drops ghw's "unknown" placeholder and DMI filler strings.
func clean(s string) string {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "unknown", "none", "to be filled by o.e.m.", "default string", "not specified", "system serial number", "0":
		return ""
	}
	return s
}

func firstNonEmpty(a ...string) string {
	for _, s := range a {
		if s != "" {
			return s
		}
	}
	return ""
}
