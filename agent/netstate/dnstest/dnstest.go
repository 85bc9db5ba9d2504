// Package dnstest answers DNS questions on a loopback socket, for tests of
// code that asks resolvers (the agent's dns-resolution check, agents in
// end-to-end tests), so that no test asks a resolver off the machine.
package dnstest

import (
	"net"

	"golang.org/x/net/dns/dnsmessage"
)

// Answer decides the reply to a question: its response code and, for an
// A question with RCodeSuccess, the IPv4 address to answer (nil: none).
type Answer func(q dnsmessage.Question) (dnsmessage.RCode, *[4]byte)

// Serve answers the questions that reach pc until pc is closed. Malformed
// packets are ignored.
func Serve(pc net.PacketConn, answer Answer) {
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
		rcode, a := answer(q)
		resp := dnsmessage.Message{Header: dnsmessage.Header{ID: h.ID, Response: true, RecursionAvailable: true, RCode: rcode},
			Questions: []dnsmessage.Question{q}}
		if rcode == dnsmessage.RCodeSuccess && a != nil && q.Type == dnsmessage.TypeA {
			resp.Answers = []dnsmessage.Resource{{
				Header: dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 60},
				Body:   &dnsmessage.AResource{A: *a},
			}}
		}
		if out, err := resp.Pack(); err == nil {
			pc.WriteTo(out, from)
		}
	}
}
