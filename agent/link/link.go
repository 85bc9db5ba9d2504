// Package link is the agent's connection to its hub: one long-lived
// WebSocket over TLS that authenticates with the device key, replays the
// spool in order, sends new messages as they are spooled, removes them on
// the hub's acknowledgements and reconnects with jittered exponential
// backoff. See docs/protocol.md.
package link

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/tierline/tierline/agent/spool"
	"github.com/tierline/tierline/shared/wire"
)

// Close codes the hub uses.
const (
	CloseUnauthorized websocket.StatusCode = 4001
	CloseRevoked      websocket.StatusCode = 4003
)

// Defaults of Config.
const (
	DefaultWindow           = 256
	DefaultPingInterval     = 30 * time.Second
	DefaultPingTimeout      = 10 * time.Second
	DefaultConnectTimeout   = 30 * time.Second
	DefaultHandshakeTimeout = 20 * time.Second
	DefaultWriteTimeout     = 30 * time.Second
	DefaultStableAfter      = 30 * time.Second
)

// ErrRevoked is returned by Run when the hub says this device is revoked.
var ErrRevoked = errors.New("this device was revoked on the hub; enroll again with a new token")

// ErrUnauthorized is a session error: the hub refused the device's proof.
var ErrUnauthorized = errors.New("the hub refused this device's credentials")

// Config configures a Link.
type Config struct {
	// URL is the hub's WebSocket URL, wss://host:port/agent/v1/connect.
	URL string
	// TLS is the client TLS configuration (identity.Identity.TLSConfig).
	// Ignored when HTTPClient is set.
	TLS *tls.Config
	// DialContext dials TCP connections (nil: net.Dialer). fleetsim uses a
	// dialer with a LocalAddr. Ignored when HTTPClient is set.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// HTTPClient, if set, is used for the WebSocket handshake as is.
	HTTPClient *http.Client

	DeviceID     string
	Key          ed25519.PrivateKey
	AgentVersion string
	Hostname     string
	OS           string
	Arch         string
	Platform     string

	Spool   spool.Spool
	Logger  *slog.Logger
	Backoff Backoff

	Window       int           // max unacknowledged messages in flight (default 256)
	PingInterval time.Duration // a silent (half-open) connection is dropped within it (default 30 s; see session)
	PingTimeout  time.Duration // wait for a pong (default 10 s; less than PingInterval, half of it when not)
	// ConnectTimeout bounds the TCP connect (default 30 s). A busy hub
	// leaves new connections waiting in its kernel (hub/admission), the
	// kernel sending SYNs again after 1, 2, 4 and 8 s; that wait does not
	// eat into HandshakeTimeout, or the agent would give up just as the
	// hub takes it.
	ConnectTimeout   time.Duration
	HandshakeTimeout time.Duration // TLS + upgrade + challenge + welcome, after the connect (default 20 s)
	WriteTimeout     time.Duration // one frame write (default 30 s)
	StableAfter      time.Duration // a connection up this long resets the backoff (default 30 s)

	// OnAck, if set, is called with each cumulative ack sequence number.
	OnAck func(seq uint64)
	// OnConnect, if set, is called when a session is established.
	OnConnect func()
	// OnCheckRequest, if set, receives the hub's requests to run health
	// checks now. It is called on the read loop and must not block.
	OnCheckRequest func(wire.CheckRequest)
	// OnRunRequest, if set, receives the hub's requests to run a fix. It is
	// called on the read loop and must not block for long (queue the run;
	// spooling a refusal is fine). A request whose body does not decode or
	// validate is still passed on when its run id is valid, with decodeErr
	// set, so the agent can answer it with a refusal instead of leaving the
	// hub waiting; without a valid run id it is logged and dropped.
	OnRunRequest func(req wire.RunRequest, decodeErr error)
	// Fixes are the fix ids announced in Hello.Fixes (SetFixes changes
	// them for the next connection).
	Fixes []string
	// OnPolicyUpdate, if set, receives the device's policy from the hub,
	// or what could be read of it with the reason it is refused; it is
	// called on the link's reading goroutine.
	OnPolicyUpdate func(wire.PolicyUpdate, error)
	// OnHelpReceipt, if set, receives the ticket a help request became.
	// OnTicketUpdate receives changes to this device's tickets. Both are
	// called on the read loop and must not block.
	OnHelpReceipt  func(wire.HelpReceipt)
	OnTicketUpdate func(wire.TicketUpdate)
	// OnRecipes, if set, receives the organisation's signed recipes for
	// this device (unverified: the receiver checks them against the pinned
	// key). Called on the read loop; it must not block.
	OnRecipes func(wire.Recipes)
}

// State is a snapshot of the link for status displays.
type State struct {
	Connected     bool
	LastConnected time.Time // when the current or last session was established
	LastAcked     time.Time
	AckedSeq      uint64 // highest seq acked by the hub
	InFlight      int    // messages sent on the current connection and not yet acked
	SpoolDepth    int
	SpoolBytes    int64
	SpoolDropped  uint64
	Connects      uint64 // sessions established
	Failures      uint64 // dial or handshake failures and lost sessions
	LastError     string
	// HubOffset is the hub's clock minus ours (HubOffsetKnown false before
	// the first measurement), measured at each handshake and again at each
	// ack while connected, from the time the hub stamps on its frames, so
	// drift and a clock fix show without a reconnect. HubOffsetAt is when
	// it was last measured.
	HubOffset      time.Duration
	HubOffsetKnown bool
	HubOffsetAt    time.Time
}

// Link is a connection to the hub. Create with New, then call Run once.
type Link struct {
	cfg    Config
	log    *slog.Logger
	client *http.Client

	mu        sync.Mutex
	conn      *websocket.Conn // nil when not connected
	sent      uint64          // highest seq written on conn
	inflight  []uint64        // seqs written on conn and not yet acked
	pumping   bool
	pumpAgain bool
	st        State
	// asking holds the callers of ask (SearchKB, RequestTemplates)
	// waiting for their answer, by query id.
	asking map[string]chan wire.Body
}

// New checks cfg and returns a Link.
func New(cfg Config) (*Link, error) {
	if cfg.URL == "" || cfg.Spool == nil || len(cfg.Key) != ed25519.PrivateKeySize {
		return nil, errors.New("link: URL, Spool and an ed25519 Key are required")
	}
	if err := wire.ValidateDeviceID(cfg.DeviceID); err != nil {
		return nil, fmt.Errorf("link: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Backoff = cfg.Backoff.withDefaults()
	setDefault(&cfg.Window, DefaultWindow)
	setDefault(&cfg.PingInterval, DefaultPingInterval)
	setDefault(&cfg.PingTimeout, DefaultPingTimeout)
	if cfg.PingTimeout >= cfg.PingInterval {
		cfg.PingTimeout = cfg.PingInterval / 2
	}
	setDefault(&cfg.ConnectTimeout, DefaultConnectTimeout)
	setDefault(&cfg.HandshakeTimeout, DefaultHandshakeTimeout)
	setDefault(&cfg.WriteTimeout, DefaultWriteTimeout)
	setDefault(&cfg.StableAfter, DefaultStableAfter)
	l := &Link{cfg: cfg, log: cfg.Logger, client: cfg.HTTPClient}
	if l.client == nil {
		dial := cfg.DialContext
		if dial == nil {
			dial = (&net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext
		}
		tlsConfig := cfg.TLS
		if tlsConfig != nil && tlsConfig.ClientSessionCache == nil {
			// Resume the TLS session on reconnects (the hub keeps its
			// ticket keys across restarts and replicas): about half the
			// work of a full handshake for both sides.
			tlsConfig = tlsConfig.Clone()
			tlsConfig.ClientSessionCache = NewSessions()
		}
		l.client = &http.Client{Transport: &http.Transport{
			DialContext:         dial,
			TLSClientConfig:     tlsConfig,
			TLSHandshakeTimeout: cfg.HandshakeTimeout,
			Proxy:               http.ProxyFromEnvironment,
		}}
	}
	return l, nil
}

func setDefault[T int | time.Duration](p *T, def T) {
	if *p <= 0 {
		*p = def
	}
}

// State returns a snapshot of the link.
func (l *Link) State() State {
	ss := l.cfg.Spool.Stats()
	l.mu.Lock()
	st := l.st
	st.InFlight = len(l.inflight)
	l.mu.Unlock()
	st.SpoolDepth, st.SpoolBytes, st.SpoolDropped = ss.Depth, ss.Bytes, ss.Dropped
	return st
}

// Send spools body durably under the next sequence number and, when
// connected, sends it. It returns once the message is in the spool; the hub's
// ack removes it later. Telemetry gets the spool's dropped count filled in.
func (l *Link) Send(ctx context.Context, body wire.Body) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if t, ok := body.(wire.Telemetry); ok {
		t.SpoolDropped = l.cfg.Spool.Stats().Dropped
		body = t
	}
	now := time.Now()
	e, err := l.cfg.Spool.Append(body.Type(), func(seq uint64) ([]byte, error) {
		return wire.Encode(wire.NewID(), seq, now, body)
	})
	if err != nil {
		return 0, fmt.Errorf("spool %s: %w", body.Type(), err)
	}
	l.pump()
	return e.Seq, nil
}

// ErrOffline: the link is not connected to the hub now.
var ErrOffline = errors.New("not connected to the hub")

// SetFixes changes the fix ids the next Hello announces.
func (l *Link) SetFixes(ids []string) {
	l.mu.Lock()
	l.cfg.Fixes = ids
	l.mu.Unlock()
}

func (l *Link) fixes() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cfg.Fixes
}

// Notify sends an unsequenced message now: a statement the hub asks for
// again at each connection, or a report whose latest copy replaces the one
// before (the policy and recipe status), so it is not spooled. Offline it fails at once
// with ErrOffline.
func (l *Link) Notify(ctx context.Context, body wire.Body) error {
	frame, err := wire.Encode(wire.NewID(), 0, time.Now(), body)
	if err != nil {
		return err
	}
	l.mu.Lock()
	conn := l.conn
	l.mu.Unlock()
	if conn == nil {
		return ErrOffline
	}
	wctx, cancel := context.WithTimeout(ctx, l.cfg.WriteTimeout)
	defer cancel()
	if err := conn.Write(wctx, websocket.MessageText, frame); err != nil {
		return fmt.Errorf("send %s: %w", body.Type(), err)
	}
	return nil
}

// SearchKB asks the hub for published knowledge-base articles and waits
// for the answer until ctx ends. A question, not a record: it is not
// spooled, and offline it fails at once with ErrOffline.
func (l *Link) SearchKB(ctx context.Context, q wire.KBQuery) (wire.KBResults, error) {
	if q.QueryID == "" {
		q.QueryID = wire.NewID()
	}
	ans, err := l.ask(ctx, q.QueryID, q, "knowledge-base search")
	if err != nil {
		return wire.KBResults{}, err
	}
	r, ok := ans.(wire.KBResults)
	if !ok {
		return wire.KBResults{}, fmt.Errorf("the hub answered the knowledge-base search with %s", ans.Type())
	}
	return r, nil
}

// RequestTemplates asks the hub for its service request templates, as
// SearchKB asks for articles.
func (l *Link) RequestTemplates(ctx context.Context) ([]wire.RequestTemplate, error) {
	q := wire.TemplatesQuery{QueryID: wire.NewID()}
	ans, err := l.ask(ctx, q.QueryID, q, "request template listing")
	if err != nil {
		return nil, err
	}
	r, ok := ans.(wire.TemplateList)
	if !ok {
		return nil, fmt.Errorf("the hub answered the request template listing with %s", ans.Type())
	}
	return r.Templates, nil
}

// ask sends question q (not spooled) and waits until ctx ends for the
// hub's answer carrying query id.
func (l *Link) ask(ctx context.Context, id string, q wire.Body, what string) (wire.Body, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	frame, err := wire.Encode(wire.NewID(), 0, time.Now(), q)
	if err != nil {
		return nil, err
	}
	ch := make(chan wire.Body, 1)
	l.mu.Lock()
	conn := l.conn
	if conn == nil {
		l.mu.Unlock()
		return nil, ErrOffline
	}
	if l.asking == nil {
		l.asking = map[string]chan wire.Body{}
	}
	l.asking[id] = ch
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.asking, id)
		l.mu.Unlock()
	}()
	wctx, cancel := context.WithTimeout(ctx, l.cfg.WriteTimeout)
	err = conn.Write(wctx, websocket.MessageText, frame)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("ask the hub: %w", err)
	}
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("the hub did not answer the %s in time: %w", what, ctx.Err())
	}
}

// answered hands the hub's answer to the caller of ask waiting for it.
func (l *Link) answered(id string, body wire.Body) {
	l.mu.Lock()
	ch := l.asking[id]
	l.mu.Unlock()
	if ch != nil {
		select {
		case ch <- body:
		default:
		}
	}
}

// pump writes spooled entries beyond l.sent while the window has room. Only
// one pump runs at a time; a pump requested meanwhile makes it loop again.
func (l *Link) pump() {
	l.mu.Lock()
	if l.pumping || l.conn == nil {
		l.pumpAgain = l.pumping
		l.mu.Unlock()
		return
	}
	l.pumping = true
	l.pumpAgain = false
	l.mu.Unlock()
	// done ends this pump unless another was requested meanwhile for a
	// live connection (e.g. a new session started while we wrote to the
	// old one). Called with l.mu held; returns with it released.
	done := func() bool {
		if l.pumpAgain && l.conn != nil {
			l.pumpAgain = false
			l.mu.Unlock()
			return false
		}
		l.pumping = false
		l.mu.Unlock()
		return true
	}
	for {
		l.mu.Lock()
		conn, after, room := l.conn, l.sent, l.cfg.Window-len(l.inflight)
		var es []spool.Entry
		if conn != nil && room > 0 {
			l.mu.Unlock()
			es, _ = l.cfg.Spool.After(after, room)
			l.mu.Lock()
		}
		if len(es) == 0 || l.conn != conn || l.sent != after {
			if done() {
				return
			}
			continue
		}
		l.mu.Unlock()
		for _, e := range es {
			ctx, cancel := context.WithTimeout(context.Background(), l.cfg.WriteTimeout)
			err := conn.Write(ctx, websocket.MessageText, e.Frame)
			cancel()
			l.mu.Lock()
			if err != nil {
				if l.conn == conn {
					l.log.Warn("write to hub failed; reconnecting", "seq", e.Seq, "err", err)
				}
				conn.CloseNow()
				if l.conn == conn { // stop using it now; the reader will notice and reconnect
					l.conn, l.inflight = nil, nil
					l.st.Connected = false
				}
				break
			}
			if l.conn != conn {
				break
			}
			l.sent = e.Seq
			l.inflight = append(l.inflight, e.Seq)
			l.mu.Unlock()
			if e.Seq == es[len(es)-1].Seq {
				l.mu.Lock()
				break
			}
		}
		// l.mu is held here.
		if l.conn != conn {
			if done() {
				return
			}
			continue
		}
		l.mu.Unlock()
	}
}

// noteHubClock measures the hub's clock offset again from a frame the hub
// stamped at hubTime and that arrived at at. The estimate is low by the
// frame's one-way delay, milliseconds on a working network: well inside
// the clock checks' thresholds of a minute and more.
func (l *Link) noteHubClock(hubTime, at time.Time) {
	if hubTime.IsZero() {
		return
	}
	l.mu.Lock()
	l.st.HubOffset, l.st.HubOffsetKnown, l.st.HubOffsetAt = hubTime.Sub(at), true, at
	l.mu.Unlock()
}

func (l *Link) handleAck(seq uint64) {
	if err := l.cfg.Spool.Ack(seq); err != nil {
		l.log.Warn("removing acknowledged messages from the spool failed", "seq", seq, "err", err)
	}
	l.mu.Lock()
	n := 0
	for n < len(l.inflight) && l.inflight[n] <= seq {
		n++
	}
	if n > 0 {
		rest := copy(l.inflight, l.inflight[n:])
		l.inflight = l.inflight[:rest]
		if rest == 0 && cap(l.inflight) > 64 {
			l.inflight = nil
		}
	}
	if seq > l.st.AckedSeq {
		l.st.AckedSeq = seq
	}
	l.st.LastAcked = time.Now()
	l.mu.Unlock()
	if l.cfg.OnAck != nil {
		l.cfg.OnAck(seq)
	}
	l.pump()
}

// retryAfterError is a dial refused with 503 and a Retry-After.
type retryAfterError struct {
	wait time.Duration
	err  error
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// Run connects and keeps the device connected until ctx is cancelled (it
// then closes the WebSocket with a normal closure and returns nil) or the
// hub revokes the device (it returns ErrRevoked).
func (l *Link) Run(ctx context.Context) error {
	attempt := 0
	for {
		up, err := l.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrRevoked) {
			l.log.Error(ErrRevoked.Error(), "device_id", l.cfg.DeviceID)
			l.setErr(err)
			return ErrRevoked
		}
		if up >= l.cfg.StableAfter {
			attempt = 0
		}
		var delay time.Duration
		var ra *retryAfterError
		if errors.As(err, &ra) && ra.wait > 0 {
			// The hub is up but busy admitting others and said when to come
			// back (randomised on its side): follow it, and do not grow the
			// backoff, which is for a hub that cannot be reached at all.
			delay = ra.wait
		} else {
			delay = l.cfg.Backoff.Delay(attempt)
			if attempt < 62 {
				attempt++
			}
		}
		l.setErr(err)
		if up > 0 {
			l.log.Warn("hub connection lost; reconnecting", "err", err, "was_up", up.Round(time.Second).String(), "retry_in", delay.Round(time.Millisecond).String())
		} else {
			l.log.Warn("cannot connect to hub; retrying", "url", l.cfg.URL, "err", err, "retry_in", delay.Round(time.Millisecond).String())
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

func (l *Link) setErr(err error) {
	l.mu.Lock()
	l.st.Failures++
	if err != nil {
		l.st.LastError = err.Error()
	}
	l.mu.Unlock()
}

func closeErr(err error) error {
	switch websocket.CloseStatus(err) {
	case CloseRevoked:
		return ErrRevoked
	case CloseUnauthorized:
		return fmt.Errorf("%w: %v", ErrUnauthorized, err)
	}
	return err
}

// handshake dials and authenticates. It returns the welcomed connection.
func (l *Link) handshake(ctx context.Context) (*websocket.Conn, wire.Welcome, error) {
	var w wire.Welcome
	// The connect has its own bound (ConnectTimeout, the dialer's); the
	// transport bounds the TLS handshake by HandshakeTimeout.
	hctx, cancel := context.WithTimeout(ctx, l.cfg.ConnectTimeout+l.cfg.HandshakeTimeout)
	defer cancel()
	conn, resp, err := websocket.Dial(hctx, l.cfg.URL, &websocket.DialOptions{
		HTTPClient:   l.client,
		Subprotocols: []string{wire.Subprotocol},
	})
	if err != nil {
		if resp != nil {
			if resp.StatusCode == http.StatusServiceUnavailable {
				return nil, w, &retryAfterError{wait: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
					err: fmt.Errorf("hub is busy (HTTP 503): %w", err)}
			}
		}
		return nil, w, fmt.Errorf("dial %s: %w", l.cfg.URL, err)
	}
	conn.SetReadLimit(wire.MaxFrameSize)
	// The challenge and hello have HandshakeTimeout from here.
	cctx, ccancel := context.WithTimeout(ctx, l.cfg.HandshakeTimeout)
	defer ccancel()
	fail := func(err error) (*websocket.Conn, wire.Welcome, error) {
		conn.CloseNow()
		return nil, w, err
	}
	ch, err := readTyped[wire.Challenge](cctx, conn)
	if err != nil {
		return fail(fmt.Errorf("read challenge: %w", err))
	}
	ss := l.cfg.Spool.Stats()
	hello := wire.Hello{
		DeviceID: l.cfg.DeviceID, Signature: ed25519.Sign(l.cfg.Key, wire.AuthMessage(ch.Nonce, l.cfg.DeviceID)),
		AgentVersion: l.cfg.AgentVersion, Hostname: l.cfg.Hostname, OS: l.cfg.OS, Arch: l.cfg.Arch,
		Platform: l.cfg.Platform, SpoolDropped: ss.Dropped, SpoolDepth: ss.Depth, Fixes: l.fixes(),
	}
	frame, err := wire.Encode(wire.NewID(), 0, time.Now(), hello)
	if err != nil {
		return fail(err)
	}
	sentAt := time.Now()
	if err := conn.Write(cctx, websocket.MessageText, frame); err != nil {
		return fail(fmt.Errorf("send hello: %w", closeErr(err)))
	}
	w, err = readTyped[wire.Welcome](cctx, conn)
	if err != nil {
		return fail(fmt.Errorf("authenticate: %w", err))
	}
	if !w.HubTime.IsZero() {
		// The hub stamped Welcome between our hello and its arrival here.
		rtt := time.Since(sentAt)
		offset := w.HubTime.Sub(sentAt.Add(rtt / 2))
		l.mu.Lock()
		l.st.HubOffset, l.st.HubOffsetKnown, l.st.HubOffsetAt = offset, true, time.Now()
		l.mu.Unlock()
	}
	if w.DeviceID != l.cfg.DeviceID {
		return fail(fmt.Errorf("hub welcomed device %s, not this device %s", w.DeviceID, l.cfg.DeviceID))
	}
	return conn, w, nil
}

// readTyped reads one frame during the handshake. An Error frame from the
// hub becomes an error (ErrRevoked for code "revoked").
func readTyped[T wire.Body](ctx context.Context, conn *websocket.Conn) (T, error) {
	var zero T
	_, data, err := conn.Read(ctx)
	if err != nil {
		return zero, closeErr(err)
	}
	env, err := wire.Decode(data)
	if err != nil {
		return zero, err
	}
	if env.Type == wire.TypeError {
		e, err := wire.DecodeBody[wire.Error](env)
		if err != nil {
			return zero, err
		}
		switch e.Code {
		case wire.CodeRevoked:
			return zero, ErrRevoked
		case wire.CodeUnauthorized:
			return zero, fmt.Errorf("%w: %s", ErrUnauthorized, e.Message)
		}
		return zero, fmt.Errorf("hub error %s: %s", e.Code, e.Message)
	}
	return wire.DecodeBody[T](env)
}

// session runs one connection. It returns how long the session was
// established (0 if it never was) and why it ended.
func (l *Link) session(ctx context.Context) (time.Duration, error) {
	conn, w, err := l.handshake(ctx)
	if err != nil {
		return 0, err
	}
	if w.LastSeq > 0 {
		if err := l.cfg.Spool.Advance(w.LastSeq); errors.Is(err, spool.ErrSeqTooHigh) {
			// Taking it would leave the device too few sequence numbers
			// (and a hub with a record like this one drops what follows
			// as duplicates): stay off this hub, keep everything spooled.
			conn.Close(websocket.StatusPolicyViolation, "last_seq refused")
			return 0, fmt.Errorf("the hub says it has this device's messages up to number %d, too close to the highest "+
				"sequence number; not connecting, and keeping every message spooled (the hub's record of this device is "+
				"damaged or the hub is not to be trusted; enroll the device again): %w", w.LastSeq, err)
		} else if err != nil {
			l.log.Warn("recording the hub's last sequence number failed", "err", err)
		}
		if err := l.cfg.Spool.Ack(w.LastSeq); err != nil {
			l.log.Warn("removing messages the hub already has failed", "err", err)
		}
	}
	start := time.Now()
	l.mu.Lock()
	l.conn, l.sent, l.inflight = conn, w.LastSeq, nil
	l.st.Connected, l.st.LastConnected = true, start
	l.st.Connects++
	if w.LastSeq > l.st.AckedSeq {
		l.st.AckedSeq = w.LastSeq
	}
	l.mu.Unlock()
	l.log.Info("connected to hub", "url", l.cfg.URL, "last_seq", w.LastSeq, "spool_depth", l.cfg.Spool.Stats().Depth)
	if l.cfg.OnConnect != nil {
		l.cfg.OnConnect()
	}

	closed := make(chan struct{})
	stopClose := context.AfterFunc(ctx, func() {
		defer close(closed)
		l.detach(conn)
		conn.Close(websocket.StatusNormalClosure, "agent shutting down")
	})
	// The ping is what notices a half-open connection (the hub or the path
	// gone without a FIN or RST: writes still succeed into the socket and
	// nothing comes back), within PingInterval: once the hub has been quiet
	// for PingInterval-PingTimeout, a ping, and PingTimeout for its pong.
	// Any frame from the hub (an ack) shows the connection alive, so a
	// connection that carries telemetry is not pinged.
	quiet := l.cfg.PingInterval - l.cfg.PingTimeout
	var heard atomic.Int64 // when the last frame (or pong) came from the hub, unix ns
	heard.Store(start.UnixNano())
	var pinger *time.Timer
	var pingMu sync.Mutex
	var pingErr error // why the ping ended the session
	stopped := false
	var ping func()
	again := func(d time.Duration) {
		pingMu.Lock()
		if !stopped {
			pinger = time.AfterFunc(d, ping)
		}
		pingMu.Unlock()
	}
	ping = func() {
		if since := time.Since(time.Unix(0, heard.Load())); since < quiet {
			again(quiet - since)
			return
		}
		pctx, cancel := context.WithTimeout(context.Background(), l.cfg.PingTimeout)
		err := conn.Ping(pctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) && time.Since(time.Unix(0, heard.Load())) < l.cfg.PingTimeout {
			// No pong, but a frame (an ack) came while it was awaited: the
			// hub is there, its reader of this connection busy (a hub
			// storing a storm's backlog reads on as it commits).
			again(quiet)
			return
		}
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				l.log.Warn("hub did not answer ping; reconnecting", "timeout", l.cfg.PingTimeout.String(), "err", err)
				err = fmt.Errorf("the hub did not answer a ping within %s; the connection was dropped as dead: %w", l.cfg.PingTimeout, err)
				pingMu.Lock()
				pingErr = err
				pingMu.Unlock()
				// Said at once (the tray shows it), not when the reader ends.
				l.mu.Lock()
				l.st.LastError = err.Error()
				l.mu.Unlock()
				l.detach(conn)
			}
			// Otherwise the connection is closing already and the reader
			// says why.
			conn.CloseNow()
			return
		}
		heard.Store(time.Now().UnixNano())
		again(quiet)
	}
	again(quiet)

	l.pump()
	err = l.readLoop(conn, &heard)

	pingMu.Lock()
	stopped = true
	pinger.Stop()
	if pingErr != nil {
		// The reader's error is only "use of closed network connection".
		err = pingErr
	}
	pingMu.Unlock()
	l.detach(conn)
	if !stopClose() {
		<-closed // shutting down: let the close handshake finish
	} else {
		conn.CloseNow()
	}
	return time.Since(start), err
}

func (l *Link) detach(conn *websocket.Conn) {
	l.mu.Lock()
	if l.conn == conn {
		l.conn, l.inflight = nil, nil
		l.st.Connected = false
	}
	l.mu.Unlock()
}

// readLoop handles hub frames until the connection ends, noting in heard
// when each arrived.
func (l *Link) readLoop(conn *websocket.Conn, heard *atomic.Int64) error {
	bad := 0
	for {
		_, data, err := conn.Read(context.Background())
		if err != nil {
			return closeErr(err)
		}
		heard.Store(time.Now().UnixNano())
		env, err := wire.Decode(data)
		if err != nil {
			bad++
			l.log.Warn("ignoring bad frame from hub", "err", err, "bad_frames", bad)
			continue
		}
		switch env.Type {
		case wire.TypeAck:
			at := time.Now()
			a, err := wire.DecodeBody[wire.Ack](env)
			if err != nil {
				l.log.Warn("ignoring bad ack from hub", "err", err)
				continue
			}
			l.noteHubClock(env.Time, at)
			l.handleAck(a.Seq)
		case wire.TypeError:
			e, err := wire.DecodeBody[wire.Error](env)
			if err != nil {
				l.log.Warn("ignoring bad error frame from hub", "err", err)
				continue
			}
			if e.Code == wire.CodeRevoked {
				conn.Close(websocket.StatusNormalClosure, "revoked")
				return ErrRevoked
			}
			l.log.Warn("hub refused a message", "code", e.Code, "message", e.Message, "seq", e.Seq)
		case wire.TypeCheckRequest:
			req, err := wire.DecodeBody[wire.CheckRequest](env)
			if err != nil {
				l.log.Warn("ignoring bad check request from hub", "err", err)
				continue
			}
			if l.cfg.OnCheckRequest != nil {
				l.cfg.OnCheckRequest(req)
			}
		case wire.TypeRunRequest:
			req, err := decodeRunRequest(env)
			if wire.ValidateRunID(req.RunID) != nil {
				l.log.Warn("ignoring a fix request without a valid run id", "err", err)
				continue
			}
			if l.cfg.OnRunRequest != nil {
				l.cfg.OnRunRequest(req, err)
			}
		case wire.TypePolicyUpdate:
			u, err := wire.DecodeBody[wire.PolicyUpdate](env)
			if l.cfg.OnPolicyUpdate != nil {
				l.cfg.OnPolicyUpdate(u, err)
			}
		case wire.TypeHelpReceipt:
			r, err := wire.DecodeBody[wire.HelpReceipt](env)
			if err != nil {
				l.log.Warn("ignoring a malformed help receipt", "err", err)
				continue
			}
			if l.cfg.OnHelpReceipt != nil {
				l.cfg.OnHelpReceipt(r)
			}
		case wire.TypeTicketUpdate:
			u, err := wire.DecodeBody[wire.TicketUpdate](env)
			if err != nil {
				l.log.Warn("ignoring a malformed ticket update", "err", err)
				continue
			}
			if l.cfg.OnTicketUpdate != nil {
				l.cfg.OnTicketUpdate(u)
			}
		case wire.TypeRecipes:
			rs, err := wire.DecodeBody[wire.Recipes](env)
			if err != nil {
				l.log.Warn("ignoring a malformed recipes message", "err", err)
				continue
			}
			if l.cfg.OnRecipes != nil {
				l.cfg.OnRecipes(rs)
			}
		case wire.TypeKBResults:
			r, err := wire.DecodeBody[wire.KBResults](env)
			if err != nil {
				l.log.Warn("ignoring malformed knowledge-base results", "err", err)
				continue
			}
			l.answered(r.QueryID, r)
		case wire.TypeTemplateList:
			r, err := wire.DecodeBody[wire.TemplateList](env)
			if err != nil {
				l.log.Warn("ignoring a malformed request template list", "err", err)
				continue
			}
			l.answered(r.QueryID, r)
		default:
			l.log.Debug("ignoring unexpected message from hub", "type", env.Type)
		}
	}
}

// decodeRunRequest decodes a run request. When the body fails to decode
// or validate, it returns what could be read (at least the run id, if the
// body is a JSON object with one) together with the error.
func decodeRunRequest(env wire.Envelope) (wire.RunRequest, error) {
	req, err := wire.DecodeBody[wire.RunRequest](env)
	if err == nil {
		return req, nil
	}
	var full wire.RunRequest
	if json.Unmarshal(env.Body, &full) == nil {
		return full, err
	}
	var partial struct {
		RunID string `json:"run_id"`
		Fix   string `json:"fix"`
	}
	if json.Unmarshal(env.Body, &partial) == nil {
		return wire.RunRequest{RunID: partial.RunID, Fix: partial.Fix}, err
	}
	var id struct {
		RunID string `json:"run_id"`
	}
	json.Unmarshal(env.Body, &id)
	return wire.RunRequest{RunID: id.RunID}, err
}
