//go:build !linux && !darwin && !windows

package fixes

import "errors"

func consoleUser() (homeUser, error) {
	return homeUser{}, errors.ErrUnsupported
}
