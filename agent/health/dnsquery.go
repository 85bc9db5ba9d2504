package health

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// dnsReply is what one DNS server said to one question. Err is set when it
// said nothing usable (timeout, refused port, garbage); otherwise RCode is
// its answer and Addrs the addresses it gave.
type dnsReply struct {
	RCode dnsmessage.RCode
	Addrs []string
	Err   error
	Took  time.Duration
}

// answered reports whether the server answered at all.
func (r dnsReply) answered() bool { return r.Err == nil }

// resolved reports whether the server gave addresses (or, for the root
// probe, a positive answer).
func (r dnsReply) resolved() bool { return r.Err == nil && r.RCode == dnsmessage.RCodeSuccess }

// describe says what the reply was, for evidence.
func (r dnsReply) describe() string {
	took := r.Took.Round(time.Millisecond)
	switch {
	case r.Err != nil:
		return fmt.Sprintf("no answer after %s: %s", took, r.Err)
	case r.RCode == dnsmessage.RCodeSuccess && len(r.Addrs) > 0:
		return fmt.Sprintf("%s in %s", strings.Join(r.Addrs, ", "), took)
	case r.RCode == dnsmessage.RCodeSuccess:
		return fmt.Sprintf("answered in %s", took)
	case r.RCode == dnsmessage.RCodeNameError:
		return fmt.Sprintf("no such name (answered in %s)", took)
	case r.RCode == dnsmessage.RCodeServerFailure:
		return fmt.Sprintf("server failure, SERVFAIL (answered in %s)", took)
	case r.RCode == dnsmessage.RCodeRefused:
		return fmt.Sprintf("refused to answer, REFUSED (answered in %s)", took)
	}
	return fmt.Sprintf("answered %s in %s", strings.TrimPrefix(r.RCode.String(), "RCode"), took)
}

// errNoReply: the server did not answer within the timeout.
var errNoReply = errors.New("timed out")

// queryDNS asks server (host:port) one question over UDP and waits at most
// timeout. It is a deliberately small client: one datagram out, the first
// matching datagram back, no retries, no recursion of its own.
func queryDNS(ctx context.Context, server, name string, qtype dnsmessage.Type, timeout time.Duration) dnsReply {
	start := time.Now()
	r := queryDNSOnce(ctx, server, name, qtype, timeout)
	r.Took = time.Since(start)
	return r
}

func queryDNSOnce(ctx context.Context, server, name string, qtype dnsmessage.Type, timeout time.Duration) dnsReply {
	qname, err := dnsmessage.NewName(fqdn(name))
	if err != nil {
		return dnsReply{Err: fmt.Errorf("bad name %q: %w", name, err)}
	}
	var idb [2]byte
	_, _ = rand.Read(idb[:])
	id := binary.BigEndian.Uint16(idb[:])
	q := dnsmessage.Question{Name: qname, Type: qtype, Class: dnsmessage.ClassINET}
	msg := dnsmessage.Message{Header: dnsmessage.Header{ID: id, RecursionDesired: true}, Questions: []dnsmessage.Question{q}}
	out, err := msg.Pack()
	if err != nil {
		return dnsReply{Err: fmt.Errorf("pack query: %w", err)}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", server)
	if err != nil {
		return dnsReply{Err: netReason(err)}
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	if _, err := conn.Write(out); err != nil {
		return dnsReply{Err: netReason(err)}
	}
	buf := make([]byte, 1500)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return dnsReply{Err: netReason(err)}
		}
		var p dnsmessage.Parser
		h, err := p.Start(buf[:n])
		if err != nil || h.ID != id || !h.Response {
			continue // not ours: keep waiting until the deadline
		}
		got, err := p.Question()
		if err != nil || got.Name != q.Name || got.Type != q.Type {
			continue
		}
		if err := p.SkipAllQuestions(); err != nil {
			return dnsReply{Err: fmt.Errorf("malformed answer: %w", err)}
		}
		rep := dnsReply{RCode: h.RCode}
		for len(rep.Addrs) < 4 {
			ah, err := p.AnswerHeader()
			if err != nil {
				break
			}
			switch ah.Type {
			case dnsmessage.TypeA:
				a, err := p.AResource()
				if err != nil {
					return rep
				}
				rep.Addrs = append(rep.Addrs, netip.AddrFrom4(a.A).String())
			case dnsmessage.TypeAAAA:
				a, err := p.AAAAResource()
				if err != nil {
					return rep
				}
				rep.Addrs = append(rep.Addrs, netip.AddrFrom16(a.AAAA).String())
			default:
				if err := p.SkipAnswer(); err != nil {
					return rep
				}
			}
		}
		return rep
	}
}

// netReason shortens a network error to what happened.
func netReason(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return errNoReply
	}
	return unwrapOp(err)
}

func fqdn(name string) string {
	if strings.HasSuffix(name, ".") {
		return name
	}
	return name + "."
}
