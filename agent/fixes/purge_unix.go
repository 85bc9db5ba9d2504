//go:build unix

package fixes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// purgeFolder empties base/rel (keeping the folder itself). base is the
// administrator's path (a home from the account database) and is opened
// as it is; each element of rel, and everything below, is opened
// relative to its parent with O_NOFOLLOW, so a symlink anywhere on the
// way (~/.cache -> /etc) or swapped in while it runs is refused, never
// followed. Entries are statted and unlinked relative to the directory
// they were found in; symlinks are unlinked themselves; directories on
// another filesystem (a mount inside the folder) are left alone; regular
// files some process has open are kept.
func purgeFolder(ctx context.Context, base string, rel []string, inUse map[fileKey]bool) (PurgeStats, error) {
	var st PurgeStats
	fd, err := unix.Open(base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return st, &os.PathError{Op: "open", Path: base, Err: err}
	}
	name := base
	for _, e := range rel {
		if e == "" || e == "." || e == ".." || strings.ContainsRune(e, '/') {
			unix.Close(fd)
			return st, fmt.Errorf("bad folder name %q", e)
		}
		next, err := unix.Openat(fd, e, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		name += "/" + e
		switch {
		case errors.Is(err, unix.ENOENT):
			return st, &os.PathError{Op: "open", Path: name, Err: os.ErrNotExist}
		case errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR):
			return st, fmt.Errorf("%s %w", name, errLinkRefused)
		case err != nil:
			return st, &os.PathError{Op: "open", Path: name, Err: err}
		}
		fd = next
	}
	var s unix.Stat_t
	if err := unix.Fstat(fd, &s); err != nil {
		unix.Close(fd)
		return st, &os.PathError{Op: "stat", Path: name, Err: err}
	}
	w := purgeWalk{ctx: ctx, dev: uint64(s.Dev), inUse: inUse, st: &st}
	w.dir(fd, name, 0)
	return st, nil
}

type purgeWalk struct {
	ctx   context.Context
	dev   uint64
	inUse map[fileKey]bool
	st    *PurgeStats
}

// dir empties the directory open as fd and closes fd.
func (w *purgeWalk) dir(fd int, name string, depth int) {
	dup, err := unix.Dup(fd)
	if err != nil {
		unix.Close(fd)
		w.st.Failed++
		return
	}
	unix.CloseOnExec(dup)
	f := os.NewFile(uintptr(dup), name)
	defer f.Close()
	defer unix.Close(fd)
	for w.ctx.Err() == nil {
		names, err := f.Readdirnames(1024)
		for _, n := range names {
			if w.ctx.Err() != nil {
				return
			}
			w.entry(fd, name, n, depth)
		}
		if err != nil {
			return // io.EOF, or the directory went away
		}
	}
}

func (w *purgeWalk) entry(fd int, parent, n string, depth int) {
	var s unix.Stat_t
	if err := unix.Fstatat(fd, n, &s, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return
	}
	switch s.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		if uint64(s.Dev) != w.dev {
			w.st.OtherFS++
			return
		}
		if depth+1 >= maxTempDepth {
			w.st.Failed++
			return
		}
		sub, err := unix.Openat(fd, n, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			// A symlink swapped in since the stat: not followed.
			w.st.Failed++
			return
		}
		var now unix.Stat_t
		if unix.Fstat(sub, &now) != nil || uint64(now.Dev) != w.dev {
			// Something was mounted there since the stat.
			unix.Close(sub)
			w.st.OtherFS++
			return
		}
		w.dir(sub, parent+"/"+n, depth+1)
		if err := unix.Unlinkat(fd, n, unix.AT_REMOVEDIR); err == nil {
			w.st.Dirs++
		}
	default:
		regular := s.Mode&unix.S_IFMT == unix.S_IFREG
		if regular && w.inUse != nil && w.inUse[statKey(uint64(s.Dev), uint64(s.Ino))] {
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
		// A file with another name elsewhere (a hard link) frees nothing.
		if regular && s.Nlink <= 1 {
			w.st.BytesFreed += s.Blocks * 512
		}
	}
}

// freeSpace is the space free to unprivileged users on the filesystem
// holding path.
func freeSpace(path string) (uint64, bool) {
	var s unix.Statfs_t
	if err := unix.Statfs(path, &s); err != nil {
		return 0, false
	}
	return uint64(s.Bavail) * uint64(s.Bsize), true
}

func windowsDrives() []string { return nil }
