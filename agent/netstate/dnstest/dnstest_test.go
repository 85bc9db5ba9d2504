package dnstest

import (
	"context"
	"errors"
	"net"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

func TestServe(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go Serve(pc, func(q dnsmessage.Question) (dnsmessage.RCode, *[4]byte) {
		if q.Name.String() == "hub.tierline.test." {
			return dnsmessage.RCodeSuccess, &[4]byte{127, 0, 0, 7}
		}
		return dnsmessage.RCodeNameError, nil
	})
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", pc.LocalAddr().String())
	}}
	addrs, err := r.LookupHost(context.Background(), "hub.tierline.test")
	if err != nil || len(addrs) != 1 || addrs[0] != "127.0.0.7" {
		t.Fatalf("LookupHost = %v, %v", addrs, err)
	}
	if _, err := r.LookupHost(context.Background(), "nowhere.tierline.test"); err == nil {
		t.Fatal("an unknown name resolved")
	}
}

func TestServeTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go ServeTCP(ln, func(q dnsmessage.Question) (dnsmessage.RCode, *[4]byte) {
		if q.Name.String() == "hub.tierline.test." {
			return dnsmessage.RCodeSuccess, &[4]byte{127, 0, 0, 8}
		}
		return dnsmessage.RCodeServerFailure, nil
	})
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", ln.Addr().String())
	}}
	addrs, err := r.LookupHost(context.Background(), "hub.tierline.test")
	if err != nil || len(addrs) != 1 || addrs[0] != "127.0.0.8" {
		t.Fatalf("LookupHost over TCP = %v, %v", addrs, err)
	}
	_, err = r.LookupHost(context.Background(), "other.tierline.test")
	var de *net.DNSError
	if !errors.As(err, &de) || de.IsNotFound {
		t.Fatalf("a SERVFAIL over TCP: %v; want a lookup failure that is not 'no such host'", err)
	}
}
