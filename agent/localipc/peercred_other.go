//go:build !windows && !linux && !darwin

package localipc

import (
	"errors"
	"runtime"
)

const isDarwin = false

func peerCred(fd int) (uid, pid int, err error) {
	return 0, 0, errors.New("peer credentials are not implemented on " + runtime.GOOS)
}
