package health

import (
	"context"
	"sync"

	"github.com/tierline/tierline/agent/netstate"
)

// sharedRead reads one thing for the several checks of a run that need it
// (the spooler's queues, the interfaces, the clock's sync state): the
// checks of one Runner run share one read; every other run, and a check
// run on its own, reads afresh. (A time window instead let the checks
// after a fix, seconds after the ones before it, see the state from before
// the fix.)
type sharedRead[T any] struct {
	read func(ctx context.Context) (T, error)

	mu  sync.Mutex
	run *runToken // the run the value was read for
	v   T
	err error
}

func (r *sharedRead[T]) get(ctx context.Context) (T, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	tok, _ := ctx.Value(runKey{}).(*runToken)
	if tok == nil || tok != r.run {
		r.v, r.err = r.read(ctx)
		r.run = tok
	}
	return r.v, r.err
}

// runToken tells one Runner run from another (a pointer to a non-empty
// struct, so each is distinct).
type runToken struct{ _ byte }

type runKey struct{}

// withRun marks ctx as one run's, whose checks share their reads.
func withRun(ctx context.Context) context.Context {
	return context.WithValue(ctx, runKey{}, &runToken{})
}

type (
	printReader = sharedRead[printState]
	syncReader  = sharedRead[syncState]
	linkReader  = sharedRead[[]netstate.Link]
)

func newLinkReader(root string) *linkReader {
	return &linkReader{read: func(context.Context) ([]netstate.Link, error) { return netstate.ReadLinks(root) }}
}
