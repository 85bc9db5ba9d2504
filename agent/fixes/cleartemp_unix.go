//go:build unix

package fixes

import (
	"context"
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// maxTempDepth bounds how deep clear-temp goes: each level holds a
// directory open, and a user could nest directories without end.
const maxTempDepth = 64

// clearRoot removes the old regular files under dir through directory
// file descriptors. Each directory is opened relative to its parent with
// O_NOFOLLOW, each entry is statted and unlinked relative to the
// directory it was found in, and nothing is ever looked up by a path
// below dir. So swapping a directory for a symlink (to another user's
// directory, inside the root or out) while it runs gets the swapped name
// skipped: it cannot make the agent delete files somewhere else.
// Symlinks are left alone, never followed.
func clearRoot(ctx context.Context, dir string, cutoff time.Time, inUse map[fileKey]bool, owner int, st *TempStats) error {
	// The root itself is the administrator's path and may be a symlink
	// (/tmp on macOS); below it nothing is followed.
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: dir, Err: err}
	}
	w := tempWalk{ctx: ctx, cutoff: cutoff, inUse: inUse, owner: owner, st: st}
	return w.dir(fd, dir, 0)
}

type tempWalk struct {
	ctx    context.Context
	cutoff time.Time
	inUse  map[fileKey]bool
	owner  int
	st     *TempStats
	// keepFile, when set, keeps the files whose name it accepts whatever
	// their age (vacuum-journals removes only rotated logs); skipDir keeps
	// out of the directories (by path) it accepts.
	keepFile func(name string) bool
	skipDir  func(path string) bool
}

// dir cleans the directory open as fd (named name, for errors) and closes
// fd.
func (w *tempWalk) dir(fd int, name string, depth int) error {
	// Names are read through a duplicate, so fd stays ours for *at calls.
	dup, err := unix.Dup(fd)
	if err != nil {
		unix.Close(fd)
		return &os.PathError{Op: "dup", Path: name, Err: err}
	}
	unix.CloseOnExec(dup)
	f := os.NewFile(uintptr(dup), name)
	defer f.Close()
	defer unix.Close(fd)
	for w.ctx.Err() == nil {
		names, err := f.Readdirnames(1024)
		for _, n := range names {
			if w.ctx.Err() != nil {
				return nil
			}
			w.entry(fd, name, n, depth)
		}
		if err != nil {
			return nil // io.EOF, or the directory went away
		}
	}
	return nil
}

func (w *tempWalk) entry(fd int, parent, n string, depth int) {
	var s unix.Stat_t
	if err := unix.Fstatat(fd, n, &s, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return
	}
	switch s.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		if depth+1 >= maxTempDepth || w.skipDir != nil && w.skipDir(parent+"/"+n) {
			return
		}
		// O_NOFOLLOW: if n is a symlink by now, this fails (ELOOP) and
		// the name is skipped.
		sub, err := unix.Openat(fd, n, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return
		}
		_ = w.dir(sub, parent+"/"+n, depth+1)
	case unix.S_IFREG:
		sec, nsec := s.Mtim.Unix()
		if !time.Unix(sec, nsec).Before(w.cutoff) || w.keepFile != nil && w.keepFile(n) {
			return
		}
		if w.owner >= 0 && int(s.Uid) != w.owner {
			w.st.SkippedOthers++
			return
		}
		if w.inUse != nil && w.inUse[statKey(uint64(s.Dev), uint64(s.Ino))] {
			w.st.SkippedInUse++
			return
		}
		// Relative to fd: whatever n is now, it is this directory's
		// entry; unlink never follows a symlink.
		if err := unix.Unlinkat(fd, n, 0); err != nil {
			if !errors.Is(err, unix.ENOENT) {
				w.st.Failed++
			}
			return
		}
		w.st.Removed++
		w.st.BytesFreed += s.Size
	}
}
