// Package diagnose is `tierline-agent diagnose`: it inventories this
// machine, takes telemetry, runs the health checks and prints a readable
// report (or one JSON document with --json). It needs no hub; given one
// (--hub), the DNS and reachability checks target it.
package diagnose

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/tierline/tierline/agent/collect"
	"github.com/tierline/tierline/agent/crashes"
	"github.com/tierline/tierline/agent/health"
	"github.com/tierline/tierline/agent/history"
	"github.com/tierline/tierline/agent/inventory"
	"github.com/tierline/tierline/shared/diag"
)

// Main runs the diagnose command with args (without the command name) and
// returns the exit code: 0 when no check fails, 1 when one does, 2 on a
// usage error or when diagnosis itself failed.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("diagnose", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print one JSON document {inventory, sample, checks}")
	hub := fs.String("hub", os.Getenv("TIERLINE_HUB"), "hub host:port for the DNS and reachability checks (env TIERLINE_HUB)")
	watch := fs.String("watch", os.Getenv("TIERLINE_WATCH_SERVICES"), "comma-separated services that must be running (env TIERLINE_WATCH_SERVICES)")
	dnsNames := fs.String("dns-names", os.Getenv("TIERLINE_DNS_NAMES"), "comma-separated names the DNS check asks every resolver for (env TIERLINE_DNS_NAMES)")
	resolvConf := fs.String("resolv-conf", os.Getenv("TIERLINE_RESOLV_CONF"), "resolver configuration the DNS check reads (default /etc/resolv.conf; env TIERLINE_RESOLV_CONF)")
	printStuck := fs.String("print-stuck-after", os.Getenv("TIERLINE_PRINT_STUCK_AFTER"), "how long a print job may wait before it counts as stuck (default 10m; env TIERLINE_PRINT_STUCK_AFTER)")
	gap := fs.Duration("gap", time.Second, "time between the two samples that give rates")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tierline-agent diagnose [--json] [--hub HOST:PORT] [--watch svc1,svc2] [--dns-names a,b]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	cfg := health.Config{HubAddr: *hub, WatchedServices: splitList(*watch), DNSNames: splitList(*dnsNames), ResolvConf: *resolvConf}
	if *printStuck != "" {
		d, err := time.ParseDuration(*printStuck)
		if err != nil || d <= 0 {
			fmt.Fprintf(stderr, "diagnose: --print-stuck-after %q: want a positive duration such as 10m\n", *printStuck)
			return 2
		}
		cfg.PrintJobStuckAfter = d
	}
	rep, err := Run(ctx, cfg, *gap)
	if err != nil {
		fmt.Fprintf(stderr, "diagnose: %v\n", err)
		return 2
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "diagnose: %v\n", err)
			return 2
		}
	} else {
		WriteText(stdout, rep)
	}
	if diag.Worst(rep.Checks) == diag.StatusFailing {
		return 1
	}
	return 0
}

// Run takes an inventory and two samples gap apart (so rates are real) and
// runs the health checks configured by cfg.
func Run(ctx context.Context, cfg health.Config, gap time.Duration) (diag.Report, error) {
	invCh := make(chan diag.Inventory, 1)
	go func() {
		inv, _ := inventory.Collect(ctx)
		invCh <- inv
	}()
	col := collect.New()
	hist := history.New(history.Config{Interval: gap})
	if s, err := col.Sample(ctx); err == nil {
		hist.Add(s)
	}
	select {
	case <-time.After(gap):
	case <-ctx.Done():
		return diag.Report{}, ctx.Err()
	}
	s, err := col.Sample(ctx)
	if err != nil {
		return diag.Report{}, err
	}
	hist.Add(s)
	root := cfg.Root
	if root == "" {
		root = "/"
	}
	crashRecord := crashes.NewTracker(crashes.Config{Sources: crashes.DefaultSources(root)})
	defer crashRecord.Close()
	runner, err := health.NewRunner(cfg, health.Env{Latest: hist.Latest, Recent: hist.Recent, RecentProcs: hist.RecentProcs, Crashes: crashRecord})
	if err != nil {
		return diag.Report{}, err
	}
	checks := runner.Run(ctx)
	inv := <-invCh
	return diag.Report{Inventory: inv, Sample: s, Checks: checks}, nil
}

// WriteText prints rep for people.
func WriteText(w io.Writer, rep diag.Report) {
	inv, s := rep.Inventory, rep.Sample
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("Tierline diagnosis of %s at %s", inv.Hostname, s.Time.Format(time.RFC3339))
	p("")
	p("Machine")
	p("  OS:        %s %s (%s %s, kernel %s)%s", inv.OS.Platform, inv.OS.Version, inv.OS.Name, inv.OS.Arch, inv.OS.Kernel, suffix(", virtualized: ", inv.OS.Virtualized))
	p("  Up:        %s (booted %s), time zone %s", (time.Duration(s.UptimeSec) * time.Second).String(), inv.OS.BootTime.Format(time.RFC3339), inv.OS.TimeZone)
	if c := inv.Hardware.CPU; c != nil {
		p("  CPU:       %s (%d package, %d cores, %d threads)", c.Model, c.Packages, c.Cores, c.Threads)
	}
	if inv.Hardware.MemoryBytes > 0 {
		p("  Memory:    %s", diag.HumanBytes(inv.Hardware.MemoryBytes))
	}
	for _, d := range inv.Hardware.Disks {
		p("  Disk:      %s %s %s %s", d.Name, diag.HumanBytes(d.SizeBytes), d.Type, strings.TrimSpace(d.Vendor+" "+d.Model))
	}
	for _, g := range inv.Hardware.GPUs {
		p("  GPU:       %s %s", g.Vendor, g.Model)
	}
	if pr := inv.Hardware.Product; pr != nil {
		p("  Product:   %s %s, serial %s", pr.Vendor, pr.Name, pr.Serial)
	}
	for _, i := range inv.Network.Interfaces {
		if len(i.Addresses) == 0 {
			continue
		}
		p("  Interface: %s %s %s%s", i.Name, i.MAC, strings.Join(i.Addresses, " "), suffix(" via ", i.Gateway))
	}
	p("  Gateway:   %s; DNS: %s", orNone(inv.Network.DefaultGateway), orNone(strings.Join(inv.Network.DNSServers, ", ")))
	if w := inv.Network.WiFi; w != nil {
		sig := []string{}
		if w.SignalDBm != 0 {
			sig = append(sig, fmt.Sprintf("%d dBm", w.SignalDBm))
		}
		if w.SignalPct != 0 {
			sig = append(sig, fmt.Sprintf("%d%%", w.SignalPct))
		}
		p("  Wi-Fi:     %s on %s, signal %s", orNone(w.SSID), orNone(w.Interface), orNone(strings.Join(sig, ", ")))
	}
	p("  Software:  %d packages; services: %d", len(inv.Software), len(inv.Services))
	writeUnavailable(w, inv.Unavailable)
	p("")
	p("Now")
	cores := make([]string, len(s.CPU.PerCore))
	for i, c := range s.CPU.PerCore {
		cores[i] = fmt.Sprintf("%.0f", c)
	}
	p("  CPU:       %.1f%% (per core: %s), load %.2f %.2f %.2f", s.CPU.TotalPct, strings.Join(cores, " "), s.CPU.Load1, s.CPU.Load5, s.CPU.Load15)
	m := s.Memory
	swap := "none"
	if m.SwapTotal > 0 {
		swap = fmt.Sprintf("%s of %s", diag.HumanBytes(m.SwapUsed), diag.HumanBytes(m.SwapTotal))
	}
	p("  Memory:    %.1f%% used, %s available of %s; swap %s", m.UsedPct, diag.HumanBytes(m.Available), diag.HumanBytes(m.Total), swap)
	for _, f := range s.Filesystems {
		p("  Disk %-5s %.1f%% used, %s free of %s (%s)", f.Mount, f.UsedPct, diag.HumanBytes(f.Free), diag.HumanBytes(f.Total), f.FSType)
	}
	for _, d := range s.Disks {
		p("  I/O %-6s read %s/s, write %s/s, %.0f%% busy", d.Name, diag.HumanBytes(uint64(d.ReadBps)), diag.HumanBytes(uint64(d.WriteBps)), d.BusyPct)
	}
	for _, n := range s.Network {
		p("  Net %-6s rx %s/s, tx %s/s, errors %d/%d", n.Name, diag.HumanBytes(uint64(n.RxBps)), diag.HumanBytes(uint64(n.TxBps)), n.RxErrors, n.TxErrors)
	}
	for _, pr := range s.TopCPU {
		p("  Top CPU:   %-16s pid %-7d %-10s %5.1f%% CPU %s", pr.Name, pr.PID, pr.User, pr.CPUPct, diag.HumanBytes(pr.RSS))
	}
	for _, pr := range s.TopMemory {
		p("  Top mem:   %-16s pid %-7d %-10s %5.1f%% CPU %s", pr.Name, pr.PID, pr.User, pr.CPUPct, diag.HumanBytes(pr.RSS))
	}
	for _, u := range s.Users {
		p("  User:      %s on %s%s since %s", u.Name, u.Terminal, suffix(" from ", u.Host), u.Since.Format(time.RFC3339))
	}
	for _, t := range s.Temperature {
		p("  Temp:      %s %.1f °C", t.Sensor, t.Celsius)
	}
	if b := s.Battery; b != nil {
		health := "unknown"
		if b.HealthPct != nil {
			health = fmt.Sprintf("%.0f%%", *b.HealthPct)
		}
		p("  Battery:   %.0f%% %s, on AC %t, health %s", b.ChargePct, b.State, b.OnAC, health)
	}
	writeUnavailable(w, s.Unavailable)
	p("")
	p("Health checks")
	counts := map[diag.Status]int{}
	for _, c := range rep.Checks {
		counts[c.Status]++
		p("  %-9s %s: %s%s", "["+strings.ToUpper(string(c.Status))+"]", c.Name, c.Summary, suffix("  (fix: ", c.Fix)+closeParen(c.Fix))
		for _, e := range c.Evidence {
			p("            %s: %s", e.Label, e.Value)
		}
	}
	p("")
	p("Result: %d failing, %d warning, %d ok, %d unknown", counts[diag.StatusFailing], counts[diag.StatusWarning], counts[diag.StatusOK], counts[diag.StatusUnknown])
}

func writeUnavailable(w io.Writer, u map[string]string) {
	keys := make([]string, 0, len(u))
	for k := range u {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  (unavailable: %s: %s)\n", k, u[k])
	}
}

func suffix(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

func closeParen(s string) string {
	if s == "" {
		return ""
	}
	return ")"
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
