package fixes

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/tierline/tierline/agent/execx"
)

// Executor carries out a plan's steps. The production value is Local:
// commands through execx.Run, actions by the agent's own code. Tests wrap
// it to record what would run.
type Executor interface {
	Run(ctx context.Context, c execx.Cmd) (execx.Result, error)
	Do(ctx context.Context, a Action) ActionResult
}

// ActionResult is what a built-in action did.
type ActionResult struct {
	Output     string
	Bundle     []byte
	BundleName string
	// Err: the action failed.
	Err error
	// NotApplicable: there was nothing to act on (no such process, ...).
	NotApplicable string
	// Refused: the action found it must not act (a system-critical process).
	Refused *RefusalError
	// BytesFreed is the disk space the action freed (the disk fixes).
	BytesFreed int64
	// Summary is what the action did in plain words for the user (how
	// much space it freed); the runner adds it to the result's reason.
	Summary string
}

// Local is the real executor.
type Local struct {
	// TempRoots are the directories clear-temp cleans; nil means
	// DefaultTempRoots for this OS.
	TempRoots []string
	// LogFiles are plain log files collect-logs adds (their tails); nil
	// means the OS's usual ones.
	LogFiles []string
	// KillGrace is how long end-process waits after SIGTERM before SIGKILL
	// (default 5 s).
	KillGrace time.Duration
	// LogDir is where vacuum-journals looks for rotated logs (default
	// /var/log); JournalDirs are the journal's folders it measures
	// (default /var/log/journal and /run/log/journal).
	LogDir      string
	JournalDirs []string
	// LookupUser and ConsoleUser, when set, replace the account database
	// and the OS's idea of who is at the screen for empty-trash and
	// clear-user-caches (tests).
	LookupUser  func(name string, uid int) (homeUser, error)
	ConsoleUser func() (homeUser, error)
	// Hostname names the log bundle.
	Hostname string
	Now      func() time.Time
}

var _ Executor = (*Local)(nil)

// Run runs a command through execx.
func (l *Local) Run(ctx context.Context, c execx.Cmd) (execx.Result, error) { return execx.Run(ctx, c) }

// Do runs a built-in action.
func (l *Local) Do(ctx context.Context, a Action) ActionResult {
	switch a.Name {
	case ActClearTemp:
		return l.clearTemp(ctx, a.Args)
	case ActEndProcess:
		return l.endProcess(ctx, a.Args)
	case ActCollectLogs:
		return l.collectLogs(ctx, l, a.Args)
	case ActClearPrintQueue:
		return l.clearPrintQueue(ctx)
	case ActResumePrinters:
		return resumePrinters(ctx, l)
	case ActEmptyTrash, ActClearUserCaches:
		return l.emptyUserFolders(ctx, a.Name, a.Args)
	case ActVacuumJournals:
		return l.vacuumJournals(ctx, l, a.Args)
	case ActVerifyPackage:
		return verifyPackage(ctx, a.Args)
	}
	return ActionResult{Err: fmt.Errorf("no built-in action %q", a.Name)}
}

func (l *Local) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// DefaultTempRoots are the temporary directories of the OS: the system's
// and, on Windows, each profile's.
func DefaultTempRoots() []string {
	switch runtime.GOOS {
	case "windows":
		sysRoot := os.Getenv("SystemRoot")
		if sysRoot == "" {
			sysRoot = `C:\Windows`
		}
		roots := []string{filepath.Join(sysRoot, "Temp")}
		drive := os.Getenv("SystemDrive")
		if drive == "" {
			drive = "C:"
		}
		profiles, _ := filepath.Glob(filepath.Join(drive+`\`, "Users", "*", "AppData", "Local", "Temp"))
		return append(roots, profiles...)
	case "darwin":
		return []string{"/private/tmp", "/private/var/tmp"}
	default:
		return []string{"/tmp", "/var/tmp"}
	}
}

// clearPrintQueue empties the Windows spool folder while the Spooler is
// stopped.
func (l *Local) clearPrintQueue(ctx context.Context) ActionResult {
	if runtime.GOOS != "windows" {
		return ActionResult{NotApplicable: "the print queue folder exists only on Windows"}
	}
	sysRoot := os.Getenv("SystemRoot")
	if sysRoot == "" {
		sysRoot = `C:\Windows`
	}
	dir := filepath.Join(sysRoot, "System32", "spool", "PRINTERS")
	root, err := os.OpenRoot(dir)
	if err != nil {
		return ActionResult{Err: fmt.Errorf("open the print queue folder: %w", err)}
	}
	defer root.Close()
	des, err := os.ReadDir(dir)
	if err != nil {
		return ActionResult{Err: fmt.Errorf("read the print queue folder: %w", err)}
	}
	removed, failed := 0, 0
	for _, de := range des {
		if ctx.Err() != nil {
			break
		}
		if !de.Type().IsRegular() {
			continue
		}
		if root.Remove(de.Name()) == nil {
			removed++
		} else {
			failed++
		}
	}
	return ActionResult{Output: fmt.Sprintf("removed %d queued print files from %s; %d could not be removed\n", removed, dir, failed)}
}
