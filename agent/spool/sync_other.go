package spool

import (
	"errors"
	"io/fs"
	"runtime"
	"syscall"
)

// isSyncUnsupported reports errors from fsyncing a directory on systems
// that do not support it (Windows), which are safe to ignore.
func isSyncUnsupported(err error) bool {
	if runtime.GOOS == "windows" {
		return true
	}
	return errors.Is(err, syscall.EINVAL) || errors.Is(err, fs.ErrInvalid)
}
