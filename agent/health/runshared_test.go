package health

import (
	"context"
	"testing"
	"time"

	"github.com/tierline/tierline/shared/diag"
)

// TestSharedReadAfterAChange: checks of one run share a read, but the
// checks that verify a change (RunAfter) read again when the shared read
// is from before the change. A fix's "after" must not see the state from
// before it (enable-interface was once reported not fixed this way).
func TestSharedReadAfterAChange(t *testing.T) {
	state := "off"
	reads := 0
	sr := &sharedRead[string]{read: func(context.Context) (string, error) { reads++; return state, nil }}
	r := NewRunnerOf(time.Second, Func("link", func(ctx context.Context) diag.CheckResult {
		v, _ := sr.get(ctx)
		return diag.CheckResult{Name: "link", Status: diag.StatusOK, Summary: v}
	}))
	if got := r.Run(context.Background())[0].Summary; got != "off" {
		t.Fatalf("before: %q", got)
	}
	if got := r.Run(context.Background())[0].Summary; got != "off" || reads != 1 {
		t.Fatalf("a second run within 5 s: %q after %d reads; want the shared read", got, reads)
	}
	changed := time.Now()
	state = "on"
	if got := r.RunAfter(context.Background(), changed)[0].Summary; got != "on" || reads != 2 {
		t.Fatalf("verifying a change: %q after %d reads; want a fresh read", got, reads)
	}
	if got := r.RunAfter(context.Background(), changed)[0].Summary; got != "on" || reads != 2 {
		t.Fatalf("a read made after the change is shared again: %q after %d reads", got, reads)
	}
}
