package replicas

import (
	"context"
	"crypto/sha256"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/gateway"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/testwait"
	"github.com/tierline/tierline/shared/wire"
)

// fakeGateway records what a replica asks of its gateway; it holds no
// device's connection (the test marks devices connected in the store).
type fakeGateway struct {
	mu sync.Mutex
	// holds: d1 is connected here (Notify delivers ticket updates).
	holds     bool
	runs      []string // DispatchRun
	pending   []string // SendPendingRuns
	updates   []string // Notify: the ticket of each update
	catchUps  int      // SendCatchUp
	resendAll int
	policies  []string
}

func (g *fakeGateway) DispatchRun(_ context.Context, r store.Run) (bool, error) {
	g.mu.Lock()
	g.runs = append(g.runs, r.ID)
	g.mu.Unlock()
	return false, nil
}
func (g *fakeGateway) Notify(_ context.Context, _ string, b wire.Body) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if u, ok := b.(wire.TicketUpdate); ok && g.holds {
		g.updates = append(g.updates, u.TicketID)
		return nil
	}
	return gateway.ErrOffline
}
func (g *fakeGateway) RequestChecks(context.Context, string, []string) (string, error) {
	return "", gateway.ErrOffline
}
func (g *fakeGateway) RequestChecksID(context.Context, string, string, []string) error {
	return gateway.ErrOffline
}
func (g *fakeGateway) Diagnose(context.Context, string) ([]diag.CheckResult, error) {
	return nil, gateway.ErrOffline
}
func (g *fakeGateway) DiagnoseID(context.Context, string, string) ([]diag.CheckResult, error) {
	return nil, gateway.ErrOffline
}
func (g *fakeGateway) PolicyChanged(_ context.Context, group string) {
	g.mu.Lock()
	g.policies = append(g.policies, group)
	g.mu.Unlock()
}
func (g *fakeGateway) DeviceGroupChanged(context.Context, string, string) {}
func (g *fakeGateway) Revoked(string)                                     {}
func (g *fakeGateway) IsConnected(id string) bool                         { return g.holds && id == "d1" }
func (g *fakeGateway) SendPendingRuns(_ context.Context, id string) bool {
	g.mu.Lock()
	g.pending = append(g.pending, id)
	g.mu.Unlock()
	return true
}
func (g *fakeGateway) SendCatchUp(context.Context, string) bool {
	g.mu.Lock()
	g.catchUps++
	g.mu.Unlock()
	return false
}
func (g *fakeGateway) ResendAll(context.Context) {
	g.mu.Lock()
	g.resendAll++
	g.mu.Unlock()
}
func (g *fakeGateway) ConnectedDevices() []string { return nil }
func (g *fakeGateway) RunStoredElsewhere(string)  {}

func (g *fakeGateway) counts() (pending, resends, policies int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.pending), g.resendAll, len(g.policies)
}

func (g *fakeGateway) dispatched() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.runs)
}

type fakeConsole struct{}

func (fakeConsole) PublishTicket(tickets.Change)                            {}
func (fakeConsole) PublishRun(store.Run)                                    {}
func (fakeConsole) PublishNotification(store.User, store.Notification, int) {}
func (fakeConsole) PublishUnread(string, int)                               {}

// replicaHarness opens a fresh PostgreSQL database (skipping without
// one) with device d1 enrolled; start runs a replica on it, listening,
// until the test ends.
func replicaHarness(t *testing.T) (*store.Store, context.Context, func(id string, gw Gateway, con Console) *Replicas) {
	t.Helper()
	server := os.Getenv(storetest.PostgresEnv)
	if server == "" {
		t.Skip(storetest.PostgresEnv + " is not set: routing between replicas needs PostgreSQL")
	}
	st, dsn := storetest.OpenPostgresURL(t, server)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	now := time.Now()
	secret := sha256.Sum256([]byte("secret"))
	if err := st.CreateToken(ctx, store.Token{ID: "tok", CreatedAt: now, ExpiresAt: now.Add(time.Hour), MaxUses: 1}, secret[:]); err != nil {
		t.Fatal(err)
	}
	if _, err := st.EnrollDevice(ctx, secret[:], store.Device{ID: "d1", PublicKey: []byte("pk"), Hostname: "one", OS: "linux", Arch: "amd64"}, now); err != nil {
		t.Fatal(err)
	}
	start := func(id string, gw Gateway, con Console) *Replicas {
		r, err := New(Config{Store: st, Gateway: gw, Console: con, DSN: dsn, ID: id, Address: "https://" + id, Lease: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Register(ctx); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); r.Run(ctx) }()
		testwait.Until(t, id+" listening", r.Listening)
		return r
	}
	return st, ctx, start
}

// TestRoutingAndListenerReconnect runs two replicas on a real PostgreSQL
// database: a run asked through one reaches the replica holding the
// device over NOTIFY, in the notification, and one too large for it as a
// request to send the device its queue from the store; a payload that is not a replica message is ignored;
// when the holder's listening connection is killed, it reconnects, resends
// its devices what the store holds for them (what was announced meanwhile
// is not lost) and hears the next announcement again.
func TestRoutingAndListenerReconnect(t *testing.T) {
	st, ctx, start := replicaHarness(t)
	now := time.Now()
	gwB := &fakeGateway{holds: true}
	a := start("aaaaaaaaaaaaaaaa", &fakeGateway{}, fakeConsole{})
	b := start("bbbbbbbbbbbbbbbb", gwB, fakeConsole{})
	st.SetReplica(b.ID())
	if err := st.SetPresence(ctx, []store.Presence{{ID: "d1", Online: true, At: now}}); err != nil {
		t.Fatal(err)
	}

	if sent, err := a.DispatchRun(ctx, store.Run{ID: "r1", DeviceID: "d1", Fix: "flush-dns"}); sent || err != nil {
		t.Fatalf("DispatchRun through a: %v %v; want not sent from a, no error", sent, err)
	}
	testwait.Until(t, "b sending d1 the run", func() bool { return slices.Equal(gwB.dispatched(), []string{"r1"}) })
	big := store.Run{ID: "r-big", DeviceID: "d1", Fix: "flush-dns", Params: map[string]string{"note": strings.Repeat("x", MaxPayload)}}
	if _, err := a.DispatchRun(ctx, big); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "b sending d1 its queued runs", func() bool { n, _, _ := gwB.counts(); return n == 1 })
	if got := gwB.dispatched(); len(got) != 1 {
		t.Fatalf("b dispatched %v; the run too large for a notification should come from the store", got)
	}

	if err := a.NotifyDevice(ctx, "d1", wire.TicketUpdate{TicketID: "t1", Number: 1, State: "open", Tier: 1}); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "b sending d1 the ticket update", func() bool {
		gwB.mu.Lock()
		defer gwB.mu.Unlock()
		return len(gwB.updates) == 1
	})
	gwB.mu.Lock()
	catchUps := gwB.catchUps
	gwB.mu.Unlock()
	if catchUps != 0 {
		t.Fatalf("b sent d1 %d catch-ups for an update that fits in a notification", catchUps)
	}

	if err := st.Notify(ctx, Channel(b.ID()), `{"kind":"launch","from":"x"}`); err != nil {
		t.Fatal(err)
	}
	a.PolicyChanged(ctx, "kiosks")
	testwait.Until(t, "b hearing a's policy after the payload it ignored", func() bool { _, _, p := gwB.counts(); return p == 1 })
	if _, resends, _ := gwB.counts(); resends != 0 {
		t.Fatalf("b resent %d times without losing its listening connection", resends)
	}

	var killed int
	if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`,
		ListenerName(b.ID())).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminate b's listening connection: %d terminated, %v", killed, err)
	}
	testwait.Until(t, "b resending its devices after listening again", func() bool { _, r, _ := gwB.counts(); return r == 1 })
	testwait.Until(t, "b listening again", b.Listening)
	if _, err := a.DispatchRun(ctx, store.Run{ID: "r2", DeviceID: "d1"}); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "b hearing the next run after reconnecting", func() bool { return slices.Contains(gwB.dispatched(), "r2") })
}

// TestIsConnectedFromTheDeviceRow: a device is connected when this
// replica holds it, or when its row names another replica; a row naming
// this replica for a device not held here is stale.
func TestIsConnectedFromTheDeviceRow(t *testing.T) {
	here := &Replicas{cfg: Config{ID: "aaaaaaaaaaaaaaaa", Gateway: &fakeGateway{holds: true}}}
	for _, c := range []struct {
		d    store.Device
		want bool
	}{
		{store.Device{ID: "d1"}, true}, // held here, whatever the row says
		{store.Device{ID: "d2", Online: true, Replica: "bbbbbbbbbbbbbbbb"}, true},
		{store.Device{ID: "d2", Online: false, Replica: "bbbbbbbbbbbbbbbb"}, false},
		{store.Device{ID: "d2", Online: true, Replica: "aaaaaaaaaaaaaaaa"}, false},
		{store.Device{ID: "d2", Online: true}, false},
	} {
		if got := here.IsConnected(c.d); got != c.want {
			t.Errorf("IsConnected(%+v) = %v, want %v", c.d, got, c.want)
		}
	}
}
