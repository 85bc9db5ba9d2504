package collect

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shirou/gopsutil/v4/disk"

	"github.com/tierline/tierline/shared/diag"
)

func TestFilterMounts(t *testing.T) {
	tests := []struct {
		name  string
		parts []disk.PartitionStat
		want  []string
	}{
		{
			name: "desktop",
			parts: []disk.PartitionStat{
				{Device: "/dev/nvme0n1p2", Mountpoint: "/", Fstype: "ext4"},
				{Device: "proc", Mountpoint: "/proc", Fstype: "proc"},
				{Device: "sysfs", Mountpoint: "/sys", Fstype: "sysfs"},
				{Device: "tmpfs", Mountpoint: "/run", Fstype: "tmpfs"},
				{Device: "/dev/nvme0n1p1", Mountpoint: "/boot/efi", Fstype: "vfat"},
				{Device: "/dev/loop3", Mountpoint: "/snap/core/1", Fstype: "squashfs"},
				{Device: "/dev/sdb1", Mountpoint: "/home", Fstype: "btrfs"},
				{Device: "cgroup2", Mountpoint: "/sys/fs/cgroup", Fstype: "cgroup2"},
			},
			want: []string{"/", "/boot/efi", "/home"},
		},
		{
			name: "container: overlay root kept, host bind mounts of the same disk dropped",
			parts: []disk.PartitionStat{
				{Device: "overlay", Mountpoint: "/", Fstype: "overlay"},
				{Device: "/dev/vda", Mountpoint: "/etc/hosts", Fstype: "ext4"},
				{Device: "/dev/vda", Mountpoint: "/etc/resolv.conf", Fstype: "ext4"},
				{Device: "shm", Mountpoint: "/dev/shm", Fstype: "tmpfs"},
				{Device: "/dev/vda", Mountpoint: "/data", Fstype: "ext4"},
			},
			want: []string{"/", "/data"},
		},
		{
			name: "same mount point listed twice",
			parts: []disk.PartitionStat{
				{Device: "/dev/sda1", Mountpoint: "/", Fstype: "ext4"},
				{Device: "/dev/sda1", Mountpoint: "/", Fstype: "ext4"},
			},
			want: []string{"/"},
		},
		{name: "nothing", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, p := range FilterMounts(tt.parts) {
				got = append(got, p.Mountpoint)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("FilterMounts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTopN(t *testing.T) {
	ps := []diag.Process{{PID: 3, CPUPct: 5}, {PID: 1, CPUPct: 50}, {PID: 2, CPUPct: 5}, {PID: 4}}
	got := topN(busy(ps), 2, byCPU)
	want := []diag.Process{{PID: 1, CPUPct: 50}, {PID: 2, CPUPct: 5}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("topN (-want +got):\n%s", diff)
	}
}

func TestRate(t *testing.T) {
	if r := rate(100, 300, 2); r != 100 {
		t.Errorf("rate = %v, want 100", r)
	}
	if r := rate(300, 100, 2); r != 0 {
		t.Errorf("counter reset: rate = %v, want 0", r)
	}
}

// TestSampleReal takes two real samples of this machine: the second has
// rates, every collector is timed, and nothing is reported twice.
func TestSampleReal(t *testing.T) {
	c := New()
	ctx := context.Background()
	first, err := c.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if first.Unavailable["disk_io"] == "" && len(first.Disks) > 0 {
		t.Errorf("first sample has disk rates without a previous sample: %+v", first.Disks)
	}
	time.Sleep(200 * time.Millisecond)
	s, err := c.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range c.Names() {
		if _, ok := s.Collectors[name]; !ok {
			t.Errorf("collector %s not timed", name)
		}
		if st := s.Collectors[name]; st.Error != "" {
			t.Logf("collector %s failed: %s", name, st.Error)
		}
	}
	if s.Memory.Total == 0 {
		t.Error("no memory total")
	}
	if len(s.CPU.PerCore) == 0 {
		t.Error("no per-core CPU")
	}
	if s.CPU.TotalPct < 0 || s.CPU.TotalPct > 100 {
		t.Errorf("cpu total %v out of range", s.CPU.TotalPct)
	}
	if s.UptimeSec == 0 {
		t.Error("no uptime")
	}
	if _, ok := s.Unavailable["network"]; ok {
		t.Errorf("second sample lacks network rates: %s", s.Unavailable["network"])
	}
	if len(s.TopMemory) == 0 {
		t.Error("no top memory processes")
	}
	for _, p := range s.TopMemory {
		if p.Name == "" || p.PID == 0 || p.User == "" {
			t.Errorf("incomplete process %+v", p)
		}
	}
	if s.CollectMicros <= 0 {
		t.Error("collection not timed")
	}
}

func TestSampleDisabledAndCanceled(t *testing.T) {
	c := NewWithConfig(Config{Disabled: []string{"processes", "battery"}})
	for _, n := range c.Names() {
		if n == "processes" || n == "battery" {
			t.Errorf("disabled collector %s still runs", n)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Sample(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Sample on a canceled context: err = %v", err)
	}
}
