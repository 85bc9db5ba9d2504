package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/tierline/tierline/agent/identity"
	"github.com/tierline/tierline/agent/link"
	"github.com/tierline/tierline/agent/spool"
	"github.com/tierline/tierline/agent/version"
)

// Probe is how a running agent tests a downloaded release before putting
// it in place: the candidate loads the identity in state, connects to the
// hub once and returns nil when welcomed, all within timeout. It uses an
// in-memory spool, so the running agent's spool is left alone. A revoked
// device gives an error that is link.ErrRevoked.
func Probe(ctx context.Context, state string, timeout time.Duration) error {
	id, err := identity.Load(state)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	host := identity.LocalHostInfo(ctx)
	welcomed := make(chan struct{})
	l, err := link.New(link.Config{
		URL: id.ConnectURL(), TLS: id.TLSConfig(),
		DeviceID: id.DeviceID, Key: id.Key, AgentVersion: version.Version,
		Hostname: host.Hostname, OS: host.OS, Arch: host.Arch, Platform: host.Platform,
		Spool:     spool.NewMem(1<<20, nil),
		Backoff:   link.Backoff{Base: 500 * time.Millisecond, Max: 5 * time.Second},
		OnConnect: func() { close(welcomed) },
	})
	if err != nil {
		return err
	}
	lctx, stopLink := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- l.Run(lctx) }()
	select {
	case <-welcomed:
		stopLink()
		<-done
		return nil
	case err := <-done:
		stopLink()
		return err
	case <-ctx.Done():
		stopLink()
		<-done
		return fmt.Errorf("not welcomed by the hub within %s: %s", timeout, l.State().LastError)
	}
}
