//go:build linux

package link

import (
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/spool"
	"github.com/tierline/tierline/shared/wire"
)

// fullListener listens on loopback with an accept queue of one and fills
// it without accepting, so the kernel drops the SYNs of any further
// connect, as at a hub whose admission slots and accept queue are full.
func fullListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	raw, err := ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var lerr error
	if err := raw.Control(func(fd uintptr) { lerr = syscall.Listen(int(fd), 0) }); err != nil || lerr != nil {
		t.Fatalf("shorten the accept queue: %v %v", err, lerr)
	}
	addr := ln.Addr().String()
	for range 16 {
		c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
		if err != nil {
			return addr // this one waited on a full queue
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Fatal("the accept queue of one never filled")
	return ""
}

// TestConnectTimeoutBoundsTheConnect: against a hub whose accept queue is
// full, the agent gives up the TCP connect after ConnectTimeout (and
// says so), not after the connect and handshake budgets together.
func TestConnectTimeoutBoundsTheConnect(t *testing.T) {
	addr := fullListener(t)
	pub, priv := newKey(t)
	h := newFakeHub(t, pub)
	a := startAgent(t, h, priv, spool.NewMem(0, nil), func(c *Config) {
		c.URL = "wss://" + addr + wire.ConnectPath
		c.ConnectTimeout, c.HandshakeTimeout = 300*time.Millisecond, time.Hour
	})
	waitState(t, a.link, func(s State) bool { return strings.Contains(s.LastError, "i/o timeout") })
	if s := a.link.State(); s.Connected || !strings.Contains(s.LastError, "dial tcp "+addr) {
		t.Fatalf("state %+v; want not connected, the connect to %s timed out", s, addr)
	}
}
