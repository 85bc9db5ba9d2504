package replicas

import (
	"sync"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/wire"
)

// runsConsole records the runs a replica publishes to its pages.
type runsConsole struct {
	fakeConsole
	mu   sync.Mutex
	runs []store.Run
}

func (c *runsConsole) PublishRun(r store.Run) {
	c.mu.Lock()
	c.runs = append(c.runs, r)
	c.mu.Unlock()
}

func (c *runsConsole) last() (store.Run, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.runs) == 0 {
		return store.Run{}, 0
	}
	return c.runs[len(c.runs)-1], len(c.runs)
}

// TestRunProgressReachesOtherReplicas: a progress step stored by the
// replica holding the device reaches the pages of another replica with
// the step itself (read from the store), and without that replica taking
// the run for finished.
func TestRunProgressReachesOtherReplicas(t *testing.T) {
	st, ctx, start := replicaHarness(t)
	now := time.Now()
	if err := st.CreateRuns(ctx, nil, []store.Run{{ID: "p1", DeviceID: "d1", Fix: "install-software", RequestedBy: "admin",
		RequesterRole: store.RoleAdmin, Tier: 1, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkRunSent(ctx, "p1", now); err != nil {
		t.Fatal(err)
	}
	conA, conB := &runsConsole{}, &runsConsole{}
	a := start("aaaaaaaaaaaaaaaa", &fakeGateway{}, conA)
	start("bbbbbbbbbbbbbbbb", &fakeGateway{}, conB)

	step := wire.RunProgress{RunID: "p1", Percent: 40, Text: "Unpacking hello (amd64)"}
	if ok, err := st.SetRunProgress(ctx, "d1", step, now.Add(time.Second)); !ok || err != nil {
		t.Fatalf("store the step: %v %v", ok, err)
	}
	a.RunProgress("p1")
	waitFor(t, "b's pages hearing the step", func() bool { _, n := conB.last(); return n == 1 })
	r, _ := conB.last()
	if r.ID != "p1" || r.State != store.RunSent || r.ProgressLine() != "Installing… 40% Unpacking hello (amd64)" {
		t.Fatalf("b published %s %s %q; want p1 sent with the step", r.ID, r.State, r.ProgressLine())
	}
	if _, n := conA.last(); n != 0 {
		t.Fatalf("a published its own step %d times from the notification (its pages have it already)", n)
	}
}
