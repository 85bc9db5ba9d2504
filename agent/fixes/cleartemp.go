package fixes

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/tierline/tierline/shared/diag"
)

// TempStats is what clear-temp did in one run.
type TempStats struct {
	Removed      int
	BytesFreed   int64
	SkippedInUse int
	Failed       int
}

// ClearTemp deletes regular files older than minAge under each root. It
// works through os.Root, so neither a symlink found in the walk nor one
// swapped in while it runs can lead it outside a root; symlinks themselves,
// directories, sockets and devices are left alone, and so are files some
// process has open (where the OS lets the agent see that).
func ClearTemp(ctx context.Context, roots []string, minAge time.Duration, now time.Time) (TempStats, string) {
	var st TempStats
	var notes []string
	inUse := openFiles()
	cutoff := now.Add(-minAge)
	for _, dir := range roots {
		root, err := os.OpenRoot(dir)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				notes = append(notes, fmt.Sprintf("%s: %v", dir, err))
			}
			continue
		}
		fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
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
		root.Close()
	}
	out := fmt.Sprintf("removed %d files older than %s from %v, freeing %s; %d skipped because they are in use, %d could not be removed\n",
		st.Removed, minAge, roots, diag.HumanBytes(uint64(st.BytesFreed)), st.SkippedInUse, st.Failed)
	for _, n := range notes {
		out += n + "\n"
	}
	return st, out
}

func (l *Local) clearTemp(ctx context.Context, args map[string]string) ActionResult {
	hours, err := strconv.Atoi(args["min_age_hours"])
	if err != nil || hours < 1 {
		return ActionResult{Err: fmt.Errorf("min_age_hours %q is not a positive number", args["min_age_hours"])}
	}
	roots := slices.Clone(l.TempRoots)
	if roots == nil {
		roots = DefaultTempRoots()
	}
	for i, r := range roots {
		roots[i] = filepath.Clean(r)
	}
	st, out := ClearTemp(ctx, roots, time.Duration(hours)*time.Hour, l.now())
	if ctx.Err() != nil {
		return ActionResult{Output: out, Err: fmt.Errorf("stopped after removing %d files: %w", st.Removed, ctx.Err())}
	}
	return ActionResult{Output: out}
}
