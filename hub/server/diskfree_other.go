//go:build !(linux || darwin || freebsd || windows)

package server

import "errors"

func diskFree(string) (uint64, error) { return 0, errors.ErrUnsupported }
