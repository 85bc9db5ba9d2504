//go:build !windows

package health

import (
	"io/fs"
	"syscall"
)

// deviceOf returns the device a file is on.
func deviceOf(fi fs.FileInfo) (uint64, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return uint64(st.Dev), true
}

// allocated is the disk space a file takes (its blocks, so a sparse file
// counts for what it really holds).
func allocated(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Blocks > 0 {
		return uint64(st.Blocks) * 512
	}
	return uint64(fi.Size())
}
