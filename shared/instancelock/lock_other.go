//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || windows)

package instancelock

import "os"

// tryLock: no file lock on this system; the owner line is still written.
func tryLock(*os.File) (bool, error) { return false, nil }
