// Package inventory describes this machine: hardware (through ghw), OS,
// network configuration, installed software and services. Parts are
// collected concurrently and timed; what a machine does not expose is listed
// in Inventory.Unavailable with the reason. The agent sends an inventory at
// start, when its Hash changes, and on request.
package inventory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/tierline/tierline/agent/execx"
	"github.com/tierline/tierline/shared/diag"
)

// ErrNoData marks a part this machine does not expose, as opposed to a
// failure; wrap it with the reason.
var ErrNoData = errors.New("not available")

func noData(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrNoData, fmt.Sprintf(format, args...))
}

// output and find are execx.Output and execx.Find; tests replace them to
// feed recorded output to the readers. Every command the inventory runs
// goes through them, at inventory time only (start, then hourly and on
// request), never per telemetry sample.
var (
	output = execx.Output
	find   = execx.Find
)

// Config tunes Collect. The zero value is usable.
type Config struct {
	// Root is where /etc, /var, /proc and /sys are read by the parts that
	// parse files themselves (network, software, services); tests use
	// fixture trees. Default "/".
	Root string
	// PartTimeout bounds each part. Default 20 s.
	PartTimeout time.Duration
	// Disabled names parts to skip ("software", "gpu", ...).
	Disabled []string
	// FixesNotApplicable, when set, says which catalog fixes do not apply
	// to this machine and why (fixes.NotApplicable); the inventory's
	// "fixes" part reports it.
	FixesNotApplicable func() map[string]string

	// fakeCommands lets tests run the command-based readers against a
	// fixture root, with output and find replaced. Commands otherwise run only
	// when Root is "/": they read the live system, not the tree.
	fakeCommands bool
}

// commands reports whether readers may run commands.
func (c *Config) commands() bool { return c.Root == "/" || c.fakeCommands }

func (c *Config) setDefaults() {
	if c.Root == "" {
		c.Root = "/"
	}
	if c.PartTimeout <= 0 {
		c.PartTimeout = 20 * time.Second
	}
}

func (c *Config) path(p string) string { return filepath.Join(c.Root, p) }

// part is one named unit of the inventory. fill writes only its own fields.
type part struct {
	name string
	fill func(ctx context.Context, cfg *Config, inv *diag.Inventory) error
}

// parts lists the inventory's units, in report order.
func parts() []part {
	return []part{
		{"os", fillOS},
		{"cpu", fillCPU},
		{"memory", fillMemory},
		{"disks", fillDisks},
		{"gpu", fillGPU},
		{"nics", fillNICs},
		{"firmware", fillFirmware},
		{"network", fillNetwork},
		{"wifi", fillWiFi},
		{"software", fillSoftware},
		{"services", fillServices},
		{"updates", fillUpdates},
		{"fixes", fillFixes},
	}
}

// Collect takes an inventory with the default configuration.
func Collect(ctx context.Context) (diag.Inventory, error) {
	return CollectWithConfig(ctx, Config{})
}

// CollectWithConfig takes an inventory. It fails only when ctx is done;
// parts that fail are listed in Unavailable.
func CollectWithConfig(ctx context.Context, cfg Config) (diag.Inventory, error) {
	cfg.setDefaults()
	inv := diag.Inventory{Time: time.Now().UTC()}
	inv.Hostname, _ = os.Hostname()
	disabled := map[string]bool{}
	for _, d := range cfg.Disabled {
		disabled[d] = true
	}
	var ps []part
	for _, p := range parts() {
		if !disabled[p.name] {
			ps = append(ps, p)
		}
	}
	type res struct {
		err    error
		micros int64
	}
	results := make([]res, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, cfg.PartTimeout)
			defer cancel()
			start := time.Now()
			err := safeFill(pctx, &cfg, p, &inv)
			results[i] = res{err, time.Since(start).Microseconds()}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return inv, fmt.Errorf("take inventory: %w", err)
	}
	inv.Collectors = map[string]diag.CollectorStat{}
	for i, p := range ps {
		st := diag.CollectorStat{Micros: results[i].micros}
		if err := results[i].err; err != nil {
			if inv.Unavailable == nil {
				inv.Unavailable = map[string]string{}
			}
			inv.Unavailable[p.name] = reason(err)
			if !errors.Is(err, ErrNoData) {
				st.Error = err.Error()
			}
		}
		inv.Collectors[p.name] = st
	}
	sort.Slice(inv.Software, func(i, j int) bool { return inv.Software[i].Name < inv.Software[j].Name })
	sort.Slice(inv.Services, func(i, j int) bool { return inv.Services[i].Name < inv.Services[j].Name })
	inv.Hash = Hash(inv)
	return inv, nil
}

func safeFill(ctx context.Context, cfg *Config, p part, inv *diag.Inventory) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("inventory part %s panicked: %v", p.name, r)
		}
	}()
	return p.fill(ctx, cfg, inv)
}

func reason(err error) string {
	msg := err.Error()
	prefix := ErrNoData.Error() + ": "
	if len(msg) > len(prefix) && msg[:len(prefix)] == prefix {
		return msg[len(prefix):]
	}
	return msg
}

// Hash is the SHA-256 of the inventory's JSON without its time, hash and
// timings: equal content gives an equal hash.
func Hash(inv diag.Inventory) string {
	inv.Time = time.Time{}
	inv.Hash = ""
	inv.Collectors = nil
	// Boot time moves by a second between reads on some systems; it is
	// not a change of the machine.
	inv.OS.BootTime = inv.OS.BootTime.Truncate(time.Minute)
	b, err := json.Marshal(inv)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
