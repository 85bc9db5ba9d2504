// Package replicas lets several tierline-hub processes share one PostgreSQL
// database behind a TCP load balancer. Each replica registers itself and
// renews a lease; a device's connection row names the replica holding it;
// what one replica has for a device another holds (a fix run, a check
// request, a ticket update, a policy) is stored first and announced to
// the holder with NOTIFY on the holder's channel, and what the console's
// live pages show (ticket changes, finished runs) is announced to all on
// a broadcast channel. The database stays the record: a replica whose
// listening connection drops re-reads, once it listens again, what is
// pending for the devices it holds, and a device that reconnects is sent
// its queue as always.
//
// The embedded SQLite store has one hub and uses none of this.
package replicas

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// Broadcast is the channel every replica listens on.
const Broadcast = "tierline_replicas"

// Channel is the notification channel of one replica.
func Channel(id string) string { return "tierline_replica_" + id }

// ListenerName is the application_name of a replica's listening
// connection.
func ListenerName(id string) string { return "tierline-replica-" + id + "-listen" }

// IDFile in a hub's data directory holds its replica id.
const IDFile = "replica-id"

// LoadID returns the replica id kept in dataDir, making one on the first
// start. Each replica has its own data directory, hence its own id; the
// id outlives restarts, so a restarted replica resets only the presence
// of the devices it held before.
func LoadID(dataDir string) (string, error) {
	path := filepath.Join(dataDir, IDFile)
	raw, err := os.ReadFile(path)
	if err == nil {
		id := strings.TrimSpace(string(raw))
		if !validID(id) {
			return "", fmt.Errorf("%s holds %q, not a replica id (16 hex digits): delete the file and the hub makes a new one", path, wire.Clip(id, 40))
		}
		return id, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read replica id: %w", err)
	}
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	id := hex.EncodeToString(b)
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write replica id: %w", err)
	}
	return id, nil
}

func validID(id string) bool {
	if len(id) != 16 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil && strings.ToLower(id) == id
}

// Store is what replicas need of the store.
type Store interface {
	RegisterReplica(ctx context.Context, r store.Replica) error
	RenewReplica(ctx context.Context, id string, until time.Time) (bool, error)
	ReapReplicas(ctx context.Context, now time.Time) (devices, replicas []string, err error)
	RemoveReplica(ctx context.Context, id string, at time.Time) error
	ClaimDevices(ctx context.Context, ids []string) error
	Notify(ctx context.Context, channel, payload string) error
	NotifyHolder(ctx context.Context, n store.HolderNote) (string, error)
	GetRun(ctx context.Context, id string) (store.Run, error)
	GetTicket(ctx context.Context, id string) (store.Ticket, error)
	TicketEvents(ctx context.Context, id string) ([]store.TicketEvent, error)
	GetDevice(ctx context.Context, id string) (store.Device, error)
}

// Gateway is what replicas need of this hub's gateway (hub/gateway).
type Gateway interface {
	DispatchRun(ctx context.Context, r store.Run) (bool, error)
	Notify(ctx context.Context, deviceID string, body wire.Body) error
	RequestChecks(ctx context.Context, id string, names []string) (string, error)
	RequestChecksID(ctx context.Context, id, requestID string, names []string) error
	Diagnose(ctx context.Context, id string) ([]diag.CheckResult, error)
	DiagnoseID(ctx context.Context, id, requestID string) ([]diag.CheckResult, error)
	PolicyChanged(ctx context.Context, group string)
	DeviceGroupChanged(ctx context.Context, id, group string)
	Revoked(id string)
	IsConnected(id string) bool
	SendPendingRuns(ctx context.Context, id string) bool
	SendCatchUp(ctx context.Context, id string) bool
	ResendAll(ctx context.Context)
	ConnectedDevices() []string
	RunStoredElsewhere(id string)
}

// Console is what replicas need of the console: its live pages hear of
// changes made through other replicas.
type Console interface {
	PublishTicket(tickets.Change)
	PublishRun(store.Run)
	PublishNotification(u store.User, n store.Notification, unread int)
	PublishUnread(user string, unread int)
}

// Config configures Replicas.
type Config struct {
	Store   Store
	Gateway Gateway
	Console Console
	// DSN is the PostgreSQL URL; the listening connection is its own.
	DSN string
	// ID names this replica (LoadID); Address is where it listens, for
	// people reading the replicas table.
	ID      string
	Address string
	// Lease is how long a replica counts as alive after its last renewal
	// (default 15 s; renewed every third of it). A replica's devices are
	// marked offline once its lease has lapsed.
	Lease  time.Duration
	Logger *slog.Logger
	Now    func() time.Time
	// OnReaped, if set, hears the devices marked offline because their
	// replica's lease lapsed.
	OnReaped func(devices []string)
}

// Replicas is this hub's part in a group of replicas.
type Replicas struct {
	cfg     Config
	log     *slog.Logger
	started time.Time
	// listening is true while the listening connection is up.
	listening atomic.Bool
	// sent counts notifications sent, by outcome (tests, metrics).
	sent, failed atomic.Int64
	// diagnoses are this replica's Diagnose calls waiting for another
	// replica's answer, by request id.
	diagMu    sync.Mutex
	diagnoses map[string]chan string
}

// New checks cfg and returns Replicas; call Register, then Run.
func New(cfg Config) (*Replicas, error) {
	if cfg.Store == nil || cfg.Gateway == nil || cfg.Console == nil {
		return nil, errors.New("replicas: store, gateway and console are required")
	}
	if !validID(cfg.ID) {
		return nil, fmt.Errorf("replicas: %q is not a replica id", cfg.ID)
	}
	if cfg.DSN == "" {
		return nil, errors.New("replicas: no PostgreSQL URL to listen on")
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 15 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Replicas{cfg: cfg, log: cfg.Logger.With("component", "replicas", "replica", cfg.ID), diagnoses: map[string]chan string{}}, nil
}

// ID is this replica's id.
func (r *Replicas) ID() string { return r.cfg.ID }

// Register records this replica and its first lease; call it before the
// hub accepts agents.
func (r *Replicas) Register(ctx context.Context) error {
	r.started = r.cfg.Now()
	return r.cfg.Store.RegisterReplica(ctx, store.Replica{ID: r.cfg.ID, Address: r.cfg.Address, StartedAt: r.started,
		LeaseUntil: r.started.Add(r.cfg.Lease)})
}

// Run renews the lease, marks offline the devices of replicas whose lease
// lapsed, and listens for notifications until ctx ends; then it removes
// this replica (its devices go offline, those that moved elsewhere stay).
func (r *Replicas) Run(ctx context.Context) {
	done := make(chan struct{})
	go func() { defer close(done); r.listen(ctx) }()
	r.leaseLoop(ctx)
	<-done
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.cfg.Store.RemoveReplica(cctx, r.cfg.ID, r.cfg.Now()); err != nil {
		r.log.Warn("remove this replica at shutdown; the others mark its devices offline when its lease lapses", "err", err)
	}
}

func (r *Replicas) leaseLoop(ctx context.Context) {
	t := time.NewTicker(r.cfg.Lease / 3)
	defer t.Stop()
	claim := false // devices to take back, until that succeeds
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := r.cfg.Now()
		ok, err := r.cfg.Store.RenewReplica(ctx, r.cfg.ID, now.Add(r.cfg.Lease))
		switch {
		case err != nil:
			if ctx.Err() == nil {
				r.log.Warn("renew lease; retrying (past the lease the other replicas mark this one's devices offline)", "err", err)
			}
			continue
		case !ok:
			// Another replica found the lease lapsed (this one was cut off
			// from the database) and marked its devices offline: take back
			// those still connected here.
			r.log.Warn("this replica's lease had lapsed; registering again and taking back its devices")
			if err := r.cfg.Store.RegisterReplica(ctx, store.Replica{ID: r.cfg.ID, Address: r.cfg.Address, StartedAt: r.started,
				LeaseUntil: now.Add(r.cfg.Lease)}); err != nil {
				r.log.Warn("register again", "err", err)
				continue
			}
			claim = true
		}
		if claim {
			if err := r.cfg.Store.ClaimDevices(ctx, r.cfg.Gateway.ConnectedDevices()); err != nil {
				r.log.Warn("take back devices; retrying at the next renewal", "err", err)
			} else {
				claim = false
			}
		}
		devices, gone, err := r.cfg.Store.ReapReplicas(ctx, now)
		if err != nil {
			if ctx.Err() == nil {
				r.log.Warn("check other replicas' leases", "err", err)
			}
			continue
		}
		if len(gone) > 0 || len(devices) > 0 {
			r.log.Info("replicas' leases lapsed; their devices are offline until they reconnect", "replicas", gone, "devices", len(devices))
			if r.cfg.OnReaped != nil {
				r.cfg.OnReaped(devices)
			}
		}
	}
}

// Listening reports whether the listening connection is up.
func (r *Replicas) Listening() bool { return r.listening.Load() }

// listen keeps a connection of its own LISTENing on this replica's channel
// and the broadcast channel, reconnecting with backoff. Each time it
// listens again it resends its devices what the store holds for them:
// what was announced while it was not listening is not lost.
func (r *Replicas) listen(ctx context.Context) {
	backoff := 100 * time.Millisecond
	first := true
	for ctx.Err() == nil {
		err := r.listenOnce(ctx, func() {
			backoff = 100 * time.Millisecond
			if !first {
				go r.cfg.Gateway.ResendAll(ctx)
			}
			first = false
		})
		r.listening.Store(false)
		if ctx.Err() != nil {
			return
		}
		r.log.Warn("listening connection to PostgreSQL lost; reconnecting (the store keeps what is announced meanwhile)", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (r *Replicas) listenOnce(ctx context.Context, up func()) error {
	pc, err := pgx.ParseConfig(r.cfg.DSN)
	if err != nil {
		return fmt.Errorf("--db: %w", err)
	}
	// Operators (and tests) find it in pg_stat_activity by this name.
	pc.RuntimeParams["application_name"] = ListenerName(r.cfg.ID)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.ConnectConfig(cctx, pc)
	cancel()
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	for _, ch := range []string{Channel(r.cfg.ID), Broadcast} {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			return fmt.Errorf("listen %s: %w", ch, err)
		}
	}
	r.listening.Store(true)
	up()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		m, err := Decode(n.Payload)
		if err != nil {
			r.log.Warn("ignoring a notification", "channel", n.Channel, "err", err)
			continue
		}
		if m.From == r.cfg.ID {
			continue // our own broadcast
		}
		go r.handle(ctx, m)
	}
}

// send notifies channel of m; a failure is logged, not returned: the
// record is in the store and goes out at the device's next connection (or
// the holder's next resend).
func (r *Replicas) send(ctx context.Context, channel string, m Message) bool {
	m.From = r.cfg.ID
	payload, err := m.Encode()
	if err == nil {
		err = r.cfg.Store.Notify(ctx, channel, payload)
	}
	if err != nil {
		r.failed.Add(1)
		r.log.Warn("notification to other replicas not sent; the store keeps the record", "kind", m.Kind, "channel", channel, "err", err)
		return false
	}
	r.sent.Add(1)
	return true
}

// fits reports whether m, sent from here, fits in a notification.
func (r *Replicas) fits(m Message) bool {
	m.From = r.cfg.ID
	_, err := m.Encode()
	return err == nil
}

// sendToHolder sends m to the replica holding the device's connection,
// found and told in one statement. It returns that replica, or "" when
// the device is offline or held here, or the notification failed (the
// store keeps the record either way).
func (r *Replicas) sendToHolder(ctx context.Context, device string, m Message) string {
	m.From = r.cfg.ID
	payload, err := m.Encode()
	var rep string
	if err == nil {
		rep, err = r.cfg.Store.NotifyHolder(ctx, store.HolderNote{Device: device, ChannelPrefix: Channel(""), Payload: payload, From: r.cfg.ID})
	}
	if err != nil {
		r.failed.Add(1)
		r.log.Warn("notification to the replica holding a device not sent; the store keeps the record", "kind", m.Kind, "device", device, "err", err)
		return ""
	}
	if rep != "" {
		r.sent.Add(1)
	}
	return rep
}
