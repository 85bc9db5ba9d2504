package health

import (
	"context"
	"time"

	"github.com/tierline/tierline/agent/execx"
)

// run is execx.Run; tests replace it to feed recorded output to the
// checks. Checks run commands only where the OS offers no cheaper source,
// and only when the check needs them.
var run = execx.Run

func output(ctx context.Context, timeout time.Duration, max int, argv ...string) (string, error) {
	res, err := run(ctx, execx.Cmd{Argv: argv, Timeout: timeout, MaxOutput: max})
	return res.Output, err
}
