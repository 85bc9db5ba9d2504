//go:build !windows

package health

import (
	"io/fs"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// homeOwner is the account name of the owner of the home folder h.
func homeOwner(h string) string {
	fi, err := os.Lstat(h)
	if err != nil {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	u, err := user.LookupId(strconv.FormatUint(uint64(st.Uid), 10))
	if err != nil {
		return ""
	}
	return u.Username
}

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
