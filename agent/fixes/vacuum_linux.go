package fixes

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tierline/tierline/agent/execx"
	"github.com/tierline/tierline/shared/diag"
)

// defaultJournalDirs are where journald keeps its files: persistent and
// volatile.
var defaultJournalDirs = []string{"/var/log/journal", "/run/log/journal"}

// vacuumJournals trims the journal with journalctl, then removes rotated
// logs in the log folder older than the given days, and says what that
// freed. The journal's size is measured before and after (its folders'
// allocated blocks), so the space freed is measured, not read from
// journalctl's words.
func (l *Local) vacuumJournals(ctx context.Context, x Executor, args map[string]string) ActionResult {
	mib, err1 := strconv.Atoi(args["max_mib"])
	days, err2 := strconv.Atoi(args["days"])
	if err1 != nil || err2 != nil || mib < 1 || days < 1 {
		return ActionResult{Err: fmt.Errorf("max_mib %q and days %q must be positive numbers", args["max_mib"], args["days"])}
	}
	jdirs := l.JournalDirs
	if jdirs == nil {
		jdirs = defaultJournalDirs
	}
	logDir := l.LogDir
	if logDir == "" {
		logDir = "/var/log"
	}
	var out strings.Builder
	before := dirsAllocated(jdirs)
	// The rotation first archives the live journal files, so the vacuum
	// can bound everything but the fresh ones journald starts. Two
	// commands: systemd 252's journalctl, given both, vacuums before the
	// rotation has finished and so deletes nothing.
	var jerr error
	for _, argv := range [][]string{
		{"journalctl", "--rotate"},
		{"journalctl", "--vacuum-size=" + strconv.Itoa(mib) + "M", "--vacuum-time=" + strconv.Itoa(days) + "d"},
	} {
		fmt.Fprintf(&out, "$ %s\n", strings.Join(argv, " "))
		xr, err := x.Run(ctx, execx.Cmd{Argv: argv, Timeout: 2 * time.Minute, MaxOutput: 32 << 10, KeepTail: true})
		out.WriteString(xr.Output)
		if err != nil {
			fmt.Fprintf(&out, "(%v)\n", err)
			if jerr == nil {
				jerr = fmt.Errorf("%s: %w", strings.Join(argv[:2], " "), err)
			}
		}
	}
	after := dirsAllocated(jdirs)
	var journalFreed int64
	if after < before {
		journalFreed = int64(before - after)
	}
	fmt.Fprintf(&out, "journal (%s): %s before, %s after\n", strings.Join(jdirs, ", "), diag.HumanBytes(before), diag.HumanBytes(after))

	cutoff := l.now().Add(-time.Duration(days) * 24 * time.Hour)
	var st TempStats
	if rerr := removeRotatedLogs(ctx, logDir, jdirs, cutoff, &st); rerr != nil && !os.IsNotExist(rerr) {
		fmt.Fprintf(&out, "%s: %v\n", logDir, rerr)
	}
	fmt.Fprintf(&out, "removed %d rotated logs older than %d days from %s, freeing %s; %d skipped because they are in use, %d could not be removed\n",
		st.Removed, days, logDir, diag.HumanBytes(uint64(st.BytesFreed)), st.SkippedInUse, st.Failed)
	freed := journalFreed + st.BytesFreed
	res := ActionResult{Output: out.String(), BytesFreed: freed,
		Summary: fmt.Sprintf("Trimmed the system logs, freeing %s: the journal went from %s to %s, and %s.",
			diag.HumanBytes(uint64(freed)), diag.HumanBytes(before), diag.HumanBytes(after), oldLogs(st.Removed))}
	switch {
	case ctx.Err() != nil:
		res.Err = fmt.Errorf("stopped part way: %w", ctx.Err())
	case jerr != nil:
		res.Err = jerr
		res.Summary = fmt.Sprintf("The journal could not be trimmed; %s, freeing %s.", oldLogs(st.Removed), diag.HumanBytes(uint64(st.BytesFreed)))
	}
	return res
}

// oldLogs says how many old log files were deleted.
func oldLogs(n int) string {
	switch n {
	case 0:
		return "no old log file was due for deletion"
	case 1:
		return "1 old log file was deleted"
	}
	return fmt.Sprintf("%d old log files were deleted", n)
}

// dirsAllocated is the disk space the files under dirs take.
func dirsAllocated(dirs []string) uint64 {
	var n uint64
	for _, d := range dirs {
		filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err != nil || !e.Type().IsRegular() {
				return nil
			}
			if fi, err := e.Info(); err == nil {
				if s, ok := fi.Sys().(*syscall.Stat_t); ok {
					n += uint64(s.Blocks) * 512
				}
			}
			return nil
		})
	}
	return n
}

// removeRotatedLogs removes the rotated logs under dir older than cutoff,
// with clear-temp's walk (directory file descriptors, nothing followed,
// files some process has open kept), leaving the journal's folders to
// journalctl and every live log alone.
func removeRotatedLogs(ctx context.Context, dir string, journalDirs []string, cutoff time.Time, st *TempStats) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: dir, Err: err}
	}
	skip := map[string]bool{}
	for _, j := range journalDirs {
		skip[filepath.Clean(j)] = true
	}
	w := tempWalk{ctx: ctx, cutoff: cutoff, inUse: openFiles(), owner: -1, st: st,
		keepFile: func(name string) bool { return !isRotatedLog(name) },
		skipDir:  func(path string) bool { return skip[filepath.Clean(path)] }}
	return w.dir(fd, dir, 0)
}
