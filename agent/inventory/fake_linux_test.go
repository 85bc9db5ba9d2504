package inventory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/execx"
)

// fakeExec replaces output and find for one test: programs maps a program
// name to its recorded output ("!" prefix: the command fails with that
// output). Missing programs are not installed. It records the argv run.
type fakeExec struct {
	programs map[string]string
	ran      []string
}

func (f *fakeExec) install(t *testing.T) {
	t.Helper()
	oldOutput, oldFind := output, find
	t.Cleanup(func() { output, find = oldOutput, oldFind })
	find = func(name string) (string, error) {
		if _, ok := f.programs[name]; ok {
			return "/usr/bin/" + name, nil
		}
		return "", fmt.Errorf("%s: %w", name, execx.ErrNotFound)
	}
	output = func(_ context.Context, _ time.Duration, _ int, argv ...string) (string, error) {
		f.ran = append(f.ran, strings.Join(argv, " "))
		out, ok := f.programs[argv[0]]
		if !ok {
			return "", fmt.Errorf("%s: %w", argv[0], execx.ErrNotFound)
		}
		if rest, failed := strings.CutPrefix(out, "!"); failed {
			return rest, errors.New(argv[0] + " exited with status 1")
		}
		return out, nil
	}
}
