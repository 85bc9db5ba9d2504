package health

import (
	"io/fs"
	"path/filepath"
)

// homeOwner is the profile folder's name, which Windows makes from the
// account name.
func homeOwner(h string) string { return filepath.Base(h) }

// deviceOf: Windows gives no device number through os.Stat; the places
// walked are those on the full volume by their drive letter instead.
func deviceOf(fs.FileInfo) (uint64, bool) { return 0, false }

// allocated is a file's size.
func allocated(fi fs.FileInfo) uint64 { return uint64(fi.Size()) }
