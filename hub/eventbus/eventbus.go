// Package eventbus is an in-process publish/subscribe bus for values of
// one type. Each subscriber has its own buffered queue and goroutine, so a
// slow subscriber never holds up the publisher or the other subscribers.
//
// The rule when a subscriber's queue is full: Publish drops the value for
// that subscriber, counts it, and calls the subscriber's Dropped hook (on
// the publisher's goroutine, so the hook must not block). The bus never
// waits. A subscriber that cannot afford to lose values must repair from
// the record itself (the hub's subscribers do: the database holds every
// ticket change; see hub/tickets).
package eventbus

import (
	"context"
	"sync"
	"sync/atomic"
)

// DefaultQueue is a subscriber's queue length when Subscriber.Queue is 0.
const DefaultQueue = 256

// Bus delivers published values to its subscribers. The zero value is not
// usable; make one with New.
type Bus[T any] struct {
	mu     sync.RWMutex
	subs   []*Subscription[T]
	closed bool
	wg     sync.WaitGroup
}

// New makes an empty bus.
func New[T any]() *Bus[T] { return &Bus[T]{} }

// Subscriber describes one consumer of the bus.
type Subscriber[T any] struct {
	// Name names the subscriber in metrics and logs.
	Name string
	// Queue is how many values may wait for Handle (default DefaultQueue).
	Queue int
	// Handle is called with each value, in publish order, on the
	// subscriber's own goroutine.
	Handle func(T)
	// Dropped, if set, is called with a value the full queue refused. It
	// runs on the publisher's goroutine and must not block.
	Dropped func(T)
}

// Subscription is a subscriber attached to a bus.
type Subscription[T any] struct {
	s       Subscriber[T]
	ch      chan T
	stop    chan struct{}
	stopped sync.Once
	dropped atomic.Uint64
	handled atomic.Uint64
}

// Name is the subscriber's name.
func (s *Subscription[T]) Name() string { return s.s.Name }

// Dropped is how many values this subscriber lost to a full queue.
func (s *Subscription[T]) Dropped() uint64 { return s.dropped.Load() }

// Handled is how many values this subscriber has handled.
func (s *Subscription[T]) Handled() uint64 { return s.handled.Load() }

// Subscribe attaches a subscriber and starts its goroutine. Values
// published before it subscribed are not delivered to it. After Close it
// returns a subscription that never receives anything.
func (b *Bus[T]) Subscribe(s Subscriber[T]) *Subscription[T] {
	if s.Queue <= 0 {
		s.Queue = DefaultQueue
	}
	sub := &Subscription[T]{s: s, ch: make(chan T, s.Queue), stop: make(chan struct{})}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		close(sub.ch)
		return sub
	}
	b.subs = append(b.subs, sub)
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		sub.run()
	}()
	return sub
}

func (s *Subscription[T]) run() {
	for v := range s.ch {
		select {
		case <-s.stop:
			return
		default:
		}
		s.s.Handle(v)
		s.handled.Add(1)
	}
}

// Publish queues v for every subscriber and returns at once: a full queue
// drops v for that subscriber only. After Close it does nothing.
func (b *Bus[T]) Publish(v T) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return
	}
	for _, s := range b.subs {
		select {
		case s.ch <- v:
		default:
			s.dropped.Add(1)
			if s.s.Dropped != nil {
				s.s.Dropped(v)
			}
		}
	}
}

// Close stops the bus: later publishes are ignored, and each subscriber
// handles what is already in its queue, then its goroutine ends. Close
// waits for that until ctx ends; then it tells the subscribers to stop
// after the value each is handling and returns ctx's error without
// waiting for them.
func (b *Bus[T]) Close(ctx context.Context) error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		for _, s := range b.subs {
			close(s.ch)
		}
	}
	subs := b.subs
	b.mu.Unlock()
	done := make(chan struct{})
	go func() {
		b.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, s := range subs {
			s.stopped.Do(func() { close(s.stop) })
		}
		return ctx.Err()
	}
}
