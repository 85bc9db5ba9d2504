// Package gateway is the hub's side of the agent protocol: enrollment, the
// authenticated WebSocket each agent keeps open, group-committed ingest with
// acknowledgements, and cutting revoked devices off.
package gateway

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/ratelimit"
	"github.com/tierline/tierline/shared/wire"
)

// WebSocket close codes (4000-4999 are for applications).
const (
	CloseUnauthorized websocket.StatusCode = 4001
	CloseRevoked      websocket.StatusCode = 4003
	CloseReplaced     websocket.StatusCode = 4009
)

// Store is what the gateway needs from the store.
type Store interface {
	EnrollDevice(ctx context.Context, secretHash []byte, d store.Device, now time.Time) (store.Device, error)
	DeviceAuth(ctx context.Context, id string) (store.Device, error)
	SetPresence(ctx context.Context, events []store.Presence) error
	DevicesRevokedSince(ctx context.Context, since time.Time) ([]string, error)
	Ingest(ctx context.Context, items []store.IngestItem) ([]store.IngestResult, error)
	AppendAudit(ctx context.Context, e store.AuditEvent) error
	PendingRuns(ctx context.Context, deviceID string, now time.Time) ([]store.Run, error)
	MarkRunSent(ctx context.Context, id string, at time.Time) error
	ExpireRuns(ctx context.Context, now time.Time) ([]string, error)
	PolicyForDevice(ctx context.Context, id, group string) (store.Policy, error)
	SetDevicePolicy(ctx context.Context, id string, dp store.DevicePolicy, fixes []string) error
	SetRunProgress(ctx context.Context, deviceID string, p wire.RunProgress, at time.Time) (bool, error)
}

// Config configures a Gateway.
type Config struct {
	Store  Store
	Logger *slog.Logger
	Now    func() time.Time
	// MaxHandshakes bounds concurrent connection handshakes; past it agents
	// get 503 with Retry-After so a reconnect storm is spread out.
	MaxHandshakes int
	// HandshakeTimeout bounds the challenge/hello exchange.
	HandshakeTimeout time.Duration
	// PingInterval is how often the hub pings each agent; PingTimeout how
	// long it waits for the pong (default 20 s).
	PingInterval time.Duration
	PingTimeout  time.Duration
	// RevocationPoll is how often the store is checked for devices revoked
	// by another process (the CLI or another replica).
	RevocationPoll time.Duration
	// MaxBatch bounds one ingest transaction.
	MaxBatch int
	// IngestWorkers is how many ingest transactions may run at once (each
	// device's messages always go to the same one, in order). Default 1:
	// SQLite has one writer; on PostgreSQL several hide each other's
	// round trips.
	IngestWorkers int
	// Registerer receives the gateway's Prometheus metrics (nil: none).
	Registerer prometheus.Registerer
	// RunExpiryPoll is how often queued fix runs are checked for expiry.
	RunExpiryPoll time.Duration
	// DeviceDesk takes help requests, replies, survey answers and help
	// sessions from devices; nil refuses them.
	DeviceDesk DeviceDesk
	// OnRunFinished, if set, is called after a fix run's result or expiry
	// is stored (the run's Fix is empty for an expiry).
	OnRunFinished func(store.Run)
	// OnRunProgress, if set, is called after a running run's progress
	// step is stored (at most about once a second per run).
	OnRunProgress func(ctx context.Context, runID string)
	// Budgets are the per-device budgets of message types (nil:
	// DefaultBudgets; a type without one, or off, is not limited).
	Budgets map[wire.Type]ratelimit.Limit
	// Recipes, if set, hands devices their group's signed recipes and
	// keeps their reports (recipes.go).
	Recipes RecipeStore
}

// CheckAndSetDefaults validates c and fills defaults.
func (c *Config) CheckAndSetDefaults() error {
	if c.Store == nil {
		return errors.New("gateway: no store")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Logger = c.Logger.With("component", "gateway")
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MaxHandshakes <= 0 {
		c.MaxHandshakes = 512
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = 15 * time.Second
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 45 * time.Second
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = 20 * time.Second
	}
	if c.RevocationPoll <= 0 {
		c.RevocationPoll = 300 * time.Millisecond
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 1000
	}
	if c.IngestWorkers <= 0 {
		c.IngestWorkers = 1
	}
	if c.RunExpiryPoll <= 0 {
		c.RunExpiryPoll = 5 * time.Second
	}
	if c.Budgets == nil {
		c.Budgets = DefaultBudgets
	}
	return nil
}

// Gateway serves agents.
type Gateway struct {
	cfg        Config
	log        *slog.Logger
	handshakes chan struct{}
	// ingestQ has a queue per ingest worker; a device's messages all go
	// to one (ingestShard).
	ingestQ  []chan pending
	presence chan store.Presence
	metrics  *metrics
	budgets  budgets

	mu    sync.Mutex
	conns map[string]*agentConn

	waiters runWaiters
	checks  checkWaiters
}

// New returns a Gateway; call Run to start its background work.
func New(cfg Config) (*Gateway, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	ingestQ := make([]chan pending, cfg.IngestWorkers)
	for i := range ingestQ {
		ingestQ[i] = make(chan pending, max(cfg.MaxBatch, 16*cfg.MaxBatch/cfg.IngestWorkers))
	}
	return &Gateway{
		cfg:        cfg,
		log:        cfg.Logger,
		handshakes: make(chan struct{}, cfg.MaxHandshakes),
		ingestQ:    ingestQ,
		presence:   make(chan store.Presence, 65536),
		metrics:    newMetrics(cfg.Registerer),
		budgets:    newBudgets(cfg.Budgets),
		conns:      map[string]*agentConn{},
		waiters:    runWaiters{m: map[string][]chan struct{}{}},
	}, nil
}

// Run does the gateway's background work (ingest, presence, revocations)
// until ctx ends, then closes every agent connection.
func (g *Gateway) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(4 + len(g.ingestQ))
	go func() { defer wg.Done(); g.recipeLoop(ctx) }()
	for _, q := range g.ingestQ {
		go func() { defer wg.Done(); g.ingestLoop(ctx, q) }()
	}
	go func() { defer wg.Done(); g.expiryLoop(ctx) }()
	go func() { defer wg.Done(); g.presenceLoop(ctx) }()
	go func() { defer wg.Done(); g.revocationLoop(ctx) }()
	<-ctx.Done()
	g.mu.Lock()
	for _, c := range g.conns {
		c.close(websocket.StatusGoingAway, "hub shutting down")
	}
	g.mu.Unlock()
	wg.Wait()
	return nil
}

// Connected returns the number of authenticated agent connections.
func (g *Gateway) Connected() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.conns)
}

// IsConnected reports whether the device has a live connection here.
func (g *Gateway) IsConnected(id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.conns[id]
	return ok
}

// Revoked cuts a revoked device's live connection, if any, at once.
func (g *Gateway) Revoked(id string) {
	g.mu.Lock()
	c := g.conns[id]
	g.mu.Unlock()
	if c == nil {
		return
	}
	g.log.Info("closing connection of revoked device", "device", id)
	c.sendError(wire.CodeRevoked, "this device was revoked on the hub; enroll it again with a new token", 0)
	c.close(CloseRevoked, "device revoked")
}

func (g *Gateway) revocationLoop(ctx context.Context) {
	since := g.cfg.Now().Add(-time.Minute)
	t := time.NewTicker(g.cfg.RevocationPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := g.cfg.Now()
		ids, err := g.cfg.Store.DevicesRevokedSince(ctx, since)
		if err != nil {
			if ctx.Err() == nil {
				g.log.Warn("check for revoked devices", "err", err)
			}
			continue
		}
		// Overlap the window a little: a revocation committed by another
		// process just before `now` may carry an earlier time.
		since = now.Add(-2 * time.Second)
		for _, id := range ids {
			g.Revoked(id)
		}
	}
}

func (g *Gateway) register(c *agentConn) {
	g.mu.Lock()
	old := g.conns[c.deviceID]
	g.conns[c.deviceID] = c
	n := len(g.conns)
	g.mu.Unlock()
	g.metrics.connected.Set(float64(n))
	if old != nil {
		old.close(CloseReplaced, "replaced by a newer connection of this device")
	}
}

func (g *Gateway) unregister(c *agentConn) bool {
	g.mu.Lock()
	cur := g.conns[c.deviceID] == c
	if cur {
		delete(g.conns, c.deviceID)
	}
	n := len(g.conns)
	g.mu.Unlock()
	g.metrics.connected.Set(float64(n))
	return cur
}

func newNonce() []byte {
	b := make([]byte, wire.NonceSize)
	if _, err := rand.Read(b); err != nil {
		panic("gateway: crypto/rand failed: " + err.Error())
	}
	return b
}

func verifyHello(d store.Device, nonce []byte, h wire.Hello) bool {
	return len(d.PublicKey) == ed25519.PublicKeySize && ed25519.Verify(d.PublicKey, wire.AuthMessage(nonce, h.DeviceID), h.Signature)
}

// ErrOffline: the device has no live connection to this hub.
var ErrOffline = errors.New("device is not connected")

// RequestChecks asks a connected device to run health checks now (all of
// them when names is empty). The results arrive as a Health message and
// are stored like any other; the returned id names the request.
func (g *Gateway) RequestChecks(ctx context.Context, id string, names []string) (string, error) {
	g.mu.Lock()
	c := g.conns[id]
	g.mu.Unlock()
	if c == nil {
		return "", ErrOffline
	}
	req := wire.CheckRequest{RequestID: wire.NewID(), Names: names}
	if err := req.Validate(); err != nil {
		return "", err
	}
	if err := c.write(ctx, req); err != nil {
		return "", fmt.Errorf("send check request: %w", err)
	}
	return req.RequestID, nil
}
