//go:build !linux && !windows && !darwin

package netstate

import (
	"errors"
	"fmt"
	"runtime"
)

// ReadRouteTable is not implemented on this OS.
func ReadRouteTable(_ string) (Table, error) {
	return Table{}, fmt.Errorf("route table on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
