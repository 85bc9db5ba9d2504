//go:build linux || darwin || freebsd

package server

import "golang.org/x/sys/unix"

// diskFree is the space an unprivileged writer may still use in dir's file system.
func diskFree(dir string) (uint64, error) {
	var s unix.Statfs_t
	if err := unix.Statfs(dir, &s); err != nil {
		return 0, err
	}
	return uint64(s.Bavail) * uint64(s.Bsize), nil
}
