package health

import (
	"context"
	"io/fs"
	"sync"
	"time"

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

// stamp tells that a file changed without reading it: its size and
// modification time (a rewrite to the same size within one tick of the
// filesystem's clock goes unseen until its next change).
type stamp struct {
	size int64
	mod  time.Time
}

func stampOf(fi fs.FileInfo) stamp { return stamp{size: fi.Size(), mod: fi.ModTime()} }

func (s stamp) same(o stamp) bool { return s.size == o.size && s.mod.Equal(o.mod) }
