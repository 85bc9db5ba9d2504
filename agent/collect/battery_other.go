//go:build !linux && !windows

package collect

import (
	"runtime"

	"github.com/tierline/tierline/shared/diag"
)

// ReadBattery is not implemented on macOS yet: the battery lives in IOKit
// (AppleSmartBattery), which needs cgo; it is reported as unavailable.
func ReadBattery(_ string) (*diag.Battery, error) {
	return nil, noData("battery not implemented on %s", runtime.GOOS)
}
