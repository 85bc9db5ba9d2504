package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/shared/testwait"
)

// pingPair is a hub-side agentConn over a real WebSocket whose reader
// never runs (as when it waits on the hub's full ingest queue, or the
// agent is gone), and the agent side, which answers pings as it reads.
// closed is the agent side's read error once the hub closes.
func pingPair(t *testing.T) (g *Gateway, c *agentConn, closed <-chan error) {
	g, c, closed, _ = pingPairAgent(t)
	return g, c, closed
}

// pingPairAgent is pingPair that also returns the agent side's
// connection and a count of the hub's pings it answered.
func pingPairAgent(t *testing.T) (g *Gateway, c *agentConn, closed <-chan error, agent agentSide) {
	t.Helper()
	g, err := New(Config{Store: storetest.Open(t), PingInterval: time.Hour, PingTimeout: 300 * time.Millisecond, MaxBatch: 1})
	if err != nil {
		t.Fatal(err)
	}
	g.ingestQ = []chan pending{make(chan pending)} // full: nothing takes from it unless the test does
	conns := make(chan *agentConn, 1)
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		heard := new(atomic.Int64)
		ws, err := websocket.Accept(w, r, g.acceptOptions(heard))
		if err != nil {
			return
		}
		c := &agentConn{g: g, ws: ws, deviceID: "d1", log: g.log, done: make(chan struct{}), heard: heard}
		c.pinger = time.AfterFunc(time.Hour, func() {})
		conns <- c
		<-c.done
	}))
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close(); wg.Wait() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	pings := new(atomic.Int64)
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), &websocket.DialOptions{
		OnPingReceived: func(context.Context, []byte) bool { pings.Add(1); return true }})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			if _, _, err := ws.Read(ctx); err != nil {
				errs <- err
				return
			}
		}
	}()
	return g, <-conns, errs, agentSide{ws: ws, pings: pings}
}

type agentSide struct {
	ws    *websocket.Conn
	pings *atomic.Int64 // the hub's pings answered
}

func isClosed(c *agentConn) bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// TestPingSparesAReaderHeldByTheHub: a ping while the connection's reader
// waits on the hub's full ingest queue (so reads no pong) does not close
// the connection, nor do pings that time out while the reader was held;
// the same ping with the reader not held by the hub closes it, and the
// agent hears why.
func TestPingSparesAReaderHeldByTheHub(t *testing.T) {
	g, c, closed := pingPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The reader waits for room in the queue all through the ping.
	held := make(chan struct{})
	go func() { g.enqueue(ctx, pending{conn: c}); close(held) }()
	testwait.Until(t, "the reader waiting on the ingest queue", c.ingestWaiting.Load)
	c.ping()
	if isClosed(c) {
		t.Fatal("a ping while the reader waited on the hub's queue closed the connection")
	}

	// The reader is held again and again while pings time out: each
	// ping either starts while it waits or sees it has waited since.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			// Take from the queue only once the reader waits on it, so
			// every pass is a wait the reader had to make.
			for !c.ingestWaiting.Load() {
				select {
				case <-stop:
					return
				default:
					runtime.Gosched()
				}
			}
			select {
			case <-stop:
				return
			case <-g.ingestQ[0]: // a batch taken: the reader goes on, and is held again
			}
		}
	}()
	<-held
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				g.enqueue(ctx, pending{conn: c})
			}
		}
	}()
	for range 3 {
		c.ping()
		if isClosed(c) {
			t.Fatal("a ping that timed out while the reader was held by the hub's queue closed the connection")
		}
	}
	close(stop)
	cancel()
	wg.Wait()

	// Nothing holds the reader now: the agent is the one not answering.
	c.ping()
	if !isClosed(c) {
		t.Fatal("a ping nobody answered left the connection open")
	}
	if err := <-closed; websocket.CloseStatus(err) != websocket.StatusGoingAway || !strings.Contains(err.Error(), "ping timeout") {
		t.Fatalf("agent side read %v; want going away, ping timeout", err)
	}
}

// TestNoPingToAnAgentHeardFrom: the hub does not ping an agent that
// pinged it (or sent a frame) within the ping interval, and pings one
// that has been quiet that long.
func TestNoPingToAnAgentHeardFrom(t *testing.T) {
	g, c, _, agent := pingPairAgent(t)
	g.cfg.PingTimeout = 20 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The hub reads this connection (so reads pongs and the agent's pings).
	read := make(chan struct{})
	go func() { defer close(read); c.readLoop(ctx) }()
	defer func() { c.close(websocket.StatusNormalClosure, ""); <-read }()
	// Quiet since it connected: the hub's ping goes out and is answered.
	c.ping()
	if n := agent.pings.Load(); n != 1 {
		t.Fatalf("the hub's pings to a quiet agent: %d, want 1", n)
	}
	// The agent pings the hub (its pong comes once the hub's side has
	// handled the ping, so heard is set by then).
	if err := agent.ws.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	c.ping()
	if n := agent.pings.Load(); n != 1 {
		t.Fatalf("the hub pinged an agent that had just pinged it (%d pings)", n)
	}
	// Quiet again for longer than the interval.
	c.heard.Store(time.Now().Add(-2 * time.Hour).UnixNano())
	c.ping()
	if n := agent.pings.Load(); n != 2 {
		t.Fatalf("the hub's pings after the agent went quiet: %d, want 2", n)
	}
}
