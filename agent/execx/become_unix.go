//go:build !windows

package execx

import (
	"fmt"
	"os"
	"syscall"
)

func become(path string, args []string) (int, error) {
	err := syscall.Exec(path, append([]string{path}, args...), os.Environ())
	return -1, fmt.Errorf("start %s: %w", path, err)
}
