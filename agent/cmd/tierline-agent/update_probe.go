package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tierline/tierline/agent/identity"
	"github.com/tierline/tierline/agent/link"
	"github.com/tierline/tierline/agent/spool"
	"github.com/tierline/tierline/agent/update"
	"github.com/tierline/tierline/agent/version"
)

func init() {
	register("update-probe", "check that this binary can load the identity and reach the hub (used before an update)", runUpdateProbe)
}

// runUpdateProbe is how a running agent tests a downloaded release before
// putting it in place: the candidate loads the state directory, connects to
// the hub once and exits 0 when welcomed. It uses an in-memory spool, so the
// running agent's spool is left alone.
func runUpdateProbe(ctx context.Context, args []string) int {
	fs := newFlags("update-probe", "[--state DIR] [--timeout 60s]",
		"Load the identity in the state directory, connect to the hub once and exit 0 when the\n"+
			"hub welcomes this device. The running agent calls this on a new release before\n"+
			"installing it.")
	state := fs.String("state", defaultStateDir(), "state directory written by `tierline-agent enroll`")
	timeout := 60 * time.Second
	fs.Var(durationFlag{&timeout}, "timeout", "give up after this long")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	id, err := identity.Load(*state)
	if err != nil {
		fmt.Fprintf(stderr, "tierline-agent update-probe: %v\n", err)
		return exitError
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
		fmt.Fprintf(stderr, "tierline-agent update-probe: %v\n", err)
		return exitError
	}
	lctx, stopLink := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- l.Run(lctx) }()
	select {
	case <-welcomed:
		stopLink()
		<-done
		fmt.Fprintf(stdout, "%s%s\n", update.ProbeOK, version.Version)
		return exitOK
	case err := <-done:
		stopLink()
		if errors.Is(err, link.ErrRevoked) {
			fmt.Fprintf(stderr, "tierline-agent update-probe: %v\n", err)
			return exitRevoked
		}
		fmt.Fprintf(stderr, "tierline-agent update-probe: %v\n", err)
		return exitError
	case <-ctx.Done():
		stopLink()
		<-done
		fmt.Fprintf(stderr, "tierline-agent update-probe: not welcomed by the hub within %s: %s\n", timeout, l.State().LastError)
		return exitError
	}
}
