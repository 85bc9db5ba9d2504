package health

import (
	"context"
	"time"

	"github.com/tierline/tierline/agent/execx"
)

// readTimeSync asks the Windows Time service.
func readTimeSync(ctx context.Context) (syncState, error) {
	out, err := execx.Output(ctx, 10*time.Second, 16<<10, "w32tm", "/query", "/status")
	if err != nil {
		return syncState{}, err
	}
	return parseW32tm(out), nil
}
