package e2e

import (
	"crypto/rand"
	"net"

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
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			resp := dnsmessage.Message{Header: dnsmessage.Header{ID: h.ID, Response: true, RecursionAvailable: true},
				Questions: []dnsmessage.Question{q}}
			if out, err := resp.Pack(); err == nil {
				pc.WriteTo(out, from)
			}
		}
	}()
	return ip, func() { pc.Close() }
}
