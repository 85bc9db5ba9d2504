// Package admission decides which new TCP connections the hub takes on
// before it spends a TLS handshake on them.
//
// In a reconnect storm (every agent back at once after a restart) the
// costly part of a connection is its TLS handshake. Refusing with an HTTP
// 503 comes after that handshake, so most of the storm's TLS work used to
// produce nothing. The Listener here admits at most Slots connections at a
// time into the early phase (TLS handshake, first request, and for agents
// the challenge/hello exchange); the others wait in a short queue, still
// unencrypted, and those that wait longer than Hold, or find the queue
// full, are closed before a byte of TLS is read. Their agents retry after
// their usual randomised backoff.
package admission

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config configures a Listener.
type Config struct {
	// Slots is how many connections may be in their early phase at once
	// (default 256).
	Slots int
	// Queue is how many accepted connections may wait for a slot
	// (default 16 * Slots).
	Queue int
	// Hold is the longest a connection waits for a slot before it is
	// closed (default 5 s; agents give a TLS handshake 20 s).
	Hold time.Duration
	// Registerer receives tierline_admission_total (nil: none).
	Registerer prometheus.Registerer
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Outcomes counted in tierline_admission_total.
const (
	Admitted    = "admitted"
	RefusedFull = "refused_queue_full"
	RefusedHeld = "refused_waited_too_long"
)

// Listener wraps a net.Listener with admission before TLS.
type Listener struct {
	inner net.Listener
	cfg   Config
	slots chan struct{}
	queue chan *Conn
	done  chan struct{}
	once  sync.Once
	err   atomic.Pointer[error]
	count *prometheus.CounterVec
}

// NewListener starts accepting from inner; call Accept to take the
// admitted connections.
func NewListener(inner net.Listener, cfg Config) *Listener {
	if cfg.Slots <= 0 {
		cfg.Slots = 256
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 16 * cfg.Slots
	}
	if cfg.Hold <= 0 {
		cfg.Hold = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	l := &Listener{inner: inner, cfg: cfg, slots: make(chan struct{}, cfg.Slots), queue: make(chan *Conn, cfg.Queue),
		done: make(chan struct{}),
		count: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tierline_admission_total",
			Help: "New TCP connections by whether they were admitted to a TLS handshake or closed before it (the hub was busy)."},
			[]string{"outcome"})}
	for _, o := range []string{Admitted, RefusedFull, RefusedHeld} {
		l.count.WithLabelValues(o)
	}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(l.count)
	}
	go l.acceptLoop()
	return l
}

func (l *Listener) acceptLoop() {
	var delay time.Duration
	for {
		c, err := l.inner.Accept()
		if err != nil {
			select {
			case <-l.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				l.err.Store(&err)
				l.Close()
				return
			}
			// Out of file descriptors and the like: wait a little and
			// go on, as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			select {
			case <-time.After(delay):
				continue
			case <-l.done:
				return
			}
		}
		delay = 0
		ac := &Conn{Conn: c, l: l, queued: l.cfg.Now()}
		select {
		case l.queue <- ac:
		default:
			l.refuse(ac, RefusedFull)
		}
	}
}

// refuse closes c at once (RST, so no TIME_WAIT is left here).
func (l *Listener) refuse(c *Conn, outcome string) {
	if tc, ok := c.Conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Conn.Close()
	l.count.WithLabelValues(outcome).Inc()
}

// Accept returns the next connection admitted to its early phase. It
// waits for a free slot first.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		select {
		case l.slots <- struct{}{}:
		case <-l.done:
			return nil, l.closedErr()
		}
		var c *Conn
		select {
		case c = <-l.queue:
		case <-l.done:
			<-l.slots
			return nil, l.closedErr()
		}
		if l.cfg.Now().Sub(c.queued) > l.cfg.Hold {
			<-l.slots
			l.refuse(c, RefusedHeld)
			continue
		}
		c.holding = true
		l.count.WithLabelValues(Admitted).Inc()
		return c, nil
	}
}

func (l *Listener) closedErr() error {
	if p := l.err.Load(); p != nil {
		return *p
	}
	return net.ErrClosed
}

// Close stops accepting and closes the connections still waiting.
func (l *Listener) Close() error {
	var err error
	l.once.Do(func() {
		close(l.done)
		err = l.inner.Close()
		for {
			select {
			case c := <-l.queue:
				_ = c.Conn.Close()
			default:
				return
			}
		}
	})
	return err
}

// Addr is the inner listener's address.
func (l *Listener) Addr() net.Addr { return l.inner.Addr() }

// Conn is an admitted connection; it holds its slot until Release or
// Close.
type Conn struct {
	net.Conn
	l       *Listener
	queued  time.Time
	holding bool
	once    sync.Once
}

// Release gives the connection's slot back (once; later calls do nothing).
func (c *Conn) Release() {
	if !c.holding {
		return
	}
	c.once.Do(func() { <-c.l.slots })
}

// Close closes the connection and gives its slot back.
func (c *Conn) Close() error {
	c.Release()
	return c.Conn.Close()
}

type ctxKey struct{}

// ConnContext is an http.Server ConnContext: it lets a handler find the
// connection's slot (Release). c is the connection as the server sees it,
// a *tls.Conn over an admitted Conn.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if ac := admitted(c); ac != nil {
		return context.WithValue(ctx, ctxKey{}, ac)
	}
	return ctx
}

func admitted(c net.Conn) *Conn {
	for c != nil {
		if ac, ok := c.(*Conn); ok {
			return ac
		}
		nc, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return nil
		}
		c = nc.NetConn()
	}
	return nil
}

// Release gives back the slot of the connection that carries ctx's
// request, if it holds one.
func Release(ctx context.Context) {
	if ac, _ := ctx.Value(ctxKey{}).(*Conn); ac != nil {
		ac.Release()
	}
}

// Handler releases the slot of each request's connection as the request
// starts, except for the paths in keep, whose handlers call Release once
// their own handshake is over (an agent's connect).
func Handler(next http.Handler, keep ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		held := false
		for _, p := range keep {
			if r.URL.Path == p {
				held = true
			}
		}
		if !held {
			Release(r.Context())
		}
		next.ServeHTTP(w, r)
	})
}
