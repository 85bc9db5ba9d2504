package health

import (
	"context"
	"sync"

	"github.com/shirou/gopsutil/v4/disk"
	"golang.org/x/sys/unix"
)

// mounts lists the machine's filesystems again only when the mount table
// changed: the kernel flags an open mountinfo file with POLLPRI after a
// mount or an unmount (proc(5)), so the disk check's minute costs a poll
// and one statfs a filesystem, not a parse of the table. One for the
// process: the table is the machine's, whichever Runner asks.
var mounts mountWatch

type mountWatch struct {
	mu     sync.Mutex
	fd     int // an open mountinfo, polled; -1 when none could be opened
	opened bool
	parts  []disk.PartitionStat
	have   bool
}

// partitions is disk.PartitionsWithContext(ctx, true), remembered until
// the mount table changes. The slice is shared: read it, never change it.
func (w *mountWatch) partitions(ctx context.Context) ([]disk.PartitionStat, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.opened {
		w.opened = true
		// The table gopsutil reads: pid 1's, else this process's.
		w.fd = -1
		for _, p := range []string{"/proc/1/mountinfo", "/proc/self/mountinfo"} {
			if fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
				w.fd = fd
				break
			}
		}
	}
	if w.have && !w.changed() {
		return w.parts, nil
	}
	parts, err := disk.PartitionsWithContext(ctx, true)
	w.parts, w.have = parts, err == nil && w.fd >= 0
	return parts, err
}

// changed polls the open mountinfo without waiting; true when it says
// the table changed since the last poll, or when it cannot tell.
func (w *mountWatch) changed() bool {
	fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLPRI}}
	n, err := unix.Poll(fds, 0)
	return err != nil || n > 0 && fds[0].Revents&(unix.POLLPRI|unix.POLLERR) != 0
}
