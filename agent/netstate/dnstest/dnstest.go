// Package dnstest answers DNS questions on a loopback socket, for tests of
// code that asks resolvers (the agent's dns-resolution check, agents in
// end-to-end tests), so that no test asks a resolver off the machine.
package dnstest

import (
	"bufio"
	"io"
	"net"
	"time"

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
		if out, ok := reply(buf[:n], answer); ok {
			pc.WriteTo(out, from)
		}
	}
}

// ServeTCP answers DNS over TCP (each message after its two-byte length)
// on the connections ln accepts, until ln is closed. Resolvers such as
// systemd-resolved retry over TCP when UDP answers disappoint them.
func ServeTCP(ln net.Listener, answer Answer) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			r := bufio.NewReader(c)
			for {
				c.SetDeadline(time.Now().Add(10 * time.Second))
				var hdr [2]byte
				if _, err := io.ReadFull(r, hdr[:]); err != nil {
					return
				}
				msg := make([]byte, int(hdr[0])<<8|int(hdr[1]))
				if _, err := io.ReadFull(r, msg); err != nil {
					return
				}
				out, ok := reply(msg, answer)
				if !ok {
					return
				}
				if _, err := c.Write(append([]byte{byte(len(out) >> 8), byte(len(out))}, out...)); err != nil {
					return
				}
			}
		}()
	}
}

// reply is the answer to the query msg; ok is false for a malformed one.
func reply(msg []byte, answer Answer) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
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
	out, err := resp.Pack()
	return out, err == nil
}
