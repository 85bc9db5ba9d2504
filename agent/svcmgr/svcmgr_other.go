//go:build !linux && !windows && !darwin

package svcmgr

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/tierline/tierline/shared/diag"
)

// Query is not implemented outside Linux, macOS and Windows.
func Query(_ context.Context, _ []string) ([]Status, error) {
	return nil, fmt.Errorf("service states on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

// List is not implemented outside Linux, macOS and Windows.
func List(_ context.Context, _ ListOptions) ([]diag.Service, error) {
	return nil, fmt.Errorf("services on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

// LastLog is not implemented outside Linux, macOS and Windows.
func LastLog(_ context.Context, name string) ([]string, error) {
	return nil, fmt.Errorf("log of %s on %s: %w", name, runtime.GOOS, errors.ErrUnsupported)
}
