package e2e

import (
	"crypto/rand"
	"net"

	"github.com/tierline/tierline/agent/netstate/dnstest"
	"golang.org/x/net/dns/dnsmessage"
)

// startLoopbackDNS runs a resolver for the agents' DNS check on port 53 of
// a random 127.x.y.z address (so parallel runs do not meet), answering
// every question with "no error". It returns the address, or 127.0.0.1
// with nothing listening where port 53 cannot be bound (not root): the
// check then reports a dead resolver, which the tests tolerate.
func startLoopbackDNS() (addr string, stop func()) {
	var b [3]byte
	_, _ = rand.Read(b[:])
	ip := net.IPv4(127, b[0]|1, b[1], b[2]|1).String()
	pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, "53"))
	if err != nil {
		return "127.0.0.1", func() {}
	}
	go dnstest.Serve(pc, func(dnsmessage.Question) (dnsmessage.RCode, *[4]byte) { return dnsmessage.RCodeSuccess, nil })
	return ip, func() { pc.Close() }
}
