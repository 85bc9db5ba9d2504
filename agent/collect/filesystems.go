package collect

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/shirou/gopsutil/v4/disk"

	"github.com/tierline/tierline/shared/diag"
)

// pseudoFS are filesystem types that hold no user data; their usage is
// noise (the list follows node_exporter's default exclusions, plus tmpfs-like
// memory filesystems that are not a disk).
var pseudoFS = map[string]bool{
	"autofs": true, "binfmt_misc": true, "bpf": true, "cgroup": true, "cgroup2": true,
	"configfs": true, "debugfs": true, "devpts": true, "devtmpfs": true, "fusectl": true,
	"hugetlbfs": true, "iso9660": true, "mqueue": true, "nsfs": true, "proc": true,
	"procfs": true, "pstore": true, "rpc_pipefs": true, "securityfs": true, "selinuxfs": true,
	"squashfs": true, "erofs": true, "sysfs": true, "tracefs": true, "efivarfs": true,
	"ramfs": true, "tmpfs": true, "devfs": true, "nullfs": true, "fdescfs": true,
	"overlay": true, "shm": true, "fuse.lxcfs": true, "fuse.gvfsd-fuse": true, "fuse.portal": true,
}

// pseudoMountPrefixes are mount points under which nothing is a user disk.
var pseudoMountPrefixes = []string{"/proc", "/sys", "/dev", "/run/credentials/", "/var/lib/docker/",
	"/var/lib/containers/storage/", "/snap/", "/System/Volumes/VM", "/System/Volumes/Preboot",
	"/System/Volumes/Update", "/System/Volumes/xarts", "/System/Volumes/iSCPreboot", "/System/Volumes/Hardware"}

// FilterMounts keeps the partitions worth reporting: real filesystems, one
// entry per mount point and per block device (bind mounts of the same device
// are dropped, the shortest mount point wins). The root of a container
// (overlay on "/") is kept: it is the disk the user fills.
func FilterMounts(parts []disk.PartitionStat) []disk.PartitionStat {
	sorted := append([]disk.PartitionStat(nil), parts...)
	sort.SliceStable(sorted, func(i, j int) bool { return len(sorted[i].Mountpoint) < len(sorted[j].Mountpoint) })
	seenMount := map[string]bool{}
	seenDev := map[string]bool{}
	var out []disk.PartitionStat
	for _, p := range sorted {
		if p.Mountpoint == "" || seenMount[p.Mountpoint] {
			continue
		}
		if pseudoFS[p.Fstype] && p.Mountpoint != "/" {
			continue
		}
		if pseudoMount(p.Mountpoint) {
			continue
		}
		if strings.HasPrefix(p.Device, "/dev/") {
			if seenDev[p.Device] {
				continue
			}
			seenDev[p.Device] = true
		}
		seenMount[p.Mountpoint] = true
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Mountpoint < out[j].Mountpoint })
	return out
}

func pseudoMount(m string) bool {
	for _, p := range pseudoMountPrefixes {
		if m == strings.TrimSuffix(p, "/") || strings.HasPrefix(m, strings.TrimSuffix(p, "/")+"/") {
			return true
		}
	}
	return false
}

// Filesystems lists the usage of this machine's real filesystems.
func Filesystems(ctx context.Context) ([]diag.Filesystem, error) {
	parts, err := disk.PartitionsWithContext(ctx, true)
	if err != nil && len(parts) == 0 {
		return nil, fmt.Errorf("list mounts: %w", err)
	}
	var out []diag.Filesystem
	var lastErr error
	for _, p := range FilterMounts(parts) {
		fs, err := Usage(ctx, p.Mountpoint)
		if err != nil {
			lastErr = err
			continue
		}
		fs.Device, fs.FSType = p.Device, p.Fstype
		out = append(out, fs)
	}
	if len(out) == 0 && lastErr != nil {
		return nil, lastErr
	}
	return out, nil
}

// Usage reads the usage of the filesystem holding path.
func Usage(ctx context.Context, path string) (diag.Filesystem, error) {
	u, err := disk.UsageWithContext(ctx, path)
	if err != nil {
		return diag.Filesystem{}, fmt.Errorf("statfs %s: %w", path, err)
	}
	return diag.Filesystem{
		Mount: path, FSType: u.Fstype, Total: u.Total, Used: u.Used, Free: u.Free,
		UsedPct: round2(u.UsedPercent), InodesTotal: u.InodesTotal, InodesFree: u.InodesFree,
	}, nil
}

func fillFilesystems(ctx context.Context, s *diag.Sample) error {
	fs, err := Filesystems(ctx)
	if err != nil {
		return err
	}
	if len(fs) == 0 {
		return noData("no disk filesystems mounted")
	}
	s.Filesystems = fs
	return nil
}
