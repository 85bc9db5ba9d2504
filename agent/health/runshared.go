package health

import (
	"context"
	"sync"
	"time"

	"github.com/tierline/tierline/agent/netstate"
)

// sharedRead reads one thing for the several checks of a run that need it
// (the spooler's queues, the interfaces, the clock's sync state): a read
// within 5 s of the last one returns that one's result, unless the run
// verifies a change made after that read (RunAfter): a fix's checks after
// must not see the state from before it.
type sharedRead[T any] struct {
	read func(ctx context.Context) (T, error)

	mu  sync.Mutex
	at  time.Time
	v   T
	err error
}

func (r *sharedRead[T]) get(ctx context.Context) (T, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	after, verifying := ctx.Value(changedAtKey{}).(time.Time)
	if r.at.IsZero() || time.Since(r.at) >= 5*time.Second || verifying && !r.at.After(after) {
		r.v, r.err = r.read(ctx)
		r.at = time.Now()
	}
	return r.v, r.err
}

// changedAtKey carries, in a RunAfter's context, when the change being
// verified was made.
type changedAtKey struct{}

type (
	printReader = sharedRead[printState]
	syncReader  = sharedRead[syncState]
	linkReader  = sharedRead[[]netstate.Link]
)

func newLinkReader(root string) *linkReader {
	return &linkReader{read: func(context.Context) ([]netstate.Link, error) { return netstate.ReadLinks(root) }}
}
