// Package testnet gives tests loopback addresses to talk to: tests send
// nothing off the machine.
package testnet

import (
	"net"
	"testing"
)

// ClosedAddr is a loopback TCP address that refuses connections: a
// listener was opened on it and closed.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
