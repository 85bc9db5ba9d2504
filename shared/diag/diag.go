// Package diag is the data model of device diagnostics shared by the agent
// (which collects it) and the hub (which stores and shows it): telemetry
// samples, inventory and health check results.
//
// Something the OS does not expose is reported as unavailable (a nil
// pointer, or an entry in Unavailable), never as a zero.
package diag

import (
	"fmt"
	"time"
)

// Sample is one telemetry sample.
type Sample struct {
	Time        time.Time      `json:"time"`
	UptimeSec   uint64         `json:"uptime_sec"`
	CPU         CPU            `json:"cpu"`
	Memory      Memory         `json:"memory"`
	Filesystems []Filesystem   `json:"filesystems,omitempty"`
	Disks       []DiskIO       `json:"disks,omitempty"`
	Network     []NetInterface `json:"network,omitempty"`
	TopCPU      []Process      `json:"top_cpu,omitempty"`
	TopMemory   []Process      `json:"top_memory,omitempty"`
	Users       []User         `json:"users,omitempty"`
	Temperature []Temperature  `json:"temperature,omitempty"`
	Battery     *Battery       `json:"battery,omitempty"`
	// Unavailable names parts that could not be collected on this machine,
	// with the reason ("battery": "no battery").
	Unavailable map[string]string `json:"unavailable,omitempty"`
	// CollectMicros is how long collection took, for self-monitoring.
	CollectMicros int64 `json:"collect_us,omitempty"`
	// Collectors times each named collector of this sample.
	Collectors map[string]CollectorStat `json:"collectors,omitempty"`
}

// CPU usage since the previous sample.
type CPU struct {
	TotalPct float64   `json:"total_pct"`
	PerCore  []float64 `json:"per_core,omitempty"`
	Load1    float64   `json:"load1"`
	Load5    float64   `json:"load5"`
	Load15   float64   `json:"load15"`
}

// Memory and swap, in bytes.
type Memory struct {
	Total     uint64  `json:"total"`
	Used      uint64  `json:"used"`
	Available uint64  `json:"available"`
	UsedPct   float64 `json:"used_pct"`
	SwapTotal uint64  `json:"swap_total"`
	SwapUsed  uint64  `json:"swap_used"`
}

// Filesystem usage of one mount.
type Filesystem struct {
	Mount       string  `json:"mount"`
	Device      string  `json:"device,omitempty"`
	FSType      string  `json:"fstype,omitempty"`
	Total       uint64  `json:"total"`
	Used        uint64  `json:"used"`
	Free        uint64  `json:"free"`
	UsedPct     float64 `json:"used_pct"`
	InodesTotal uint64  `json:"inodes_total,omitempty"`
	InodesFree  uint64  `json:"inodes_free,omitempty"`
}

// DiskIO rates of one block device since the previous sample.
type DiskIO struct {
	Name      string  `json:"name"`
	ReadBps   float64 `json:"read_bps"`
	WriteBps  float64 `json:"write_bps"`
	ReadIOPS  float64 `json:"read_iops"`
	WriteIOPS float64 `json:"write_iops"`
	BusyPct   float64 `json:"busy_pct,omitempty"`
}

// NetInterface rates and error counters of one interface.
type NetInterface struct {
	Name     string  `json:"name"`
	RxBps    float64 `json:"rx_bps"`
	TxBps    float64 `json:"tx_bps"`
	RxErrors uint64  `json:"rx_errors"`
	TxErrors uint64  `json:"tx_errors"`
	RxDrops  uint64  `json:"rx_drops,omitempty"`
	TxDrops  uint64  `json:"tx_drops,omitempty"`
}

// Process is one entry of a top-processes list.
type Process struct {
	PID    int32   `json:"pid"`
	Name   string  `json:"name"`
	User   string  `json:"user,omitempty"`
	CPUPct float64 `json:"cpu_pct"`
	RSS    uint64  `json:"rss"`
}

// User is a logged-in user session.
type User struct {
	Name     string    `json:"name"`
	Terminal string    `json:"terminal,omitempty"`
	Host     string    `json:"host,omitempty"`
	Since    time.Time `json:"since,omitempty"`
}

// Temperature of one sensor, in degrees Celsius.
type Temperature struct {
	Sensor  string  `json:"sensor"`
	Celsius float64 `json:"celsius"`
	High    float64 `json:"high,omitempty"`
	Crit    float64 `json:"critical,omitempty"`
}

// Battery state.
type Battery struct {
	ChargePct float64 `json:"charge_pct"`
	// HealthPct is full-charge capacity over design capacity; nil if unknown.
	HealthPct *float64 `json:"health_pct,omitempty"`
	OnAC      bool     `json:"on_ac"`
	State     string   `json:"state,omitempty"` // charging, discharging, full, unknown
}

// Summary is the handful of numbers the hub keeps per sample for charts,
// rollups and fleet views.
type Summary struct {
	CPUPct  float64 `json:"cpu_pct"`
	MemPct  float64 `json:"mem_pct"`
	DiskPct float64 `json:"disk_pct"` // fullest filesystem
	Load1   float64 `json:"load1"`
	RxBps   float64 `json:"rx_bps"`
	TxBps   float64 `json:"tx_bps"`
}

// Summarize extracts the Summary of s.
func (s Sample) Summarize() Summary {
	sum := Summary{CPUPct: s.CPU.TotalPct, MemPct: s.Memory.UsedPct, Load1: s.CPU.Load1}
	for _, fs := range s.Filesystems {
		if fs.UsedPct > sum.DiskPct {
			sum.DiskPct = fs.UsedPct
		}
	}
	for _, n := range s.Network {
		sum.RxBps += n.RxBps
		sum.TxBps += n.TxBps
	}
	return sum
}

// Status of a health check.
type Status string

// Health check statuses, from best to worst.
const (
	StatusOK      Status = "ok"
	StatusWarning Status = "warning"
	StatusFailing Status = "failing"
	// StatusUnknown: the check could not run here (for example no battery).
	StatusUnknown Status = "unknown"
)

// MaxSearchChecks is how many failing checks a knowledge-base search ranks
// articles by, at most: the agent sends no more, the hub uses no more.
const MaxSearchChecks = 50

// CheckResult is the outcome of one health check.
type CheckResult struct {
	Name    string `json:"name"` // kebab-case, stable
	Status  Status `json:"status"`
	Summary string `json:"summary"` // one plain sentence for people
	// Evidence is what the check saw, as label/value pairs.
	Evidence []Evidence `json:"evidence,omitempty"`
	// Fix is the catalog fix that addresses a warning or failure, if any.
	Fix    string    `json:"fix,omitempty"`
	Time   time.Time `json:"time"`
	Micros int64     `json:"duration_us,omitempty"`
}

// Evidence is one observation backing a check result.
type Evidence struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// Inventory describes the machine: hardware, OS, network, software, services.
type Inventory struct {
	Time     time.Time     `json:"time"`
	Hostname string        `json:"hostname"`
	OS       OSInfo        `json:"os"`
	Hardware Hardware      `json:"hardware"`
	Network  NetworkConfig `json:"network"`
	Software []Software    `json:"software,omitempty"`
	Services []Service     `json:"services,omitempty"`
	// SoftwareTotal and ServicesTotal, set where Software or Services were
	// cut (a help request's snapshot keeps the first few hundred), say how
	// many the machine has.
	SoftwareTotal int `json:"software_total,omitempty"`
	ServicesTotal int `json:"services_total,omitempty"`
	// Updates is the state of the OS's own updates, where it could be read.
	Updates *UpdateStatus `json:"updates,omitempty"`
	// FixesNotApplicable names the catalog fixes that would only come back
	// not_applicable on this machine, with the plain reason (CUPS not
	// installed, systemd not running): the console does not offer them.
	FixesNotApplicable map[string]string `json:"fixes_not_applicable,omitempty"`
	// Unavailable names parts that could not be collected, with the reason.
	Unavailable map[string]string `json:"unavailable,omitempty"`
	// Hash is a digest of the inventory's content (without Time), so the
	// agent sends it only when it changed.
	Hash string `json:"hash,omitempty"`
	// Collectors times each named part of the inventory.
	Collectors map[string]CollectorStat `json:"collectors,omitempty"`
}

// OSInfo describes the operating system.
type OSInfo struct {
	Name        string    `json:"name"` // linux, windows, darwin
	Platform    string    `json:"platform,omitempty"`
	Version     string    `json:"version,omitempty"`
	Kernel      string    `json:"kernel,omitempty"`
	Arch        string    `json:"arch"`
	BootTime    time.Time `json:"boot_time,omitempty"`
	TimeZone    string    `json:"time_zone,omitempty"`
	Domain      string    `json:"domain,omitempty"`
	Workgroup   string    `json:"workgroup,omitempty"`
	Virtualized string    `json:"virtualization,omitempty"`
}

// Hardware describes the machine's hardware.
type Hardware struct {
	CPU         *CPUInfo       `json:"cpu,omitempty"`
	MemoryBytes uint64         `json:"memory_bytes,omitempty"`
	MemoryMods  []MemoryModule `json:"memory_modules,omitempty"`
	Disks       []BlockDevice  `json:"disks,omitempty"`
	GPUs        []GPU          `json:"gpus,omitempty"`
	NICs        []NIC          `json:"nics,omitempty"`
	BIOS        *BIOS          `json:"bios,omitempty"`
	Baseboard   *Baseboard     `json:"baseboard,omitempty"`
	Product     *Product       `json:"product,omitempty"`
}

// CPUInfo is the processor model and topology.
type CPUInfo struct {
	Model    string `json:"model"`
	Vendor   string `json:"vendor,omitempty"`
	Packages int    `json:"packages"`
	Cores    int    `json:"cores"`
	Threads  int    `json:"threads"`
}

// MemoryModule is one DIMM, where readable.
type MemoryModule struct {
	Label  string `json:"label,omitempty"`
	Size   uint64 `json:"size"`
	Vendor string `json:"vendor,omitempty"`
	Serial string `json:"serial,omitempty"`
}

// BlockDevice is a disk and its partitions.
type BlockDevice struct {
	Name       string      `json:"name"`
	Model      string      `json:"model,omitempty"`
	Vendor     string      `json:"vendor,omitempty"`
	Serial     string      `json:"serial,omitempty"`
	SizeBytes  uint64      `json:"size_bytes"`
	Type       string      `json:"type,omitempty"` // hdd, ssd, virtual, ...
	Partitions []Partition `json:"partitions,omitempty"`
}

// Partition of a block device.
type Partition struct {
	Name      string `json:"name"`
	SizeBytes uint64 `json:"size_bytes"`
	Mount     string `json:"mount,omitempty"`
	FSType    string `json:"fstype,omitempty"`
}

// GPU is one graphics adapter.
type GPU struct {
	Vendor string `json:"vendor,omitempty"`
	Model  string `json:"model,omitempty"`
}

// NIC is one network adapter.
type NIC struct {
	Name    string `json:"name"`
	MAC     string `json:"mac,omitempty"`
	Virtual bool   `json:"virtual,omitempty"`
	Speed   string `json:"speed,omitempty"`
}

// BIOS firmware.
type BIOS struct {
	Vendor  string `json:"vendor,omitempty"`
	Version string `json:"version,omitempty"`
	Date    string `json:"date,omitempty"`
}

// Baseboard (motherboard).
type Baseboard struct {
	Vendor  string `json:"vendor,omitempty"`
	Product string `json:"product,omitempty"`
	Serial  string `json:"serial,omitempty"`
}

// Product is the system as sold.
type Product struct {
	Vendor string `json:"vendor,omitempty"`
	Name   string `json:"name,omitempty"`
	Serial string `json:"serial,omitempty"`
	UUID   string `json:"uuid,omitempty"`
}

// NetworkConfig is the machine's network configuration.
type NetworkConfig struct {
	Interfaces     []InterfaceConfig `json:"interfaces,omitempty"`
	DefaultGateway string            `json:"default_gateway,omitempty"`
	// DefaultInterface is the interface of the default route.
	DefaultInterface string   `json:"default_interface,omitempty"`
	DNSServers       []string `json:"dns_servers,omitempty"`
	// SearchDomains are the resolver's search domains (resolv.conf).
	SearchDomains []string `json:"search_domains,omitempty"`
	WiFi          *WiFi    `json:"wifi,omitempty"`
}

// InterfaceConfig is one interface's addresses.
type InterfaceConfig struct {
	Name      string   `json:"name"`
	MAC       string   `json:"mac,omitempty"`
	Addresses []string `json:"addresses,omitempty"` // CIDR
	Up        bool     `json:"up"`
	// Carrier: the interface has a link (a cable plugged in, a Wi-Fi
	// network joined); nil where it was not read.
	Carrier *bool `json:"carrier,omitempty"`
	// Wireless: a Wi-Fi interface (read on Linux only).
	Wireless bool `json:"wireless,omitempty"`
	MTU      int  `json:"mtu,omitempty"`
	// Gateway is the default gateway through this interface, if any.
	Gateway string `json:"gateway,omitempty"`
}

// WiFi is the current wireless association. SSID is empty when the OS
// withholds it (macOS without location permission) or the tool that names
// it is missing; the inventory then says why in Unavailable["wifi"].
type WiFi struct {
	SSID      string `json:"ssid"`
	SignalDBm int    `json:"signal_dbm,omitempty"`
	// SignalPct is the signal quality in percent where the OS reports that
	// instead of (or beside) dBm: Windows, NetworkManager.
	SignalPct int `json:"signal_pct,omitempty"`
	// Interface is the wireless interface associated.
	Interface string `json:"interface,omitempty"`
}

// Software is one installed package or application.
type Software struct {
	Name      string `json:"name"`
	Version   string `json:"version,omitempty"`
	Publisher string `json:"publisher,omitempty"`
	Source    string `json:"source,omitempty"` // dpkg, rpm, registry, applications
	// Installed is when the package was installed or last upgraded, where
	// the package database says (zero: not known).
	Installed time.Time `json:"installed,omitzero"`
}

// UpdateStatus is what the OS's package manager or update service reports
// about pending updates. Reporting only: the agent installs nothing.
type UpdateStatus struct {
	// Manager is where the numbers come from: apt, dnf, windows-update,
	// softwareupdate.
	Manager string `json:"manager"`
	// Pending is how many updates are waiting, Security how many of them
	// fix security problems.
	Pending  int `json:"pending"`
	Security int `json:"security"`
	// OldestPending and OldestSecurity are since when the oldest pending
	// update (security update) has been waiting: its release or the first
	// time the machine saw it (zero: not known).
	OldestPending  time.Time `json:"oldest_pending,omitzero"`
	OldestSecurity time.Time `json:"oldest_security,omitzero"`
	// LastSuccess is when updates were last installed successfully.
	LastSuccess time.Time `json:"last_success,omitzero"`
	// LastCheck is when the list of available updates was last refreshed.
	LastCheck time.Time `json:"last_check,omitzero"`
	// Automatic is the automatic-update setting: "off", "download",
	// "security" (security updates install themselves), "all", or "" when
	// not known; AutomaticDetail says where it was read.
	Automatic       string `json:"automatic,omitempty"`
	AutomaticDetail string `json:"automatic_detail,omitempty"`
	// Packages are the pending updates, at most MaxPendingUpdates of them,
	// security ones first.
	Packages []PendingUpdate `json:"packages,omitempty"`
}

// MaxPendingUpdates bounds UpdateStatus.Packages.
const MaxPendingUpdates = 100

// PendingUpdate is one update waiting to be installed.
type PendingUpdate struct {
	Name     string `json:"name"`
	Version  string `json:"version,omitempty"` // the version offered
	Security bool   `json:"security,omitempty"`
}

// Service is one system service and its state.
type Service struct {
	Name    string `json:"name"`
	State   string `json:"state"` // running, stopped, failed, ...
	Enabled bool   `json:"enabled,omitempty"`
}

// CollectorStat is how one named collector fared while taking a sample or an
// inventory: its duration and, when it failed, why.
type CollectorStat struct {
	Micros int64  `json:"duration_us"`
	Error  string `json:"error,omitempty"`
}

// Point is one entry of the agent's recent history: a Summary of one sample
// (N=1) or the mean of N samples over a step, with their maxima in Max.
type Point struct {
	Time time.Time `json:"time"`
	Summary
	N   int      `json:"n,omitempty"`
	Max *Summary `json:"max,omitempty"`
}

// History is what the agent remembers of the recent past: Full holds every
// sample of roughly the last hour, Minute one point per minute of roughly
// the last day. A ticket carries it so technicians see what happened before
// the user asked for help, even if the hub was unreachable meanwhile.
type History struct {
	Full   []Point `json:"full,omitempty"`
	Minute []Point `json:"minute,omitempty"`
}

// Report is what `tierline-agent diagnose --json` prints: one document with
// the machine's inventory, a telemetry sample and the health check results.
type Report struct {
	Inventory Inventory     `json:"inventory"`
	Sample    Sample        `json:"sample"`
	Checks    []CheckResult `json:"checks"`
}

// Worst returns the worst status among results: failing over warning over
// unknown over ok. An empty list is ok.
func Worst(results []CheckResult) Status {
	rank := map[Status]int{StatusOK: 0, StatusUnknown: 1, StatusWarning: 2, StatusFailing: 3}
	w := StatusOK
	for _, r := range results {
		if rank[r.Status] > rank[w] {
			w = r.Status
		}
	}
	return w
}

// HumanBytes renders a byte count in binary units ("1.5 GiB").
func HumanBytes(b uint64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := uint64(unit), 0
	for n := b / unit; n >= unit; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTPE"[exp])
}
