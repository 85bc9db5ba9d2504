package localapi

import (
	"strings"
	"sync"
	"testing"

	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/wire"
)

// TestProgressOfOwnRun: while the caller's own fix run waits on its
// command, the progress operation over the socket says which step runs;
// another user sees nothing of it, and once the run ends nothing runs.
func TestProgressOfOwnRun(t *testing.T) {
	f := newOpsFixture(t)
	started, release := make(chan struct{}), make(chan struct{})
	f.exec.mu.Lock()
	var once sync.Once
	f.exec.hold = func() { once.Do(func() { close(started) }); <-release }
	f.exec.mu.Unlock()
	ctx, c := f.client(t)
	done := make(chan error, 1)
	go func() {
		_, err := c.Run(ctx, localipc.RunCall{Fix: catalog.FlushDNS})
		done <- err
	}()
	<-started
	p, err := c.Progress(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Running || p.Fix != catalog.FlushDNS || !strings.Contains(p.Text, "resolvectl") || p.Percent != wire.NoPercent || p.At.IsZero() {
		t.Fatalf("progress while the run waits: %+v", p)
	}
	if other := f.ops.progress(localipc.Caller{UID: 4242, User: "someone-else"}); other.Running || other.Text != "" {
		t.Fatalf("another user sees the run: %+v", other)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if p, err := c.Progress(ctx); err != nil || p.Running || p.Text != "" {
		t.Fatalf("progress after the run: %+v %v", p, err)
	}
}
