package gateway

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/shared/testwait"
	"github.com/tierline/tierline/shared/wire"
)

// TestIngestShardKeepsADeviceOnOneQueue: every message of a device goes
// to the same ingest queue (or a later one could commit first and make an
// earlier one look like a duplicate), and devices spread over the queues.
func TestIngestShardKeepsADeviceOnOneQueue(t *testing.T) {
	const n, devices = 4, 4000
	per := make([]int, n)
	for i := range devices {
		id := fmt.Sprintf("%032x", i*7919)
		s := ingestShard(id, n)
		for range 3 {
			if again := ingestShard(id, n); again != s {
				t.Fatalf("device %s went to queue %d, then %d", id, s, again)
			}
		}
		per[s]++
	}
	for i, c := range per {
		if c < devices/n/2 {
			t.Errorf("queue %d has %d of %d devices: %v", i, c, devices, per)
		}
	}
	if got := ingestShard("anything", 1); got != 0 {
		t.Errorf("one queue: shard %d", got)
	}
}

// TestQueuedRunsGoOnceThePresenceIsRecorded: a device's queued runs are
// read and sent when its presence is recorded (a run stored through
// another replica before then found no holder to tell), not when it
// connected.
func TestQueuedRunsGoOnceThePresenceIsRecorded(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st := storetest.Open(t)
	now := time.Now()
	secret := sha256.Sum256([]byte("secret"))
	if err := st.CreateToken(ctx, store.Token{ID: "tok", CreatedAt: now, ExpiresAt: now.Add(time.Hour), MaxUses: 1}, secret[:]); err != nil {
		t.Fatal(err)
	}
	if _, err := st.EnrollDevice(ctx, secret[:], store.Device{ID: "d1", PublicKey: []byte("pk"), Hostname: "one", OS: "linux"}, now); err != nil {
		t.Fatal(err)
	}
	g, err := New(Config{Store: st, PingInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	frames := make(chan wire.Envelope, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		c := &agentConn{g: g, ws: ws, deviceID: "d1", log: g.log, done: make(chan struct{}), heard: new(atomic.Int64)}
		g.register(c)
		<-r.Context().Done()
	}))
	defer srv.Close()
	agent, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer agent.CloseNow()
	go func() {
		for {
			_, b, err := agent.Read(ctx)
			if err != nil {
				return
			}
			if env, err := wire.Decode(b); err == nil {
				frames <- env
			}
		}
	}()
	testwait.Until(t, "the connection registered", func() bool { return g.IsConnected("d1") })

	// Stored while the device's presence is not yet recorded.
	run := store.Run{ID: "r1", DeviceID: "d1", Fix: "flush-dns", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := st.CreateRuns(ctx, nil, []store.Run{run}); err != nil {
		t.Fatal(err)
	}
	g.presenceRecorded(ctx, []store.Presence{{ID: "d2", Online: true}, {ID: "d1", Online: true, At: now}, {ID: "d1", Online: true, At: now}})
	select {
	case env := <-frames:
		req, err := wire.DecodeBody[wire.RunRequest](env)
		if err != nil || req.RunID != "r1" {
			t.Fatalf("first frame after the presence: %s %+v %v; want run r1", env.Type, req, err)
		}
	case <-ctx.Done():
		t.Fatal("the queued run was not sent once the presence was recorded")
	}
}
