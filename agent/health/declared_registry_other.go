//go:build !windows

package health

import (
	"errors"
	"fmt"
	"runtime"
)

// readRegistry: there is no registry outside Windows (registry checks
// apply to Windows only and do not run here).
func readRegistry(_, _ string) (string, bool, error) {
	return "", false, fmt.Errorf("registry on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
