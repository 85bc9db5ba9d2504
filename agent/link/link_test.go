package link

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tierline/tierline/agent/identity"
	"github.com/tierline/tierline/agent/identity/identitytest"
	"github.com/tierline/tierline/agent/spool"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

const devID = "00112233445566778899aabbccddeeff"

// fakeHub follows the agent protocol: challenge, verified hello, welcome
// with its last stored seq, in-order de-duplicated storage, cumulative acks.
type fakeHub struct {
	t   *testing.T
	pki *identitytest.PKI
	srv *httptest.Server
	pub ed25519.PublicKey

	mu         sync.Mutex
	stored     []uint64 // seqs stored, in order
	last       uint64
	received   int // sequenced frames received, including duplicates
	noAck      bool
	revoked    bool
	garbage    bool
	refuse     uint64 // answer this seq with an Error (then ack it)
	busy       int    // answer this many dials with 503
	retryAfter string
	dials      []time.Time
	conns      []*websocket.Conn
	closeCodes []websocket.StatusCode
	helloSeen  []wire.Hello
	authFails  int
	changed    chan struct{}
	// skew is added to the hub's clock on every frame it stamps.
	skew time.Duration
	// afterWelcome, if set, writes frames of its own after the welcome.
	afterWelcome func(ctx context.Context, c *websocket.Conn)
}

func newFakeHub(t *testing.T, pub ed25519.PublicKey) *fakeHub {
	return newFakeHubOn(t, pub, nil)
}

// newFakeHubOn is newFakeHub with its listener wrapped by wrap, if set.
func newFakeHubOn(t *testing.T, pub ed25519.PublicKey, wrap func(net.Listener) net.Listener) *fakeHub {
	pki, err := identitytest.New()
	if err != nil {
		t.Fatal(err)
	}
	h := &fakeHub{t: t, pki: pki, pub: pub, changed: make(chan struct{}, 1)}
	h.srv = httptest.NewUnstartedServer(http.HandlerFunc(h.serve))
	if wrap != nil {
		h.srv.Listener = wrap(h.srv.Listener)
	}
	h.srv.TLS = pki.ServerTLS()
	h.srv.StartTLS()
	t.Cleanup(h.srv.Close)
	return h
}

func (h *fakeHub) notify() {
	select {
	case h.changed <- struct{}{}:
	default:
	}
}

func (h *fakeHub) url() string {
	return "wss://" + strings.TrimPrefix(h.srv.URL, "https://") + wire.ConnectPath
}

func (h *fakeHub) send(ctx context.Context, c *websocket.Conn, b wire.Body) {
	h.mu.Lock()
	now := time.Now().Add(h.skew)
	h.mu.Unlock()
	f, _ := wire.Encode(wire.NewID(), 0, now, b)
	c.Write(ctx, websocket.MessageText, f)
}

func (h *fakeHub) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.dials = append(h.dials, time.Now())
	if h.busy > 0 {
		h.busy--
		h.mu.Unlock()
		w.Header().Set("Retry-After", h.retryAfter)
		http.Error(w, "busy", http.StatusServiceUnavailable)
		h.notify()
		return
	}
	h.mu.Unlock()
	if r.URL.Path != wire.ConnectPath {
		http.NotFound(w, r)
		return
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{wire.Subprotocol}})
	if err != nil {
		return
	}
	defer c.CloseNow()
	if c.Subprotocol() != wire.Subprotocol {
		c.Close(websocket.StatusPolicyViolation, "subprotocol")
		return
	}
	ctx := r.Context()
	nonce := make([]byte, wire.NonceSize)
	rand.Read(nonce)
	h.send(ctx, c, wire.Challenge{Nonce: nonce, HubTime: time.Now()})
	_, data, err := c.Read(ctx)
	if err != nil {
		return
	}
	env, err := wire.Decode(data)
	if err != nil {
		return
	}
	hello, err := wire.DecodeBody[wire.Hello](env)
	if err != nil || hello.DeviceID != devID || !ed25519.Verify(h.pub, wire.AuthMessage(nonce, devID), hello.Signature) {
		h.mu.Lock()
		h.authFails++
		h.mu.Unlock()
		h.notify()
		h.send(ctx, c, wire.Error{Code: wire.CodeUnauthorized, Message: "bad signature"})
		c.Close(4001, "unauthorized")
		return
	}
	h.mu.Lock()
	h.helloSeen = append(h.helloSeen, hello)
	revoked, garbage, last, after := h.revoked, h.garbage, h.last, h.afterWelcome
	h.conns = append(h.conns, c)
	h.mu.Unlock()
	if revoked {
		c.Close(4003, "revoked")
		return
	}
	h.send(ctx, c, wire.Welcome{DeviceID: devID, HubTime: time.Now(), LastSeq: last})
	if garbage {
		c.Write(ctx, websocket.MessageText, []byte("this is not json"))
		c.Write(ctx, websocket.MessageText, []byte(`{"v":1,"type":"ack","id":"x","time":"2026-01-01T00:00:00Z","body":{"seq":"oops"}}`))
		c.Write(ctx, websocket.MessageText, []byte(`{"v":99,"type":"zap","id":"x"}`))
		c.Write(ctx, websocket.MessageBinary, []byte{0, 1, 2})
	}
	if after != nil {
		after(ctx, c)
	}
	h.notify()
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			h.mu.Lock()
			h.closeCodes = append(h.closeCodes, websocket.CloseStatus(err))
			h.mu.Unlock()
			h.notify()
			return
		}
		env, err := wire.Decode(data)
		if err != nil || env.Seq == 0 {
			continue
		}
		h.mu.Lock()
		h.received++
		if env.Seq > h.last {
			h.stored = append(h.stored, env.Seq)
			h.last = env.Seq
		}
		ack, noAck, refuse := h.last, h.noAck, h.refuse
		h.mu.Unlock()
		if refuse != 0 && env.Seq == refuse {
			h.send(ctx, c, wire.Error{Code: wire.CodeBadBody, Message: "refused for the test", Seq: env.Seq})
		}
		if !noAck {
			h.send(ctx, c, wire.Ack{Seq: ack})
		}
		h.notify()
	}
}

// kick drops all live connections abruptly.
func (h *fakeHub) kick() {
	h.mu.Lock()
	cs := h.conns
	h.conns = nil
	h.mu.Unlock()
	for _, c := range cs {
		c.CloseNow()
	}
}

func (h *fakeHub) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		h.mu.Lock()
		ok := cond()
		h.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-h.changed:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

type testAgent struct {
	link   *Link
	spool  spool.Spool
	cancel context.CancelFunc
	done   chan error
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func startAgent(t *testing.T, h *fakeHub, key ed25519.PrivateKey, sp spool.Spool, mod func(*Config)) *testAgent {
	t.Helper()
	cfg := Config{
		URL: h.url(), TLS: identity.TrustedTLSConfig(h.pki.CA, "127.0.0.1"),
		DeviceID: devID, Key: key, AgentVersion: "test", Hostname: "h", OS: "linux", Arch: "amd64",
		Spool: sp, Logger: testLogger(t),
		Backoff: Backoff{Base: time.Millisecond, Max: 5 * time.Millisecond},
	}
	if mod != nil {
		mod(&cfg)
	}
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &testAgent{link: l, spool: sp, cancel: cancel, done: make(chan error, 1)}
	go func() { a.done <- l.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-a.done })
	return a
}

func (a *testAgent) stop(t *testing.T) error {
	t.Helper()
	a.cancel()
	select {
	case err := <-a.done:
		a.done <- err
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
		return nil
	}
}

func telemetry() wire.Telemetry {
	return wire.Telemetry{Sample: diag.Sample{Time: time.Now()}}
}

func newKey(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func TestAuthSendAckAndCleanClose(t *testing.T) {
	pub, priv := newKey(t)
	h := newFakeHub(t, pub)
	sp, err := spool.Open(t.TempDir(), spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := startAgent(t, h, priv, sp, nil)
	for i := range 3 {
		seq, err := a.link.Send(context.Background(), telemetry())
		if err != nil || seq != uint64(i+1) {
			t.Fatalf("Send: seq %d err %v", seq, err)
		}
	}
	h.waitFor(t, "3 stored", func() bool { return len(h.stored) == 3 })
	waitState(t, a.link, func(s State) bool { return s.SpoolDepth == 0 && s.AckedSeq == 3 && s.Connected })
	if err := a.stop(t); err != nil {
		t.Fatalf("Run returned %v on cancel", err)
	}
	h.waitFor(t, "close", func() bool { return len(h.closeCodes) == 1 })
	if h.closeCodes[0] != websocket.StatusNormalClosure {
		t.Fatalf("close code %v, want normal closure", h.closeCodes[0])
	}
	if hl := h.helloSeen[0]; hl.AgentVersion != "test" || hl.OS != "linux" {
		t.Fatalf("hello %+v", hl)
	}
}

func waitState(t *testing.T, l *Link, cond func(State) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond(l.State()) {
		if time.Now().After(deadline) {
			t.Fatalf("state never matched: %+v", l.State())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReplayInOrderAfterReconnect(t *testing.T) {
	pub, priv := newKey(t)
	h := newFakeHub(t, pub)
	h.noAck = true
	dir := t.TempDir()
	sp, _ := spool.Open(dir, spool.Options{})
	a := startAgent(t, h, priv, sp, func(c *Config) { c.Window = 4 })
	for range 10 {
		if _, err := a.link.Send(context.Background(), telemetry()); err != nil {
			t.Fatal(err)
		}
	}
	// Window of 4 unacked: the hub sees exactly 4.
	h.waitFor(t, "4 received", func() bool { return h.received == 4 })
	time.Sleep(50 * time.Millisecond)
	h.mu.Lock()
	if h.received != 4 {
		t.Fatalf("window exceeded: hub received %d", h.received)
	}
	h.noAck = false
	h.mu.Unlock()
	h.kick()
	// Messages sent while (possibly) disconnected are spooled and replayed too.
	for range 3 {
		a.link.Send(context.Background(), wire.Health{Checks: []diag.CheckResult{{Name: "disk"}}})
	}
	h.waitFor(t, "13 stored", func() bool { return len(h.stored) == 13 })
	for i, s := range h.stored {
		if s != uint64(i+1) {
			t.Fatalf("stored out of order: %v", h.stored)
		}
	}
	waitState(t, a.link, func(s State) bool { return s.SpoolDepth == 0 })
	if st := a.link.State(); st.Connects < 2 {
		t.Fatalf("connects %d", st.Connects)
	}

	// Restart the agent on the same spool while the hub acks nothing: the
	// next seq continues, and Welcome.LastSeq drops what the hub has.
	a.stop(t)
	sp2, _ := spool.Open(dir, spool.Options{})
	if st := sp2.Stats(); st.LastSeq != 13 || st.Depth != 0 {
		t.Fatalf("reopened spool %+v", st)
	}
	sp2.Append(wire.TypeTelemetry, func(seq uint64) ([]byte, error) { return wire.Encode("x", seq, time.Now(), telemetry()) })
	a2 := startAgent(t, h, priv, sp2, nil)
	h.waitFor(t, "14 stored", func() bool { return len(h.stored) == 14 && h.stored[13] == 14 })
	waitState(t, a2.link, func(s State) bool { return s.SpoolDepth == 0 })
}

func TestWelcomeLastSeqDropsAndAdvances(t *testing.T) {
	pub, priv := newKey(t)
	h := newFakeHub(t, pub)
	h.last = 100 // the hub already has more than this (restored) agent
	sp := spool.NewMem(0, nil)
	sp.Append(wire.TypeTelemetry, func(seq uint64) ([]byte, error) { return wire.Encode("x", seq, time.Now(), telemetry()) })
	a := startAgent(t, h, priv, sp, nil)
	waitState(t, a.link, func(s State) bool { return s.Connected && s.SpoolDepth == 0 })
	seq, _ := a.link.Send(context.Background(), telemetry())
	if seq != 101 {
		t.Fatalf("seq %d, want 101", seq)
	}
	h.waitFor(t, "101 stored", func() bool { return h.last == 101 })
}

func TestGarbageFromHubIsIgnored(t *testing.T) {
	pub, priv := newKey(t)
	h := newFakeHub(t, pub)
	h.garbage = true
	a := startAgent(t, h, priv, spool.NewMem(0, nil), nil)
	a.link.Send(context.Background(), telemetry())
	h.waitFor(t, "stored", func() bool { return len(h.stored) == 1 })
	waitState(t, a.link, func(s State) bool { return s.SpoolDepth == 0 && s.Connects == 1 })
}

func TestRevokedStops(t *testing.T) {
	pub, priv := newKey(t)
	h := newFakeHub(t, pub)
	h.revoked = true
	a := startAgent(t, h, priv, spool.NewMem(0, nil), nil)
	select {
	case err := <-a.done:
		a.done <- err
		if !errors.Is(err, ErrRevoked) {
			t.Fatalf("Run = %v, want ErrRevoked", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run kept going after revocation")
	}
	if len(h.dials) != 1 {
		t.Fatalf("dialled %d times after revocation", len(h.dials))
	}
}

func TestRevokedWhileConnected(t *testing.T) {
	pub, priv := newKey(t)
	h := newFakeHub(t, pub)
	a := startAgent(t, h, priv, spool.NewMem(0, nil), nil)
	waitState(t, a.link, func(s State) bool { return s.Connected })
	h.mu.Lock()
	c := h.conns[0]
	h.mu.Unlock()
	c.Close(CloseRevoked, "device revoked")
	select {
	case err := <-a.done:
		a.done <- err
		if !errors.Is(err, ErrRevoked) {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run kept going after revocation")
	}
}

func TestUnauthorizedKeepsRetrying(t *testing.T) {
	pub, _ := newKey(t)
	_, wrong := newKey(t)
	h := newFakeHub(t, pub)
	a := startAgent(t, h, wrong, spool.NewMem(0, nil), nil)
	h.waitFor(t, "3 auth failures", func() bool { return h.authFails >= 3 })
	if st := a.link.State(); !strings.Contains(st.LastError, "refused this device's credentials") {
		t.Fatalf("last error %q", st.LastError)
	}
}

func TestWrongCARefused(t *testing.T) {
	pub, priv := newKey(t)
	h := newFakeHub(t, pub)
	other, _ := identitytest.New()
	a := startAgent(t, h, priv, spool.NewMem(0, nil), func(c *Config) {
		c.TLS = identity.TrustedTLSConfig(other.CA, "127.0.0.1")
	})
	waitState(t, a.link, func(s State) bool { return s.Failures >= 2 })
	st := a.link.State()
	if st.Connects != 0 || !strings.Contains(st.LastError, "certificate") {
		t.Fatalf("state %+v", st)
	}
	if len(h.helloSeen) != 0 {
		t.Fatal("hub of another CA got a hello")
	}
}

func TestBackoffFullJitter(t *testing.T) {
	var asked []int64
	b := Backoff{Base: 2 * time.Second, Max: 60 * time.Second, Rand: func(n int64) int64 { asked = append(asked, n); return n - 1 }}
	want := []time.Duration{2, 4, 8, 16, 32, 60, 60}
	for i, w := range want {
		d := b.Delay(i)
		if asked[i] != int64(w*time.Second) || d != w*time.Second-1 {
			t.Fatalf("attempt %d: asked rand(%v) got %v, want ceiling %v", i, time.Duration(asked[i]), d, w*time.Second)
		}
	}
	if d := (Backoff{Rand: func(int64) int64 { return 0 }}).Delay(0); d != 0 {
		t.Fatalf("first retry is not randomised down to 0: %v", d)
	}
	if c := b.Ceiling(1000); c != 60*time.Second {
		t.Fatalf("ceiling overflow: %v", c)
	}
}

func TestRunBackoffUsesInjectedRand(t *testing.T) {
	pub, priv := newKey(t)
	h := newFakeHub(t, pub)
	h.srv.Close() // nothing listens: every dial fails
	var mu sync.Mutex
	var asked []int64
	a := startAgent(t, h, priv, spool.NewMem(0, nil), func(c *Config) {
		c.Backoff = Backoff{Base: time.Millisecond, Max: 8 * time.Millisecond, Rand: func(n int64) int64 {
			mu.Lock()
			asked = append(asked, n)
			mu.Unlock()
			return 0
		}}
	})
	waitState(t, a.link, func(State) bool { mu.Lock(); defer mu.Unlock(); return len(asked) >= 6 })
	a.stop(t)
	mu.Lock()
	defer mu.Unlock()
	got := fmt.Sprint(asked[:6])
	if want := fmt.Sprint([]int64{1e6, 2e6, 4e6, 8e6, 8e6, 8e6}); got != want {
		t.Fatalf("rand ceilings %s, want %s", got, want)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	pub, priv := newKey(t)
	h := newFakeHub(t, pub)
	h.busy, h.retryAfter = 1, "1"
	a := startAgent(t, h, priv, spool.NewMem(0, nil), nil)
	waitState(t, a.link, func(s State) bool { return s.Connected })
	h.mu.Lock()
	defer h.mu.Unlock()
	if gap := h.dials[1].Sub(h.dials[0]); gap < time.Second {
		t.Fatalf("redialled %v after a 503 with Retry-After: 1", gap)
	}
}

func TestRefusedMessageIsAckedAndDropped(t *testing.T) {
	pub, priv := newKey(t)
	h := newFakeHub(t, pub)
	h.refuse = 2
	a := startAgent(t, h, priv, spool.NewMem(0, nil), nil)
	for range 3 {
		a.link.Send(context.Background(), telemetry())
	}
	h.waitFor(t, "3 received", func() bool { return h.received == 3 })
	waitState(t, a.link, func(s State) bool { return s.SpoolDepth == 0 && s.AckedSeq == 3 && s.Connects == 1 })
}

func TestRunRequestsReachTheHookAndHelloListsFixes(t *testing.T) {
	pub, priv := newKey(t)
	h := newFakeHub(t, pub)
	h.afterWelcome = func(ctx context.Context, c *websocket.Conn) {
		h.send(ctx, c, wire.RunRequest{RunID: "run-1", Fix: "flush-dns", Tier: 1})
		// Invalid bodies with a readable run id are passed on with the error...
		for _, body := range []string{
			`{"run_id":"run-2","fix":"Flush DNS","tier":1}`,
			`{"run_id":"run-3","fix":"flush-dns","tier":1,"params":{"x":7}}`,
			`{"run_id":"run-4","fix":["not","a","string"]}`,
			// ...and those without one are dropped.
			`{"run_id":"../../etc/passwd","fix":"flush-dns"}`,
			`{"fix":"flush-dns"}`,
			`"just a string"`,
		} {
			c.Write(ctx, websocket.MessageText, []byte(`{"v":1,"type":"run_request","id":"x","time":"2026-01-01T00:00:00Z","body":`+body+`}`))
		}
		h.send(ctx, c, wire.RunRequest{RunID: "run-5", Fix: "clear-temp"})
	}
	var mu sync.Mutex
	var got []string
	startAgent(t, h, priv, spool.NewMem(0, nil), func(c *Config) {
		c.Fixes = []string{"flush-dns", "clear-temp"}
		c.OnRunRequest = func(req wire.RunRequest, err error) {
			mu.Lock()
			got = append(got, fmt.Sprintf("%s:%v", req.RunID, err != nil))
			mu.Unlock()
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 5 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := "[run-1:false run-2:true run-3:true run-4:true run-5:false]"; fmt.Sprint(got) != want {
		t.Fatalf("hook got %v, want %s", got, want)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if fmt.Sprint(h.helloSeen[0].Fixes) != "[flush-dns clear-temp]" {
		t.Fatalf("hello fixes %v", h.helloSeen[0].Fixes)
	}
}

// TestHubOffsetFollowsAcks moves the hub's clock while the agent stays
// connected and sees the measured offset follow it without a reconnect.
func TestHubOffsetFollowsAcks(t *testing.T) {
	pub, priv := newKey(t)
	h := newFakeHub(t, pub)
	sp, err := spool.Open(t.TempDir(), spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := startAgent(t, h, priv, sp, nil)
	if _, err := a.link.Send(context.Background(), telemetry()); err != nil {
		t.Fatal(err)
	}
	waitState(t, a.link, func(s State) bool { return s.AckedSeq == 1 && s.HubOffsetKnown })
	if off := a.link.State().HubOffset; off > time.Second || off < -time.Second {
		t.Fatalf("offset %s with clocks in step", off)
	}
	h.mu.Lock()
	h.skew = 3 * time.Minute
	h.mu.Unlock()
	if _, err := a.link.Send(context.Background(), telemetry()); err != nil {
		t.Fatal(err)
	}
	waitState(t, a.link, func(s State) bool { return s.AckedSeq == 2 })
	st := a.link.State()
	if st.Connects != 1 || st.HubOffset < 3*time.Minute-time.Second || st.HubOffset > 3*time.Minute+time.Second {
		t.Fatalf("after the hub's clock moved 3 min: offset %s, connects %d", st.HubOffset, st.Connects)
	}
}

// TestBusyHubNotDroppedByPing: after the welcome the hub reads nothing
// (no pong comes back) but keeps writing to the agent, as a hub whose
// reader of this connection waits on its own full ingest queue still
// sends acknowledgements as it commits. The agent keeps the connection.
func TestBusyHubNotDroppedByPing(t *testing.T) {
	pub, priv := newKey(t)
	h := newFakeHub(t, pub)
	var written atomic.Int64
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	h.afterWelcome = func(ctx context.Context, c *websocket.Conn) {
		// Further apart than the agent's quiet time (100 ms), so it
		// pings, and well within its pong timeout (900 ms).
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-release:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				h.send(ctx, c, wire.Ack{Seq: 0})
				written.Add(1)
			}
		}
	}
	sp := spool.NewMem(0, nil)
	a := startAgent(t, h, priv, sp, func(c *Config) { c.PingInterval, c.PingTimeout = time.Second, 900*time.Millisecond })
	// 10 frames are 3 s: several pings without a pong.
	h.waitFor(t, "3 s of frames from a hub that reads nothing", func() bool { return written.Load() >= 10 })
	if s := a.link.State(); s.Connects != 1 || !s.Connected {
		t.Fatalf("after 3 s of a busy hub: connects %d, connected %v, last error %q; want the first connection kept",
			s.Connects, s.Connected, s.LastError)
	}
}

// TestSilentHubDroppedByPing: after the welcome the hub reads nothing, so
// no pong comes back, as on a half-open connection. The ping drops the
// session, the state says offline and why (it said "use of closed
// network connection"), and the agent connects again.
func TestSilentHubDroppedByPing(t *testing.T) {
	pub, priv := newKey(t)
	h := newFakeHub(t, pub)
	var silent atomic.Bool
	silent.Store(true)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // before the server closes: it waits for its handlers
	h.afterWelcome = func(ctx context.Context, c *websocket.Conn) {
		if silent.Load() {
			<-release
		}
	}
	sp := spool.NewMem(0, nil)
	a := startAgent(t, h, priv, sp, func(c *Config) { c.PingInterval, c.PingTimeout = 150*time.Millisecond, 100*time.Millisecond })
	waitState(t, a.link, func(s State) bool {
		return s.Connects >= 1 && !s.Connected && strings.Contains(s.LastError, "the hub did not answer a ping within 100ms")
	})
	silent.Store(false)
	if _, err := a.link.Send(context.Background(), telemetry()); err != nil {
		t.Fatal(err)
	}
	waitState(t, a.link, func(s State) bool { return s.Connected && s.AckedSeq == 1 })
}

// slowAccept hands the hub each connection delay after the kernel
// completed its TCP connect: the agent waits that long for TLS.
type slowAccept struct {
	net.Listener
	delay time.Duration
}

func (l slowAccept) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		time.Sleep(l.delay)
	}
	return c, err
}

// TestConnectTimeoutBoundsOnlyTheConnect: a hub that completes the TCP
// connect at once but starts TLS three connect timeouts later (its
// accept waits for an admission slot) is still reached: the connect
// timeout does not cut the TLS handshake and hello short.
func TestConnectTimeoutBoundsOnlyTheConnect(t *testing.T) {
	pub, priv := newKey(t)
	h := newFakeHubOn(t, pub, func(l net.Listener) net.Listener { return slowAccept{l, 900 * time.Millisecond} })
	a := startAgent(t, h, priv, spool.NewMem(0, nil), func(c *Config) { c.ConnectTimeout, c.HandshakeTimeout = 300*time.Millisecond, time.Minute })
	waitState(t, a.link, func(s State) bool { return s.Connected })
	if s := a.link.State(); s.Connects != 1 || s.LastError != "" {
		t.Fatalf("connected after %d connects, last error %q; want the first, with no error", s.Connects, s.LastError)
	}
}
