//go:build !linux

package fixes

import (
	"errors"
	"io/fs"
	"runtime"
	"syscall"
)

type fileKey struct{}

func fileKeyOf(fs.FileInfo) fileKey { return fileKey{} }

// openFiles is not known cheaply here: Windows refuses to delete an open
// file (isInUse), and on macOS deleting an open file leaves it readable to
// whoever holds it.
func openFiles() map[fileKey]bool { return nil }

// isInUse reports Windows' sharing violation (ERROR_SHARING_VIOLATION 32,
// ERROR_LOCK_VIOLATION 33, ERROR_ACCESS_DENIED 5 for files mapped in use).
func isInUse(err error) bool {
	var errno syscall.Errno
	if runtime.GOOS != "windows" || !errors.As(err, &errno) {
		return false
	}
	return errno == 32 || errno == 33 || errno == 5
}

func statKey(dev, ino uint64) fileKey { return fileKey{} }
