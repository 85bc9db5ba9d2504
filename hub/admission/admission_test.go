package admission

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tierline/tierline/agent/identity/identitytest"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time       { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) step(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedUnencrypted waits for the hub side to close c and checks that not
// one byte (no TLS ServerHello) came first.
func closedUnencrypted(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := c.Read(make([]byte, 1))
	if n != 0 || err == nil || errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		t.Fatalf("connection over the budget: read %d bytes, %v; want closed before any TLS", n, err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func wait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Over the budget, a connection waits unencrypted and is closed before
// its TLS handshake when the queue is full or it waited too long; an
// admitted one holds its slot until the handler releases it, then the
// next waiting connection gets its TLS handshake.
func TestAdmissionBeforeTLS(t *testing.T) {
	pki, err := identitytest.New()
	if err != nil {
		t.Fatal(err)
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	reg := prometheus.NewRegistry()
	l := NewListener(inner, Config{Slots: 1, Queue: 1, Hold: 5 * time.Second, Registerer: reg, Now: clk.Now})
	count := func(o string) float64 {
		return testutil.ToFloat64(l.count.WithLabelValues(o))
	}
	held := make(chan struct{})
	release := make(chan struct{}, 4)
	srv := &http.Server{ConnContext: ConnContext, TLSConfig: pki.ServerTLS(),
		Handler: Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/hold" {
				held <- struct{}{}
				<-release
				Release(r.Context())
			}
			io.WriteString(w, "ok")
		}), "/hold")}
	go srv.ServeTLS(l, "", "")
	t.Cleanup(func() { srv.Close() })

	pool := x509.NewCertPool()
	pool.AddCert(pki.CA)
	client := func() *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"},
			DisableKeepAlives: true}}
	}
	addr := inner.Addr().String()
	url := "https://localhost:" + addr[len("127.0.0.1:"):]

	// The one slot is taken by a request that holds it.
	first := make(chan error, 1)
	go func() {
		res, err := client().Get(url + "/hold")
		if err == nil {
			res.Body.Close()
		}
		first <- err
	}()
	<-held
	if got := count(Admitted); got != 1 {
		t.Fatalf("admitted %v, want 1", got)
	}
	// One connection waits in the queue; the next finds it full and is
	// closed at once, before TLS.
	waiting := dial(t, addr)
	wait(t, "the queue to fill", func() bool { return len(l.queue) == 1 })
	// (The reset may come before the dial returns.)
	if c, err := net.Dial("tcp", addr); err == nil {
		closedUnencrypted(t, c)
		c.Close()
	} else if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("connection over a full queue: %v, want closed unencrypted", err)
	}
	if got := count(RefusedFull); got != 1 {
		t.Fatalf("refused for a full queue: %v, want 1", got)
	}
	// The waiting one has waited too long by the time the slot is free:
	// closed unencrypted too.
	clk.step(6 * time.Second)
	release <- struct{}{}
	if err := <-first; err != nil {
		t.Fatalf("admitted request: %v", err)
	}
	closedUnencrypted(t, waiting)
	if got := count(RefusedHeld); got != 1 {
		t.Fatalf("refused after waiting: %v, want 1", got)
	}
	// A request on any other path gives its slot back as it starts, so
	// these run one after the other through the one slot.
	for i := range 3 {
		res, err := client().Get(url + "/")
		if err != nil {
			t.Fatalf("request %d after the slot came back: %v", i, err)
		}
		res.Body.Close()
	}
	if got := count(Admitted); got != 4 {
		t.Fatalf("admitted %v, want 4", got)
	}
	// A connection that never speaks holds its slot only until it closes.
	silent := dial(t, addr)
	wait(t, "the silent connection admitted", func() bool { return count(Admitted) == 5 })
	silent.Close()
	res, err := client().Get(url + "/")
	if err != nil {
		t.Fatalf("request after a silent connection closed: %v", err)
	}
	res.Body.Close()
}
