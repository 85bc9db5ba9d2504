package admission

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tierline/tierline/agent/identity/identitytest"
	"github.com/tierline/tierline/shared/testwait"
)

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Over the budget, a connection waits in the kernel, its TLS handshake not
// begun; an admitted one holds its slot until the handler releases it,
// then the next waiting connection gets its handshake. Past the short
// accept queue the kernel does not even complete the TCP handshake.
func TestAdmissionBeforeTLS(t *testing.T) {
	pki, err := identitytest.New()
	if err != nil {
		t.Fatal(err)
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := NewListener(inner, Config{Slots: 1, Backlog: 1, Registerer: prometheus.NewRegistry()})
	admitted := func() float64 { return testutil.ToFloat64(l.admitted) }
	waiting := func() float64 { return testutil.ToFloat64(l.waiting) }
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
	get := func(path string, done chan<- error) {
		res, err := client().Get(url + path)
		if err == nil {
			res.Body.Close()
		}
		done <- err
	}

	// The one slot is taken by a request that holds it.
	first := make(chan error, 1)
	go get("/hold", first)
	<-held
	if got := admitted(); got != 1 {
		t.Fatalf("admitted %v, want 1", got)
	}
	// The next request's connection waits in the kernel's accept queue,
	// its TLS handshake not started, until the slot comes back.
	second := make(chan error, 1)
	go get("/", second)
	testwait.Until(t, "the second connection to wait in the kernel", func() bool { return waiting() == 1 })
	if got := admitted(); got != 1 {
		t.Fatalf("admitted %v while the slot is held, want 1", got)
	}
	// The queue holds one more (Linux counts a backlog of n as n+1);
	// past it the kernel drops the SYN and the dial does not complete.
	queued := dial(t, addr)
	testwait.Until(t, "the accept queue to fill", func() bool { return waiting() == 2 })
	if c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond); err == nil {
		c.Close()
		t.Fatal("a connection past the accept queue was established; want its SYN dropped by the kernel")
	} else if !isTimeout(err) {
		t.Fatalf("dial past the accept queue: %v, want a timeout", err)
	}
	queued.Close()
	release <- struct{}{}
	if err := <-first; err != nil {
		t.Fatalf("admitted request: %v", err)
	}
	if err := <-second; err != nil {
		t.Fatalf("request that waited for the slot: %v", err)
	}
	// A request on any other path gives its slot back as it starts, so
	// these run one after the other through the one slot.
	testwait.Until(t, "the queue to empty", func() bool { return waiting() == 0 })
	before := admitted()
	for i := range 3 {
		res, err := client().Get(url + "/")
		if err != nil {
			t.Fatalf("request %d after the slot came back: %v", i, err)
		}
		res.Body.Close()
	}
	if got := admitted(); got != before+3 {
		t.Fatalf("admitted %v, want %v", got, before+3)
	}
	// A connection that never speaks holds its slot only until it closes.
	silent := dial(t, addr)
	testwait.Until(t, "the silent connection admitted", func() bool { return admitted() == before+4 })
	silent.Close()
	res, err := client().Get(url + "/")
	if err != nil {
		t.Fatalf("request after a silent connection closed: %v", err)
	}
	res.Body.Close()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
