//go:build !linux && !windows && !darwin

package health

import (
	"context"
	"errors"
)

func readTimeSync(context.Context) (syncState, error) { return syncState{}, errors.ErrUnsupported }
