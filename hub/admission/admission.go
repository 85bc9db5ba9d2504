// Package admission decides when the hub takes a new TCP connection on,
// before it spends a TLS handshake on it.
//
// In a reconnect storm (every agent back at once after a restart) the
// costly part of a connection is its TLS handshake. The Listener here
// admits at most Slots connections at a time into the early phase (TLS
// handshake, first request, and for agents the challenge/hello exchange)
// and takes the next one from the kernel only when a slot is free. The
// others wait in the kernel: in the listening socket's accept queue,
// shortened to Backlog so none waits there long, and beyond it as SYNs
// the kernel drops and the client's kernel sends again (after 1, 2, 4, 8
// s). Waiting costs neither side any CPU and no TLS work is thrown away:
// a client that gives up (an agent after its 30 s connect timeout)
// retries after its usual randomised backoff.
package admission

import (
	"context"
	"net"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Config configures a Listener.
type Config struct {
	// Slots is how many connections may be in their early phase at once
	// (default 256).
	Slots int
	// Backlog is the length of the kernel's accept queue behind the
	// slots (default Slots): at the rate a busy hub admits connections
	// (a hundred or more a second) the last in it waits a few seconds.
	Backlog int
	// Registerer receives tierline_admission_total and
	// tierline_admission_waiting (nil: none).
	Registerer prometheus.Registerer
}

// Listener wraps a net.Listener with admission before TLS.
type Listener struct {
	inner    net.Listener
	slots    chan struct{}
	done     chan struct{}
	once     sync.Once
	admitted prometheus.Counter
	waiting  prometheus.Collector // nil where the queue cannot be read
}

// NewListener shortens inner's accept queue to cfg.Backlog (on Linux)
// and returns it with admission; Accept takes a connection from it only
// when a slot is free.
func NewListener(inner net.Listener, cfg Config) *Listener {
	if cfg.Slots <= 0 {
		cfg.Slots = 256
	}
	if cfg.Backlog <= 0 {
		cfg.Backlog = cfg.Slots
	}
	l := &Listener{inner: inner, slots: make(chan struct{}, cfg.Slots), done: make(chan struct{}),
		admitted: prometheus.NewCounter(prometheus.CounterOpts{Name: "tierline_admission_total",
			Help: "New TCP connections taken from the kernel into their TLS handshake."})}
	setBacklog(inner, cfg.Backlog)
	l.waiting = waitingGauge(inner)
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(l.admitted)
		if l.waiting != nil {
			cfg.Registerer.MustRegister(l.waiting)
		}
	}
	return l
}

// Accept waits for a free slot, then returns the next connection from the
// kernel. The slot is the connection's until Release or Close.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.inner.Accept()
	if err != nil {
		<-l.slots // http.Server waits and calls again on a temporary error
		return nil, err
	}
	l.admitted.Inc()
	return &Conn{Conn: c, l: l}, nil
}

// Close stops accepting; connections still in the kernel's queue are
// reset by it.
func (l *Listener) Close() error {
	var err error
	l.once.Do(func() {
		close(l.done)
		err = l.inner.Close()
	})
	return err
}

// Addr is the inner listener's address.
func (l *Listener) Addr() net.Addr { return l.inner.Addr() }

// Conn is an admitted connection; it holds its slot until Release or
// Close.
type Conn struct {
	net.Conn
	l    *Listener
	once sync.Once
}

// Release gives the connection's slot back (once; later calls do nothing).
func (c *Conn) Release() {
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
