package link

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A hub that closes connections before their TLS handshake (busy) does
// not cost the agent its session: the next handshake that reaches TLS
// resumes. A session that fails more than SessionKeepDrops times in a
// row goes.
func TestSessionsSurviveRefusalsBeforeTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	conf := srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	conf.ServerName = "example.com" // the cache's key, the same for both listeners
	conf.ClientSessionCache = NewSessions()
	// get makes one request and reads to the end, so the session ticket
	// that follows the handshake is in the cache when it returns.
	get := func() bool {
		t.Helper()
		c, err := tls.Dial("tcp", srv.Listener.Addr().String(), conf)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET / HTTP/1.0\r\nHost: example.com\r\n\r\n")
		if _, err := io.ReadAll(c); err != nil {
			t.Fatal(err)
		}
		return c.ConnectionState().DidResume
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	go func() {
		for {
			c, err := busy.Accept()
			if err != nil {
				return
			}
			// Closed unanswered once the ClientHello is in (so each dial
			// reaches its handshake).
			c.Read(make([]byte, 1))
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	}()
	refused := func(n int) {
		for range n {
			if c, err := tls.Dial("tcp", busy.Addr().String(), conf); err == nil {
				c.Close()
				t.Fatal("handshake with a listener that closes at once succeeded")
			}
		}
	}
	if get() {
		t.Fatal("first handshake resumed")
	}
	if !get() {
		t.Fatal("second handshake did not resume")
	}
	refused(SessionKeepDrops)
	if !get() {
		t.Fatalf("after %d refusals before TLS the session was lost", SessionKeepDrops)
	}
	refused(SessionKeepDrops + 1)
	if get() {
		t.Fatalf("a session that failed %d times in a row was kept", SessionKeepDrops+1)
	}
}
