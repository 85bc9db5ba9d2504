//go:build !linux && !windows && !darwin

package health

import (
	"context"
	"errors"
	"fmt"
	"runtime"
)

// serviceStates outside Linux and Windows is not implemented.
func serviceStates(_ context.Context, _ []string) ([]serviceState, error) {
	return nil, fmt.Errorf("service states on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
