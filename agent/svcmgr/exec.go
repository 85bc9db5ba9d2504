//go:build linux || darwin

package svcmgr

import (
	"context"
	"time"

	"github.com/tierline/tierline/agent/execx"
)

// run is execx.Run; tests replace it to feed recorded output.
var run = execx.Run

func output(ctx context.Context, timeout time.Duration, max int, argv ...string) (string, error) {
	res, err := run(ctx, execx.Cmd{Argv: argv, Timeout: timeout, MaxOutput: max})
	return res.Output, err
}
