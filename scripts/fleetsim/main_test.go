package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tierline/tierline/agent/identity"
	"github.com/tierline/tierline/agent/identity/identitytest"
	"github.com/tierline/tierline/shared/testnet"
	"github.com/tierline/tierline/shared/testwait"
	"github.com/tierline/tierline/shared/wire"
)

// miniHub is a protocol-following test fake: enrollment, authentication,
// cumulative acks.
func miniHub(t *testing.T) (*httptest.Server, *identitytest.PKI, *sync.Map) {
	return miniHubDropping(t, false)
}

// miniHubDropping is miniHub; with dropFirst it closes each device's first
// connection right after the welcome, so every agent reconnects once.
func miniHubDropping(t *testing.T, dropFirst bool) (*httptest.Server, *identitytest.PKI, *sync.Map) {
	dropped := &sync.Map{}
	pki, err := identitytest.New()
	if err != nil {
		t.Fatal(err)
	}
	keys := &sync.Map{} // device id -> ed25519.PublicKey
	var mu sync.Mutex
	n := 0
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+wire.EnrollPath, func(w http.ResponseWriter, r *http.Request) {
		var req wire.EnrollRequest
		if json.NewDecoder(r.Body).Decode(&req) != nil || req.Validate() != nil {
			w.WriteHeader(400)
			json.NewEncoder(w).Encode(wire.APIError{Error: "bad request"})
			return
		}
		mu.Lock()
		n++
		id := strings.Repeat("0", 24) + strings.Repeat("0", 8-len(itoa(n))) + itoa(n)
		mu.Unlock()
		keys.Store(id, ed25519.PublicKey(req.PublicKey))
		json.NewEncoder(w).Encode(wire.EnrollResponse{DeviceID: id})
	})
	mux.HandleFunc(wire.ConnectPath, func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{wire.Subprotocol}})
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		nonce := make([]byte, wire.NonceSize)
		rand.Read(nonce)
		f, _ := wire.Encode("c", 0, time.Now(), wire.Challenge{Nonce: nonce})
		c.Write(ctx, websocket.MessageText, f)
		_, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		env, _ := wire.Decode(data)
		h, err := wire.DecodeBody[wire.Hello](env)
		pub, ok := keys.Load(h.DeviceID)
		if err != nil || !ok || !ed25519.Verify(pub.(ed25519.PublicKey), wire.AuthMessage(nonce, h.DeviceID), h.Signature) {
			c.Close(4001, "unauthorized")
			return
		}
		f, _ = wire.Encode("w", 0, time.Now(), wire.Welcome{DeviceID: h.DeviceID})
		c.Write(ctx, websocket.MessageText, f)
		if _, again := dropped.LoadOrStore(h.DeviceID, true); dropFirst && !again {
			c.Close(websocket.StatusGoingAway, "hub restarting")
			return
		}
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				return
			}
			env, err := wire.Decode(data)
			if err != nil || env.Seq == 0 {
				continue
			}
			f, _ = wire.Encode("a", 0, time.Now(), wire.Ack{Seq: env.Seq})
			c.Write(ctx, websocket.MessageText, f)
		}
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = pki.ServerTLS()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, pki, keys
}

func itoa(n int) string {
	const digits = "0123456789"
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{digits[n%10]}, b...)
	}
	return string(b)
}

func TestFleetsimSmall(t *testing.T) {
	srv, pki, _ := miniHub(t)
	tok := wire.EnrollToken{HubURL: srv.URL, CAFingerprint: identity.Fingerprint(pki.CA.Raw), Secret: "0123456789abcdef0123"}.Encode()
	ids := filepath.Join(t.TempDir(), "ids.json")
	var out, errb bytes.Buffer
	code := run([]string{"--token", tok, "--agents", "12", "--interval", "200ms", "--duration", "1500ms",
		"--source-ips", "127.0.0.1-127.0.0.3", "--progress", "500ms", "--identities", ids, "--backoff-base", "50ms"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\nstderr: %s\nstdout: %s", code, errb.String(), out.String())
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out.String())
	}
	if rep.Enroll.Enrolled != 12 || !rep.Connect.AllConnected || rep.Messages.Sent == 0 ||
		rep.Messages.Acked != rep.Messages.Sent || rep.AckLatency.Count == 0 {
		t.Fatalf("report %s\nstderr %s", out.String(), errb.String())
	}
	// Second run reuses the identities without the token.
	out.Reset()
	code = run([]string{"--agents", "12", "--interval", "200ms", "--duration", "500ms", "--identities", ids}, &out, &errb)
	if code != 0 {
		t.Fatalf("second run exit %d: %s", code, errb.String())
	}
	json.Unmarshal(out.Bytes(), &rep)
	if rep.Enroll.Loaded != 12 || !rep.Connect.AllConnected {
		t.Fatalf("second report %s", out.String())
	}
}

func TestParseSourceIPs(t *testing.T) {
	got, err := parseSourceIPs("127.0.0.2-127.0.0.4,127.0.0.9")
	if err != nil || len(got) != 4 || got[3].String() != "127.0.0.9" {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := parseSourceIPs("10.0.0.1"); err == nil {
		t.Fatal("non-loopback accepted")
	}
	if _, err := parseSourceIPs("127.0.0.5-127.0.0.2"); err == nil {
		t.Fatal("backwards range accepted")
	}
}

// Like a real agent, each simulated agent keeps its own TLS session and
// resumes it when it reconnects.
func TestFleetsimResumesTLS(t *testing.T) {
	srv, pki, _ := miniHubDropping(t, true)
	tok := wire.EnrollToken{HubURL: srv.URL, CAFingerprint: identity.Fingerprint(pki.CA.Raw), Secret: "0123456789abcdef0123"}.Encode()
	var out, errb bytes.Buffer
	code := run([]string{"--token", tok, "--agents", "6", "--interval", "200ms", "--duration", "3s",
		"--progress", "1s", "--backoff-base", "50ms", "--backoff-max", "200ms"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\nstderr: %s\nstdout: %s", code, errb.String(), out.String())
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out.String())
	}
	// Each agent's first connection is a full handshake; its second, after
	// the drop, resumes.
	if rep.Reconnect.AgentsReconnected != 6 || rep.Reconnect.TLSFull != 6 || rep.Reconnect.TLSResumed < 6 {
		t.Fatalf("want 6 agents reconnected, 6 full and at least 6 resumed TLS handshakes: %s", out.String())
	}
}

// When its replica's address refuses, an agent dials another next, and
// the agents of one dead replica spread over the live ones instead of
// all moving to the same one.
func TestDialerSpreadsAgentsOfADeadReplica(t *testing.T) {
	got := map[string]int{}
	var mu sync.Mutex
	count := func(addr string) { mu.Lock(); got[addr]++; mu.Unlock() }
	addrs := []string{liveAddr(t, count), liveAddr(t, count), testnet.ClosedAddr(t)}
	s := &sim{ips: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, hubAddrs: addrs}
	for i := 2; i < 60; i += 3 { // the agents that start on the dead one
		dial := s.dialer(i)
		if c, err := dial(context.Background(), "tcp", ""); err == nil {
			c.Close()
			t.Fatalf("agent %d reached the dead replica", i)
		}
		c, err := dial(context.Background(), "tcp", "")
		if err != nil {
			t.Fatalf("agent %d after its replica refused: %v", i, err)
		}
		c.Close()
	}
	counts := func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		return got[addrs[0]], got[addrs[1]]
	}
	testwait.Until(t, "the live replicas accepting the dead one's 20 agents", func() bool { n0, n1 := counts(); return n0+n1 == 20 })
	if n0, n1 := counts(); n0 != 10 || n1 != 10 {
		t.Fatalf("the dead replica's 20 agents went %d and %d to the live two; want them split", n0, n1)
	}
}

// TestDialerReachesEveryAddress: with four replicas and the two at even
// places dead, every agent reaches a live one within four dials (a step
// of two from an even place would only ever try the dead ones).
func TestDialerReachesEveryAddress(t *testing.T) {
	addrs := []string{testnet.ClosedAddr(t), liveAddr(t, nil), testnet.ClosedAddr(t), liveAddr(t, nil)}
	s := &sim{ips: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, hubAddrs: addrs}
	for i := range 40 {
		dial := s.dialer(i)
		reached := false
		for range 4 {
			if c, err := dial(context.Background(), "tcp", ""); err == nil {
				c.Close()
				reached = true
				break
			}
		}
		if !reached {
			t.Fatalf("agent %d reached no live replica in four dials", i)
		}
	}
}

// liveAddr is the address of a listener that accepts connections and
// closes them, telling accepted (if not nil) its address each time.
func liveAddr(t *testing.T, accepted func(addr string)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	addr := ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if accepted != nil {
				accepted(addr)
			}
			c.Close()
		}
	}()
	return addr
}
