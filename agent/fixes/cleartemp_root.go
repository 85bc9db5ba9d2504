//go:build !unix

package fixes

import (
	"context"
	"io/fs"
	"os"
	"time"
)

// clearRoot removes the old regular files under dir through os.Root, so
// no symlink or junction leads outside dir. Unlike the Unix version it
// looks files up by path below dir, so a directory swapped for a link to
// another directory inside dir while it runs could redirect a delete
// there; on Windows the temp roots are the system's and each profile's
// own, and a file in use cannot be deleted at all. owner is not used
// (Windows callers have no uid).
func clearRoot(ctx context.Context, dir string, cutoff time.Time, inUse map[fileKey]bool, owner int, st *TempStats) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	return fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if ctx.Err() != nil {
			return fs.SkipAll
		}
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil || !info.ModTime().Before(cutoff) {
			return nil
		}
		if inUse != nil && inUse[fileKeyOf(info)] {
			st.SkippedInUse++
			return nil
		}
		if err := root.Remove(p); err != nil {
			// Windows refuses to delete a file that is open.
			if isInUse(err) {
				st.SkippedInUse++
			} else {
				st.Failed++
			}
			return nil
		}
		st.Removed++
		st.BytesFreed += info.Size()
		return nil
	})
}
