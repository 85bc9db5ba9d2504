package eventbus_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/eventbus"
	"github.com/tierline/tierline/shared/testwait"
)

// collector records what a subscriber handled.
type collector struct {
	mu  sync.Mutex
	got []int
}

func (c *collector) add(v int) {
	c.mu.Lock()
	c.got = append(c.got, v)
	c.mu.Unlock()
}

func (c *collector) values() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

// Each subscriber gets every value in publish order.
func TestOrderPerSubscriber(t *testing.T) {
	b := eventbus.New[int]()
	var a, c collector
	b.Subscribe(eventbus.Subscriber[int]{Name: "a", Queue: 1000, Handle: a.add})
	b.Subscribe(eventbus.Subscriber[int]{Name: "c", Queue: 1000, Handle: c.add})
	want := make([]int, 1000)
	for i := range want {
		want[i] = i
		b.Publish(i)
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.values(), want) || !slices.Equal(c.values(), want) {
		t.Fatalf("a got %d values, c got %d; want 0..999 in order each", len(a.values()), len(c.values()))
	}
}

// A subscriber that never returns holds up neither the publisher nor the
// other subscriber; what its full queue cannot take is dropped, counted
// and reported to its Dropped hook.
func TestSlowSubscriberIsolated(t *testing.T) {
	b := eventbus.New[int]()
	block := make(chan struct{})
	var fast collector
	var droppedMu sync.Mutex
	var dropped []int
	slow := b.Subscribe(eventbus.Subscriber[int]{Name: "slow", Queue: 4, Handle: func(int) { <-block },
		Dropped: func(v int) { droppedMu.Lock(); dropped = append(dropped, v); droppedMu.Unlock() }})
	b.Subscribe(eventbus.Subscriber[int]{Name: "fast", Queue: 100, Handle: fast.add})

	done := make(chan struct{})
	go func() {
		for i := range 50 {
			b.Publish(i)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Publish blocked behind a stuck subscriber")
	}
	testwait.Until(t, "the fast subscriber", func() bool { return len(fast.values()) == 50 })
	// The slow one holds one value in Handle and 4 in its queue; the
	// rest (at least 45) were dropped.
	if n := slow.Dropped(); n < 45 || n > 46 {
		t.Errorf("slow subscriber dropped %d, want 45 or 46", n)
	}
	droppedMu.Lock()
	if uint64(len(dropped)) != slow.Dropped() {
		t.Errorf("Dropped hook saw %d values, counter says %d", len(dropped), slow.Dropped())
	}
	droppedMu.Unlock()
	close(block)
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h := slow.Handled(); h+slow.Dropped() != 50 {
		t.Errorf("slow subscriber handled %d and dropped %d of 50", h, slow.Dropped())
	}
}

// Close lets every subscriber finish its queue, then returns; publishes
// after Close are ignored.
func TestCloseDrains(t *testing.T) {
	b := eventbus.New[int]()
	gate := make(chan struct{})
	var c collector
	b.Subscribe(eventbus.Subscriber[int]{Name: "c", Queue: 10, Handle: func(v int) { <-gate; c.add(v) }})
	for i := range 10 {
		b.Publish(i)
	}
	closed := make(chan error)
	go func() { closed <- b.Close(context.Background()) }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) before the queue was handled", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(gate)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if got := c.values(); len(got) != 10 {
		t.Fatalf("handled %v before Close returned, want all 10", got)
	}
	b.Publish(99)
	if late := b.Subscribe(eventbus.Subscriber[int]{Name: "late", Handle: c.add}); late.Handled() != 0 {
		t.Error("a subscriber after Close handled something")
	}
	if err := b.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if got := c.values(); len(got) != 10 {
		t.Errorf("after Close: %v", got)
	}
}

// A subscriber stuck in Handle does not keep Close past its deadline; the
// others stop after the value they are handling.
func TestCloseStopsAtDeadline(t *testing.T) {
	b := eventbus.New[int]()
	stuck := make(chan struct{})
	defer close(stuck)
	var c collector
	b.Subscribe(eventbus.Subscriber[int]{Name: "stuck", Handle: func(int) { <-stuck }})
	b.Subscribe(eventbus.Subscriber[int]{Name: "c", Handle: c.add})
	b.Publish(1)
	testwait.Until(t, "the value", func() bool { return len(c.values()) == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := b.Close(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Close: %v, want the deadline", err)
	}
}

// Publishing from many goroutines while subscribers come and the bus
// closes is safe (run with -race).
func TestConcurrentUse(t *testing.T) {
	b := eventbus.New[int]()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range 200 {
				b.Publish(g*1000 + i)
			}
		}()
		go func() {
			defer wg.Done()
			b.Subscribe(eventbus.Subscriber[int]{Name: "s", Queue: 8, Handle: func(int) {}})
		}()
	}
	wg.Wait()
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}
