// Package execx is the only place the agent starts other programs.
//
// Commands are argv vectors, never shell strings. The program is found in
// the operating system's own directories only (not through $PATH, which a
// user could change), each run has a timeout that kills the whole process
// tree, and the output kept is bounded.
package execx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Defaults for Cmd fields left zero.
const (
	DefaultTimeout   = 60 * time.Second
	DefaultMaxOutput = 64 << 10
)

// ErrNotFound: the program is not installed in any system directory.
var ErrNotFound = errors.New("program not found in the system directories")

// TimeoutError: the program did not finish in time (its timeout or the
// caller's deadline) and was killed.
type TimeoutError struct {
	Program string
	After   time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s timed out after %s and was killed", e.Program, e.After)
}

// Cmd is one command to run.
type Cmd struct {
	// Argv is the program and its arguments. Argv[0] is a bare name looked
	// up in SystemDirs, or an absolute path.
	Argv []string
	// Timeout bounds the run; the process tree is killed when it passes.
	Timeout time.Duration
	// MaxOutput bounds the combined stdout and stderr kept.
	MaxOutput int
	// KeepTail keeps the last MaxOutput bytes instead of the first: for
	// logs, whose newest lines are at the end.
	KeepTail bool
	// Env, if non-nil, is the whole environment; nil means a minimal one
	// (PATH of the system directories, LANG=C).
	Env []string
	// Dir is the working directory; empty means the root directory.
	Dir string
	// OnLine, if set, is called with each line of output (stdout and
	// stderr) as it is written, without its newline and cut to
	// MaxLineLength bytes: how a caller follows a long command's
	// progress. It is called from one goroutine at a time and must not
	// block for long.
	OnLine func(line string)
}

// MaxLineLength bounds the lines Cmd.OnLine is given.
const MaxLineLength = 4096

// Result is what a command did.
type Result struct {
	Argv      []string
	ExitCode  int // -1 when it did not exit normally
	Output    string
	Truncated bool
	Duration  time.Duration
	// Err is set when the command could not start, timed out or exited
	// non-zero; it says which.
	Err error
}

// SystemDirs are searched for bare program names, in order.
func SystemDirs() []string {
	if runtime.GOOS == "windows" {
		root := os.Getenv("SystemRoot")
		if root == "" {
			root = `C:\Windows`
		}
		return []string{filepath.Join(root, "System32"), filepath.Join(root, "System32", "WindowsPowerShell", "v1.0"), root}
	}
	return []string{"/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin", "/usr/local/bin"}
}

// Find returns the absolute path of a program in SystemDirs.
func Find(name string) (string, error) {
	if filepath.IsAbs(name) {
		if isExecutable(name) {
			return name, nil
		}
		return "", fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	if strings.ContainsAny(name, `/\`) || name == "" {
		return "", fmt.Errorf("program name %q must be a bare name or an absolute path", name)
	}
	for _, dir := range SystemDirs() {
		for _, cand := range candidates(filepath.Join(dir, name)) {
			if isExecutable(cand) {
				return cand, nil
			}
		}
	}
	return "", fmt.Errorf("%s: %w", name, ErrNotFound)
}

func candidates(p string) []string {
	if runtime.GOOS == "windows" && filepath.Ext(p) == "" {
		return []string{p + ".exe", p + ".com"}
	}
	return []string{p}
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	if err != nil || st.IsDir() {
		return false
	}
	return runtime.GOOS == "windows" || st.Mode()&0o111 != 0
}

// Run runs c and waits for it. It never returns a nil Result; the error
// also sits in Result.Err.
func Run(ctx context.Context, c Cmd) (Result, error) {
	res := Result{Argv: append([]string(nil), c.Argv...), ExitCode: -1}
	if len(c.Argv) == 0 {
		res.Err = errors.New("empty command")
		return res, res.Err
	}
	prog, err := Find(c.Argv[0])
	if err != nil {
		res.Err = err
		return res, err
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	max := c.MaxOutput
	if max <= 0 {
		max = DefaultMaxOutput
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, c.Argv[1:]...)
	cmd.Env = c.Env
	if cmd.Env == nil {
		cmd.Env = []string{"PATH=" + strings.Join(SystemDirs(), string(os.PathListSeparator)), "LANG=C", "LC_ALL=C"}
		if runtime.GOOS == "windows" {
			cmd.Env = append(cmd.Env, "SystemRoot="+os.Getenv("SystemRoot"))
		}
	}
	cmd.Dir = c.Dir
	if cmd.Dir == "" {
		cmd.Dir = string(filepath.Separator)
		if runtime.GOOS == "windows" {
			cmd.Dir = os.Getenv("SystemRoot")
		}
	}
	out := &capped{max: max, tail: c.KeepTail}
	cmd.Stdout, cmd.Stderr = out, out
	var lines *lineSplitter
	if c.OnLine != nil {
		lines = &lineSplitter{w: out, fn: c.OnLine}
		cmd.Stdout, cmd.Stderr = lines, lines
	}
	setProcessGroup(cmd)
	cmd.Cancel = func() error { return killTree(cmd) }
	cmd.WaitDelay = 2 * time.Second
	start := time.Now()
	err = cmd.Run()
	if lines != nil {
		lines.flush()
	}
	res.Duration = time.Since(start)
	res.Output, res.Truncated = out.String(), out.truncated
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		res.Err = &TimeoutError{Program: c.Argv[0], After: timeout}
	case err != nil && res.ExitCode > 0:
		res.Err = fmt.Errorf("%s exited with status %d", c.Argv[0], res.ExitCode)
	case err != nil:
		res.Err = fmt.Errorf("%s: %w", c.Argv[0], err)
	}
	return res, res.Err
}

// Output runs argv with a timeout and a bound on the output kept, and
// returns the output, also when the command failed (the error says why).
// It is what readers that parse a program's output need of Run.
func Output(ctx context.Context, timeout time.Duration, max int, argv ...string) (string, error) {
	res, err := Run(ctx, Cmd{Argv: argv, Timeout: timeout, MaxOutput: max})
	return res.Output, err
}

// capped keeps the first (or, with tail, the last) max bytes written to it.
type capped struct {
	buf       bytes.Buffer
	max       int
	tail      bool
	truncated bool
}

func (c *capped) Write(p []byte) (int, error) {
	if c.tail {
		c.buf.Write(p)
		// Compact only when the buffer holds twice what is kept, so each
		// byte is copied a bounded number of times.
		if over := c.buf.Len() - c.max; over > 0 {
			c.truncated = true
			if c.buf.Len() >= 2*c.max {
				keep := append([]byte(nil), c.buf.Bytes()[over:]...)
				c.buf.Reset()
				c.buf.Write(keep)
			}
		}
		return len(p), nil
	}
	if room := c.max - c.buf.Len(); room > 0 {
		if len(p) > room {
			c.buf.Write(p[:room])
			c.truncated = true
		} else {
			c.buf.Write(p)
		}
	} else if len(p) > 0 {
		c.truncated = true
	}
	return len(p), nil
}

// String returns what was kept.
func (c *capped) String() string {
	b := c.buf.Bytes()
	if c.tail && len(b) > c.max {
		b = b[len(b)-c.max:]
	}
	return string(b)
}

// lineSplitter passes what is written on to w and hands each complete
// line to fn.
type lineSplitter struct {
	w       *capped
	fn      func(string)
	partial []byte // the line so far; what passes MaxLineLength is dropped
}

func (l *lineSplitter) Write(p []byte) (int, error) {
	n := len(p)
	l.w.Write(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if room := MaxLineLength - len(l.partial); len(chunk) > room {
			chunk = chunk[:room]
		}
		l.partial = append(l.partial, chunk...)
		if i < 0 {
			break
		}
		l.emit()
		p = p[i+1:]
	}
	return n, nil
}

func (l *lineSplitter) emit() {
	line := strings.TrimSuffix(string(l.partial), "\r")
	l.partial = l.partial[:0]
	l.fn(line)
}

// flush hands on a last line that had no newline.
func (l *lineSplitter) flush() {
	if len(l.partial) > 0 {
		l.emit()
	}
}
