package fixes

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
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
	// SkippedOthers are old files left alone because they belong to
	// another user than the one who asked.
	SkippedOthers int
}

// ClearTemp deletes regular files older than minAge under each root.
// Nothing leads it outside a root or into a place other than where it
// looked: on Unix it works through directory file descriptors, opening
// each directory relative to its parent without following symlinks and
// unlinking relative to the directory it statted the file in, so a
// directory swapped for a symlink while it runs is skipped, never
// followed (see clearRoot in cleartemp_unix.go; Windows uses os.Root).
// Symlinks themselves, directories, sockets and devices are left alone,
// and so are files some process has open (where the OS lets the agent
// see that). With owner >= 0 only files of that uid are removed (Unix): a run a
// local user asked for (WithRequester) cleans only that user's files, so
// the user cannot use the agent's root to delete other users' temporary
// files; a run the hub or the administrator asked for cleans every
// user's. Windows callers have no uid (their SID is not matched against
// file owners).
func ClearTemp(ctx context.Context, roots []string, minAge time.Duration, now time.Time) (TempStats, string) {
	return clearTempOf(ctx, roots, minAge, now, -1)
}

func clearTempOf(ctx context.Context, roots []string, minAge time.Duration, now time.Time, owner int) (TempStats, string) {
	var st TempStats
	var notes []string
	inUse := openFiles()
	cutoff := now.Add(-minAge)
	for _, dir := range roots {
		if err := clearRoot(ctx, dir, cutoff, inUse, owner, &st); err != nil && !errors.Is(err, fs.ErrNotExist) {
			notes = append(notes, fmt.Sprintf("%s: %v", dir, err))
		}
	}
	out := fmt.Sprintf("removed %d files older than %s from %v, freeing %s; %d skipped because they are in use, %d could not be removed\n",
		st.Removed, minAge, roots, diag.HumanBytes(uint64(st.BytesFreed)), st.SkippedInUse, st.Failed)
	if owner >= 0 {
		out += fmt.Sprintf("only files of the user who asked (uid %d) were considered; %d of other users were left alone\n", owner, st.SkippedOthers)
	}
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
	st, out := clearTempOf(ctx, roots, time.Duration(hours)*time.Hour, l.now(), Requester(ctx))
	if ctx.Err() != nil {
		return ActionResult{Output: out, Err: fmt.Errorf("stopped after removing %d files: %w", st.Removed, ctx.Err())}
	}
	return ActionResult{Output: out}
}
