//go:build !linux

package netstate

import "errors"

func liveLinks() ([]Link, error) { return nil, errors.ErrUnsupported }
