package inventory

import (
	"context"
	"time"

	"github.com/tierline/tierline/agent/execx"
)

// run and find are execx.Run and execx.Find; tests replace them to feed
// recorded output to the readers. Every command the inventory runs goes
// through them, at inventory time only (start, then hourly and on request),
// never per telemetry sample.
var (
	run  = execx.Run
	find = execx.Find
)

// output runs argv with a timeout and an output bound and returns its
// output, or the error that says why there is none.
func output(ctx context.Context, timeout time.Duration, max int, argv ...string) (string, error) {
	res, err := run(ctx, execx.Cmd{Argv: argv, Timeout: timeout, MaxOutput: max})
	if err != nil {
		return res.Output, err
	}
	return res.Output, nil
}
