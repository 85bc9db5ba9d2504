//go:build !linux

package health

import (
	"context"

	"github.com/shirou/gopsutil/v4/disk"
)

// mounts lists the machine's filesystems each time (mounts_linux.go
// remembers them between changes of the mount table).
var mounts mountWatch

type mountWatch struct{}

func (mountWatch) partitions(ctx context.Context) ([]disk.PartitionStat, error) {
	return disk.PartitionsWithContext(ctx, true)
}
