package gateway

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/tierline/tierline/hub/admission"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/wire"
)

// maxFrameErrors is how many refused frames an authenticated agent may send
// before the hub closes its connection.
const maxFrameErrors = 100

// agentConn is one authenticated agent connection.
type agentConn struct {
	g        *Gateway
	ws       *websocket.Conn
	deviceID string
	log      *slog.Logger

	ackSeq atomic.Uint64 // highest sequence to acknowledge
	// ackBusy: a goroutine is sending acknowledgements (sendAcks);
	// ackSent is the highest it sent.
	ackBusy atomic.Bool
	ackSent uint64
	// pinger pings the agent every PingInterval (set before the
	// connection is registered) unless it was heard from meanwhile.
	pinger *time.Timer
	// heard is when the agent last sent a frame or a ping, unix ns.
	heard *atomic.Int64
	// ingestWaits counts the times the read loop waited for room in the
	// hub's full ingest queue; ingestWaiting is set while it waits. A
	// reader that waits reads no pong either, and a ping then is no
	// test of the agent (ping).
	ingestWaits   atomic.Uint64
	ingestWaiting atomic.Bool
	done          chan struct{}
	// cancel ends the connection's context (set before it is registered).
	cancel    context.CancelFunc
	closeOnce sync.Once
	// runMu keeps fix runs to this device in queue order.
	runMu sync.Mutex
	// hostname as the agent said in its hello.
	hostname string
	// kbBusy: a kb_query or templates_query is being answered (help.go).
	kbBusy atomic.Bool
	// lastSeq is the highest sequence number seen from the device: its
	// stored last at the welcome, then each accepted frame's. Only the
	// read loop uses it.
	lastSeq uint64
	// recipeStatusAt is when the last recipe status was stored (unix ns);
	// statusPending is a newer one waiting for its second (recipes.go).
	recipeStatusAt atomic.Int64
	statusMu       sync.Mutex
	statusPending  *wire.RecipeStatus
	// grp is the device's group (policy.go); policyMu keeps policies to
	// this device in order.
	groupMu  sync.Mutex
	grp      string
	policyMu sync.Mutex
}

func (c *agentConn) close(code websocket.StatusCode, reason string) {
	c.closeOnce.Do(func() {
		close(c.done)
		if c.cancel != nil {
			c.cancel()
		}
		if c.pinger != nil {
			c.pinger.Stop()
		}
		go c.ws.Close(code, reason)
	})
}

func (c *agentConn) write(ctx context.Context, body wire.Body) error {
	frame, err := wire.Encode(wire.NewID(), 0, time.Now(), body)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageText, frame)
}

func (c *agentConn) sendError(code, msg string, seq uint64) {
	c.g.metrics.frameErrors.WithLabelValues(code).Inc()
	_ = c.write(context.Background(), wire.Error{Code: code, Message: msg, Seq: seq})
}

// acked is called by the ingest loop once seq is durably stored. The
// acknowledgement goes out from a goroutine that lives only while there
// are acknowledgements to write (one at a time per connection, coalesced):
// no goroutine per connection waits for them.
func (c *agentConn) acked(seq uint64) {
	for {
		cur := c.ackSeq.Load()
		if seq <= cur || c.ackSeq.CompareAndSwap(cur, seq) {
			break
		}
	}
	if c.ackBusy.CompareAndSwap(false, true) {
		go c.sendAcks()
	}
}

// sendAcks writes the newest acknowledgement until none is left; only the
// goroutine that set ackBusy runs it, so ackSent needs no lock.
func (c *agentConn) sendAcks() {
	for {
		select {
		case <-c.done:
			c.ackBusy.Store(false)
			return
		default:
		}
		if seq := c.ackSeq.Load(); seq > c.ackSent {
			if err := c.write(context.Background(), wire.Ack{Seq: seq}); err != nil {
				c.ackBusy.Store(false)
				c.close(websocket.StatusGoingAway, "write failed")
				return
			}
			c.ackSent = seq
			continue
		}
		sent := c.ackSent // not read once ackBusy is let go
		c.ackBusy.Store(false)
		// An ack stored after the check above, whose acked found ackBusy
		// still set, is this goroutine's to send.
		if c.ackSeq.Load() <= sent || !c.ackBusy.CompareAndSwap(false, true) {
			return
		}
	}
}

// ping pings the agent from its timer's goroutine and sets the timer
// again; an agent that does not answer is cut off.
func (c *agentConn) ping() {
	select {
	case <-c.done:
		return
	default:
	}
	// An agent that spoke (its own pings come every 20 s of quiet, acks or
	// not) is there: no ping of the hub's, and no pong to read.
	if since := time.Duration(c.g.cfg.Now().UnixNano() - c.heard.Load()); since >= 0 && since < c.g.cfg.PingInterval {
		c.pinger.Reset(c.g.cfg.PingInterval - since)
		return
	}
	waits := c.ingestWaits.Load()
	if c.ingestWaiting.Load() {
		c.pinger.Reset(c.g.cfg.PingInterval)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.g.cfg.PingTimeout)
	err := c.ws.Ping(ctx)
	cancel()
	if errors.Is(err, context.DeadlineExceeded) && c.ingestWaits.Load() != waits {
		// The pong came while the reader was held by the hub's own
		// ingest queue: the agent is not the one that is slow.
		c.pinger.Reset(c.g.cfg.PingInterval)
		return
	}
	if err != nil {
		c.log.Info("agent did not answer ping; closing", "err", err)
		c.close(websocket.StatusGoingAway, "ping timeout")
		return
	}
	c.pinger.Reset(c.g.cfg.PingInterval)
}

// acceptOptions are an agent connection's WebSocket options: the agent's
// pings mark it heard.
func (g *Gateway) acceptOptions(heard *atomic.Int64) *websocket.AcceptOptions {
	return &websocket.AcceptOptions{Subprotocols: []string{wire.Subprotocol},
		OnPingReceived: func(context.Context, []byte) bool {
			heard.Store(g.cfg.Now().UnixNano())
			return true // answered with a pong
		}}
}

// ServeConnect handles wire.ConnectPath.
func (g *Gateway) ServeConnect(w http.ResponseWriter, r *http.Request) {
	// The connection's admission slot (hub/admission) is held through the
	// challenge and hello, so the hub takes no more TLS handshakes than it
	// can see through.
	defer admission.Release(r.Context())
	select {
	case g.handshakes <- struct{}{}:
	default:
		// Busy: spread the herd. Retry-After is randomised so refused agents
		// do not come back together.
		g.metrics.handshakes.WithLabelValues("busy").Inc()
		w.Header().Set("Retry-After", strconv.Itoa(1+rand.IntN(10)))
		http.Error(w, "hub is busy accepting other agents; retry later", http.StatusServiceUnavailable)
		return
	}
	released := false
	release := func() {
		if !released {
			released = true
			<-g.handshakes
			admission.Release(r.Context())
		}
	}
	defer release()

	heard := new(atomic.Int64)
	ws, err := websocket.Accept(smallBuffers{w}, r, g.acceptOptions(heard))
	if err != nil {
		g.metrics.handshakes.WithLabelValues("bad_upgrade").Inc()
		return
	}
	if ws.Subprotocol() != wire.Subprotocol {
		g.metrics.handshakes.WithLabelValues("bad_subprotocol").Inc()
		ws.Close(websocket.StatusPolicyViolation, "client must speak subprotocol "+wire.Subprotocol)
		return
	}
	ws.SetReadLimit(wire.MaxFrameSize)
	log := g.log.With("remote", r.RemoteAddr)

	c, welcome, err := g.handshake(r.Context(), ws, log, heard)
	if err != nil {
		code := wire.CodeOf(err)
		g.metrics.handshakes.WithLabelValues(code).Inc()
		log.Info("agent refused", "code", code, "err", err)
		return
	}
	release()
	g.metrics.handshakes.WithLabelValues("ok").Inc()
	// The connection goes on in a goroutine of its own and net/http's
	// returns: its stack, grown by the TLS handshake, and the server's
	// 4 KB buffers of the connection go with it. The request's context
	// ends with the handler, so the connection's does not derive its end
	// from it; closing the connection cancels it (no goroutine per
	// connection waits for that).
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	c.cancel = cancel
	c.pinger = time.AfterFunc(time.Hour, c.ping) // set before it can fire
	c.pinger.Reset(g.cfg.PingInterval)
	g.register(c)
	g.presence <- store.Presence{ID: c.deviceID, Online: true, Hello: welcome, At: g.cfg.Now()}
	go g.serveAgent(ctx, c)
}

// serveAgent reads an authenticated agent's messages until its
// connection ends.
func (g *Gateway) serveAgent(ctx context.Context, c *agentConn) {
	defer func() {
		c.close(websocket.StatusNormalClosure, "")
		if g.unregister(c) {
			g.presence <- store.Presence{ID: c.deviceID, Online: false, At: g.cfg.Now()}
		}
	}()
	// Its queued fix runs and ticket updates go once its presence is
	// recorded (presenceRecorded).
	go g.sendRecipes(ctx, c)
	go g.sendPolicy(ctx, c)
	c.readLoop(ctx)
}

// handshake sends the challenge, checks the hello and answers welcome.
func (g *Gateway) handshake(ctx context.Context, ws *websocket.Conn, log *slog.Logger, heard *atomic.Int64) (*agentConn, store.DeviceHello, error) {
	ctx, cancel := context.WithTimeout(ctx, g.cfg.HandshakeTimeout)
	defer cancel()
	nonce := newNonce()
	c := &agentConn{g: g, ws: ws, log: log, done: make(chan struct{}), heard: heard}
	refuse := func(status websocket.StatusCode, err *wire.ProtocolError) (*agentConn, store.DeviceHello, error) {
		c.sendError(err.Code, err.Message, 0)
		ws.Close(status, err.Message)
		return nil, store.DeviceHello{}, err
	}
	if err := c.write(ctx, wire.Challenge{Nonce: nonce, HubTime: g.cfg.Now().UTC()}); err != nil {
		return nil, store.DeviceHello{}, wire.Errorf("write_failed", "send challenge: %v", err)
	}
	_, frame, err := ws.Read(ctx)
	if err != nil {
		return nil, store.DeviceHello{}, wire.Errorf("read_failed", "read hello: %v", err)
	}
	env, err := wire.Decode(frame)
	if err != nil {
		var pe *wire.ProtocolError
		errors.As(err, &pe)
		return refuse(websocket.StatusPolicyViolation, pe)
	}
	hello, err := wire.DecodeBody[wire.Hello](env)
	if err != nil {
		var pe *wire.ProtocolError
		errors.As(err, &pe)
		return refuse(websocket.StatusPolicyViolation, pe)
	}
	d, err := g.cfg.Store.DeviceAuth(ctx, hello.DeviceID)
	if errors.Is(err, store.ErrNotFound) {
		return refuse(CloseUnauthorized, wire.Errorf(wire.CodeUnauthorized, "device %s is not enrolled on this hub; enroll with a new token", hello.DeviceID))
	}
	if err != nil {
		return refuse(websocket.StatusInternalError, wire.Errorf(wire.CodeInternal, "hub could not look up the device; it will retry"))
	}
	if !verifyHello(d, nonce, hello) {
		return refuse(CloseUnauthorized, wire.Errorf(wire.CodeUnauthorized, "signature does not match the key enrolled for device %s", hello.DeviceID))
	}
	if d.RevokedAt != nil {
		return refuse(CloseRevoked, wire.Errorf(wire.CodeRevoked, "this device was revoked on the hub; enroll it again with a new token"))
	}
	c.deviceID = d.ID
	c.hostname = hello.Hostname
	c.lastSeq = d.LastSeq
	c.grp = d.Group
	c.log = log.With("device", d.ID)
	if d.LastSeq > wire.MaxSeq-wire.MaxSeqJump {
		// Stored before the hub refused such numbers: the agent will not
		// follow it (it would have too few numbers left) and stays away.
		c.log.Error("the device's last stored sequence number is at the top of the range; its agent will refuse to connect: "+
			"revoke the device and enroll it again", "last_seq", d.LastSeq)
	}
	if err := c.write(ctx, wire.Welcome{DeviceID: d.ID, HubTime: g.cfg.Now().UTC(), LastSeq: d.LastSeq}); err != nil {
		return nil, store.DeviceHello{}, wire.Errorf("write_failed", "send welcome: %v", err)
	}
	return c, store.DeviceHello{
		Hostname: hello.Hostname, OS: hello.OS, Arch: hello.Arch, Platform: hello.Platform,
		AgentVersion: hello.AgentVersion, SpoolDropped: hello.SpoolDropped, Fixes: hello.Fixes,
	}, nil
}

func (c *agentConn) readLoop(ctx context.Context) {
	errs := 0
	for {
		_, frame, err := c.ws.Read(ctx)
		c.heard.Store(c.g.cfg.Now().UnixNano())
		if err != nil {
			if s := websocket.CloseStatus(err); s == websocket.StatusMessageTooBig || errors.Is(err, websocket.ErrMessageTooBig) {
				c.g.metrics.frameErrors.WithLabelValues(wire.CodeTooLarge).Inc()
				c.log.Warn("agent sent an oversized frame; connection closed", "limit", wire.MaxFrameSize)
			}
			return
		}
		if err := c.handle(ctx, frame); err != nil {
			errs++
			c.log.Warn("refused agent frame", "code", wire.CodeOf(err), "err", err)
			if errs >= maxFrameErrors {
				c.close(websocket.StatusPolicyViolation, "too many bad frames")
				return
			}
		}
	}
}

// handle decodes one frame and queues it for ingest. A refused sequenced
// message is recorded as rejected (and so acknowledged): resending it
// could never succeed.
func (c *agentConn) handle(ctx context.Context, frame []byte) error {
	env, err := wire.Decode(frame)
	if err != nil {
		c.sendError(wire.CodeOf(err), errMessage(err), env.Seq)
		return err
	}
	fresh, serr := c.checkSeq(env.Seq)
	if serr != nil {
		c.sendError(serr.Code, serr.Message, env.Seq)
		return serr
	}
	// A message sent again (after a lost ack) was paid for the first time.
	if fresh || env.Seq == 0 {
		if perr, at := c.overBudget(env.Type); perr != nil {
			c.refuseOverBudget(ctx, env, perr, at)
			return nil
		}
	}
	item := store.IngestItem{DeviceID: c.deviceID, Seq: env.Seq, Received: c.g.cfg.Now()}
	answers := ""
	switch env.Type {
	case wire.TypeTelemetry:
		var b wire.Telemetry
		if b, err = wire.DecodeBody[wire.Telemetry](env); err == nil {
			item.Kind, item.Sample, item.Checks, item.SpoolDropped = store.KindTelemetry, &b.Sample, b.Checks, b.SpoolDropped
		}
	case wire.TypeInventory:
		var b wire.Inventory
		if b, err = wire.DecodeBody[wire.Inventory](env); err == nil {
			item.Kind, item.Inventory = store.KindInventory, &b.Inventory
		}
	case wire.TypeHealth:
		var b wire.Health
		if b, err = wire.DecodeBody[wire.Health](env); err == nil {
			item.Kind, item.Checks = store.KindHealth, b.Checks
			answers = b.RequestID
		}
	case wire.TypeRunResult:
		var b wire.RunResult
		if b, err = wire.DecodeBody[wire.RunResult](env); err == nil {
			item.Kind, item.RunResult = store.KindRunResult, &b
		}
	case wire.TypeHelpRequest, wire.TypeUserReply, wire.TypeSurveyAnswer, wire.TypeHelpSession:
		if env.Seq == 0 {
			err = wire.Errorf(wire.CodeBadFrame, "%s messages must carry a sequence number", env.Type)
			break
		}
		if err = c.handleHelp(ctx, env); err == nil || errors.Is(err, errTransient) {
			return err
		}
	case wire.TypeKBQuery:
		return c.handleKBQuery(ctx, env)
	case wire.TypeTemplatesQuery:
		return c.handleTemplatesQuery(ctx, env)
	case wire.TypeRecipeStatus:
		return c.handleRecipeStatus(ctx, env)
	case wire.TypePolicyStatus:
		return c.handlePolicyStatus(ctx, env)
	case wire.TypeRunProgress:
		return c.handleRunProgress(ctx, env)
	case wire.TypeError:
		if b, derr := wire.DecodeBody[wire.Error](env); derr == nil {
			c.log.Info("agent reported an error", "code", b.Code, "message", b.Message)
		}
		return nil
	default:
		err = wire.Errorf(wire.CodeUnexpected, "agents may not send %s messages", env.Type)
	}
	if err != nil {
		c.sendError(wire.CodeOf(err), errMessage(err), env.Seq)
		if env.Seq == 0 {
			return err
		}
		item.Kind = store.KindRejected
		item.Sample, item.Inventory, item.Checks = nil, nil, nil
		c.g.enqueue(ctx, pending{item: item, conn: c, typ: string(env.Type)})
		return err
	}
	if env.Seq == 0 {
		err := wire.Errorf(wire.CodeBadFrame, "%s messages must carry a sequence number", env.Type)
		c.sendError(err.Code, err.Message, 0)
		return err
	}
	c.g.enqueue(ctx, pending{item: item, conn: c, typ: string(env.Type), answers: answers})
	return nil
}

// checkSeq refuses a sequence number more than wire.MaxSeqJump above the
// device's last: an agent numbers its messages 1, 2, 3, ..., and one
// number near the top would make the hub take every later message as a
// duplicate. The refused message is not stored (nor acknowledged).
// fresh is true for a sequenced message above every one seen before.
func (c *agentConn) checkSeq(seq uint64) (fresh bool, _ *wire.ProtocolError) {
	if seq <= c.lastSeq {
		return false, nil
	}
	if seq-c.lastSeq > wire.MaxSeqJump {
		return false, wire.Errorf(wire.CodeBadSeq, "sequence number %d is %d above this device's last (%d); the hub accepts at most %d above it, "+
			"so the message was not stored", seq, seq-c.lastSeq, c.lastSeq, wire.MaxSeqJump)
	}
	c.lastSeq = seq
	return true, nil
}

// errMessage is the peer-safe text of a protocol error.
func errMessage(err error) string {
	var pe *wire.ProtocolError
	if errors.As(err, &pe) {
		return pe.Message
	}
	return "the hub could not handle this message"
}
