package inventory

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tierline/tierline/shared/diag"
)

func TestParseDpkgStatus(t *testing.T) {
	f, err := os.Open("testdata/dpkg/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ParseDpkgStatus(f)
	if err != nil {
		t.Fatal(err)
	}
	want := []diag.Software{
		{Name: "adduser", Version: "3.134", Publisher: "Debian Adduser Developers <adduser@packages.debian.org>", Source: "dpkg"},
		{Name: "libc6", Version: "2.36-9+deb12u10", Publisher: "GNU Libc Maintainers <debian-glibc@lists.debian.org>", Source: "dpkg"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestHash(t *testing.T) {
	inv := diag.Inventory{Time: time.Now(), Hostname: "pc1", Software: []diag.Software{{Name: "a", Version: "1"}},
		Collectors: map[string]diag.CollectorStat{"os": {Micros: 5}}}
	h1 := Hash(inv)
	inv.Time = inv.Time.Add(time.Hour)
	inv.Collectors = map[string]diag.CollectorStat{"os": {Micros: 7}}
	if Hash(inv) != h1 {
		t.Error("hash depends on time or timings")
	}
	inv.Software[0].Version = "2"
	if Hash(inv) == h1 {
		t.Error("hash ignores a software upgrade")
	}
	if len(h1) != 64 {
		t.Errorf("hash %q is not hex sha256", h1)
	}
}

func TestCollectReal(t *testing.T) {
	inv, err := Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if inv.Hostname == "" || inv.OS.Name == "" || inv.OS.Arch == "" || inv.Hash == "" {
		t.Errorf("incomplete inventory: %+v", inv.OS)
	}
	if inv.Hardware.CPU == nil || inv.Hardware.CPU.Threads == 0 {
		t.Errorf("no CPU: %+v", inv.Hardware.CPU)
	}
	if inv.Hardware.MemoryBytes == 0 {
		t.Error("no memory size")
	}
	for _, p := range parts() {
		if _, ok := inv.Collectors[p.name]; !ok {
			t.Errorf("part %s not timed", p.name)
		}
	}
	for k, v := range inv.Unavailable {
		t.Logf("unavailable %s: %s", k, v)
	}
	again, err := Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if again.Hash != inv.Hash {
		t.Errorf("hash changed between two inventories of an idle machine")
	}
}

// BenchmarkInventory measures one full inventory (target: under 100 ms of
// CPU; cpu-ns/op where the OS reports process CPU time).
func BenchmarkInventory(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	start, ok := cpuTime()
	for b.Loop() {
		if _, err := Collect(ctx); err != nil {
			b.Fatal(err)
		}
	}
	if end, ok2 := cpuTime(); ok && ok2 {
		b.ReportMetric(float64((end-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
