package execx

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// ErrNoCompanion: a program that ships with the agent is not installed
// beside it.
var ErrNoCompanion = errors.New("not installed beside this program")

// Companion returns the path of program name installed in the same
// directory as the running executable (name.exe on Windows), as the
// packages install the tray beside the agent. Only that directory is
// searched, never $PATH.
func Companion(name string) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find this program's directory: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(self); err == nil {
		self = resolved
	}
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	p := filepath.Join(filepath.Dir(self), name)
	if !isExecutable(p) {
		return p, fmt.Errorf("%s: %w", p, ErrNoCompanion)
	}
	return p, nil
}

// Become runs the program at path with args, with this process's
// environment and standard streams, in place of this process. On Unix the
// process is replaced (execve), so signals and the exit status are the
// program's own and Become returns only when it could not start. Windows
// cannot replace a process: there the program runs as a child and Become
// returns its exit status.
func Become(path string, args []string) (int, error) {
	return become(path, args)
}
