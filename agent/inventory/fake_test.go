package inventory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tierline/tierline/agent/execx"
)

// fakeExec replaces run and find for one test: programs maps a program
// name to its recorded output ("!" prefix: the command fails with that
// output). Missing programs are not installed. It records the argv run.
type fakeExec struct {
	programs map[string]string
	ran      []string
}

func (f *fakeExec) install(t *testing.T) {
	t.Helper()
	oldRun, oldFind := run, find
	t.Cleanup(func() { run, find = oldRun, oldFind })
	find = func(name string) (string, error) {
		if _, ok := f.programs[name]; ok {
			return "/usr/bin/" + name, nil
		}
		return "", fmt.Errorf("%s: %w", name, execx.ErrNotFound)
	}
	run = func(_ context.Context, c execx.Cmd) (execx.Result, error) {
		f.ran = append(f.ran, strings.Join(c.Argv, " "))
		out, ok := f.programs[c.Argv[0]]
		if !ok {
			err := fmt.Errorf("%s: %w", c.Argv[0], execx.ErrNotFound)
			return execx.Result{Argv: c.Argv, ExitCode: -1, Err: err}, err
		}
		if rest, failed := strings.CutPrefix(out, "!"); failed {
			err := errors.New(c.Argv[0] + " exited with status 1")
			return execx.Result{Argv: c.Argv, ExitCode: 1, Output: rest, Err: err}, err
		}
		return execx.Result{Argv: c.Argv, Output: out}, nil
	}
}
