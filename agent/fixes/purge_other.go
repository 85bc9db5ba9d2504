//go:build !unix

package fixes

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// purgeFolder empties base/rel through os.Root, so no symlink or junction
// leads outside it: each element of rel must be a real folder (a link is
// refused), links met below are removed themselves (never followed), and
// other reparse points (junctions, mount points) are left alone. Files in
// use are skipped because Windows refuses to delete them.
func purgeFolder(ctx context.Context, base string, rel []string, inUse map[fileKey]bool) (PurgeStats, error) {
	var st PurgeStats
	root, err := os.OpenRoot(base)
	if err != nil {
		return st, err
	}
	defer root.Close()
	p := "."
	for _, e := range rel {
		if e == "" || e == "." || e == ".." {
			return st, fmt.Errorf("bad folder name %q", e)
		}
		p = filepath.Join(p, e)
		fi, err := root.Lstat(p)
		if err != nil {
			return st, err
		}
		if !fi.IsDir() || fi.Mode()&(fs.ModeSymlink|fs.ModeIrregular) != 0 {
			return st, fmt.Errorf("%s %w", filepath.Join(base, p), errLinkRefused)
		}
	}
	sub, err := root.OpenRoot(p)
	if err != nil {
		return st, err
	}
	defer sub.Close()
	var dirs []string
	fs.WalkDir(sub.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if ctx.Err() != nil {
			return fs.SkipAll
		}
		if err != nil {
			st.Failed++
			return nil
		}
		if p == "." {
			return nil
		}
		switch t := d.Type(); {
		case t&fs.ModeIrregular != 0:
			// A junction or mount point (checked before IsDir, which a
			// junction may also report): not ours to follow or remove.
			st.OtherFS++
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		case d.IsDir():
			dirs = append(dirs, p)
			return nil
		}
		info, ierr := d.Info()
		if err := sub.Remove(p); err != nil {
			if isInUse(err) {
				st.SkippedInUse++
			} else {
				st.Failed++
			}
			return nil
		}
		st.Removed++
		if ierr == nil && info.Mode().IsRegular() {
			st.BytesFreed += info.Size()
		}
		return nil
	})
	slices.Reverse(dirs)
	for _, d := range dirs {
		if sub.Remove(d) == nil {
			st.Dirs++
		}
	}
	return st, nil
}
