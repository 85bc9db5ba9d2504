package tickets

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/tierline/tierline/hub/gateway"
	"github.com/tierline/tierline/shared/wire"
)

// deviceQueue is how many updates may wait for one device.
const deviceQueue = 64

// DeviceNotifier tells devices about their tickets: what the user should
// see of each change (a technician's message, a state or tier change, a
// resolution with the survey). Its Handle subscribes to the ticket
// changes bus; each device has its own queue and goroutine, so a device
// that stops reading its socket delays only its own updates.
//
// When a device's queue is full the update is dropped, counted and
// logged: the database is the record, and the device hears it again in
// the catch-up after it reconnects (a device that stops reading is cut off
// by the gateway's write timeout, and reconnects).
type DeviceNotifier struct {
	notify  func(ctx context.Context, deviceID string, body wire.Body) error
	timeout time.Duration
	log     *slog.Logger
	dropped func()

	mu     sync.Mutex
	queues map[string]chan wire.TicketUpdate
	closed bool
	wg     sync.WaitGroup
}

// NewDeviceNotifier sends updates with notify (the gateway's Notify), each
// given 10 s; dropped (may be nil) counts updates a full queue refused.
func NewDeviceNotifier(notify func(ctx context.Context, deviceID string, body wire.Body) error, log *slog.Logger, dropped func()) *DeviceNotifier {
	if dropped == nil {
		dropped = func() {}
	}
	if log == nil {
		log = slog.Default()
	}
	return &DeviceNotifier{notify: notify, timeout: 10 * time.Second, log: log, dropped: dropped,
		queues: map[string]chan wire.TicketUpdate{}}
}

// Handle queues the updates a ticket change brings its device. It never
// blocks.
func (n *DeviceNotifier) Handle(c Change) {
	if c.Ticket.DeviceID == "" {
		return
	}
	for _, e := range c.Events {
		if u, ok := DeviceUpdate(c.Ticket, e); ok {
			n.enqueue(c.Ticket.DeviceID, c.Ticket.Number, u)
		}
	}
}

func (n *DeviceNotifier) enqueue(deviceID string, number int64, u wire.TicketUpdate) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	q := n.queues[deviceID]
	if q == nil {
		q = make(chan wire.TicketUpdate, deviceQueue)
		n.queues[deviceID] = q
		n.wg.Add(1)
		go n.run(deviceID, q)
	}
	select {
	case q <- u:
	default:
		n.dropped()
		n.log.Warn("ticket update for a device dropped: its queue is full (it hears the ticket again when it reconnects)",
			"device", deviceID, "ticket", number)
	}
}

// run sends a device's updates in order until its queue is empty, then
// ends; the next update starts a new one.
func (n *DeviceNotifier) run(deviceID string, q chan wire.TicketUpdate) {
	defer n.wg.Done()
	for {
		n.mu.Lock()
		if len(q) == 0 {
			delete(n.queues, deviceID)
			n.mu.Unlock()
			return
		}
		n.mu.Unlock()
		u := <-q // only this goroutine receives, so it is there
		ctx, cancel := context.WithTimeout(context.Background(), n.timeout)
		if err := n.notify(ctx, deviceID, u); err != nil && !errors.Is(err, gateway.ErrOffline) {
			n.log.Info("ticket update not delivered to its device", "ticket", u.Number, "device", deviceID, "err", err)
		}
		cancel()
	}
}

// Close stops taking updates and waits, until ctx ends, for the queued
// ones to be sent.
func (n *DeviceNotifier) Close(ctx context.Context) error {
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	done := make(chan struct{})
	go func() {
		n.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
