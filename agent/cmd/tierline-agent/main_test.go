package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tierline/tierline/agent/identity"
	"github.com/tierline/tierline/agent/identity/identitytest"
	"github.com/tierline/tierline/shared/wire"
)

const devID = "abcdefabcdefabcdefabcdefabcdef12"

func capture(t *testing.T) (*syncBuffer, *syncBuffer) {
	var o, e syncBuffer
	oldO, oldE := stdout, stderr
	stdout, stderr = &o, &e
	t.Cleanup(func() { stdout, stderr = oldO, oldE })
	return &o, &e
}

// syncBuffer is a bytes.Buffer safe for the agent's log goroutines and the
// test reading it at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestUsageErrors(t *testing.T) {
	_, e := capture(t)
	ctx := context.Background()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, exitUsage, "Commands:"},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"run", "--nope"}, exitUsage, "flag provided but not defined: -nope"},
		{[]string{"run", "--state", t.TempDir()}, exitError, "not enrolled"},
		{[]string{"enroll"}, exitUsage, "--token is required"},
		{[]string{"enroll", "--token", "xyz"}, exitUsage, "not a Tierline enrollment token"},
		{[]string{"version", "extra"}, exitUsage, "unexpected argument"},
		{[]string{"help", "--state", t.TempDir()}, exitUsage, "say what is wrong"},
		{[]string{"help", "--state", t.TempDir(), "--category", "<script>", "x"}, exitUsage, "category"},
		{[]string{"help", "--state", t.TempDir(), "printer jams"}, exitError, "agent is not running"},
		{[]string{"survey", "--ticket", "t1", "--score", "9"}, exitUsage, "outside 1..5"},
		{[]string{"reply", "--ticket", "t1"}, exitUsage, "text must be"},
		{[]string{"tickets", "--state", t.TempDir()}, exitError, "agent is not running"},
	} {
		e.Reset()
		if code := dispatch(ctx, tc.args); code != tc.code || !strings.Contains(e.String(), tc.want) {
			t.Errorf("%v: code %d, stderr %q; want %d and %q", tc.args, code, e.String(), tc.code, tc.want)
		}
	}
}

func TestEnvEquivalent(t *testing.T) {
	_, e := capture(t)
	dir := t.TempDir()
	t.Setenv("TIERLINE_STATE", dir)
	if code := dispatch(context.Background(), []string{"run"}); code != exitError || !strings.Contains(e.String(), dir) {
		t.Fatalf("code %d stderr %q", code, e.String())
	}
}

// TestEnrollRunRevoked enrolls against a fake hub, runs, and checks that
// revocation ends `run` with status 3.
func TestEnrollRunRevoked(t *testing.T) {
	o, e := capture(t)
	pki, err := identitytest.New()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var pub ed25519.PublicKey
	var telemetry int
	revoke := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+wire.EnrollPath, func(w http.ResponseWriter, r *http.Request) {
		var req wire.EnrollRequest
		json.NewDecoder(r.Body).Decode(&req)
		if req.Validate() != nil {
			w.WriteHeader(400)
			json.NewEncoder(w).Encode(wire.APIError{Error: "bad request"})
			return
		}
		mu.Lock()
		pub = req.PublicKey
		mu.Unlock()
		json.NewEncoder(w).Encode(wire.EnrollResponse{DeviceID: devID})
	})
	mux.HandleFunc(wire.ConnectPath, func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{wire.Subprotocol}})
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(wire.MaxFrameSize) // as the hub: inventories exceed the 32 KiB default
		nonce := make([]byte, wire.NonceSize)
		rand.Read(nonce)
		f, _ := wire.Encode("c", 0, time.Now(), wire.Challenge{Nonce: nonce})
		c.Write(r.Context(), websocket.MessageText, f)
		_, data, _ := c.Read(r.Context())
		env, _ := wire.Decode(data)
		h, err := wire.DecodeBody[wire.Hello](env)
		mu.Lock()
		ok := err == nil && ed25519.Verify(pub, wire.AuthMessage(nonce, devID), h.Signature)
		mu.Unlock()
		if !ok {
			c.Close(4001, "unauthorized")
			return
		}
		f, _ = wire.Encode("w", 0, time.Now(), wire.Welcome{DeviceID: devID})
		c.Write(r.Context(), websocket.MessageText, f)
		// Acknowledge everything (the startup inventory comes first) until
		// a telemetry sample has arrived.
		for {
			_, data, err = c.Read(r.Context())
			if err != nil {
				return
			}
			env, _ = wire.Decode(data)
			f, _ = wire.Encode("a", 0, time.Now(), wire.Ack{Seq: env.Seq})
			c.Write(r.Context(), websocket.MessageText, f)
			if env.Type == wire.TypeTelemetry {
				mu.Lock()
				telemetry++
				mu.Unlock()
				break
			}
		}
		<-revoke
		c.Close(4003, "revoked")
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = pki.ServerTLS()
	srv.StartTLS()
	defer srv.Close()
	tok := wire.EnrollToken{HubURL: srv.URL, CAFingerprint: identity.Fingerprint(pki.CA.Raw), Secret: "0123456789abcdef0123"}.Encode()
	state := filepath.Join(t.TempDir(), "state")
	ctx := context.Background()
	if code := dispatch(ctx, []string{"enroll", "--token", tok, "--state", state}); code != exitOK {
		t.Fatalf("enroll: %d %s", code, e.String())
	}
	if !strings.Contains(o.String(), devID) {
		t.Fatalf("enroll output %q", o.String())
	}
	if code := dispatch(ctx, []string{"enroll", "--token", tok, "--state", state}); code != exitError || !strings.Contains(e.String(), "--force") {
		t.Fatalf("second enroll: %d %s", code, e.String())
	}
	// The agent's DNS check asks only a loopback resolver: tests send
	// nothing off the machine.
	resolv := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(resolv, []byte("nameserver 127.0.0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() {
		done <- dispatch(ctx, []string{"run", "--state", state, "--interval", "1h", "--backoff-base", "10ms", "--resolv-conf", resolv})
	}()
	// Generous: the first sample waits for the first health checks, which
	// took 6 to 10 s on a loaded 2-core machine (a 10 s bound failed there,
	// before and after the tray moved out).
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		n := telemetry
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no telemetry arrived; stderr %s", e.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(revoke)
	select {
	case code := <-done:
		if code != exitRevoked {
			t.Fatalf("run exit %d, want 3", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not exit after revocation")
	}
	if _, err := os.Stat(filepath.Join(state, identity.SpoolDir)); err != nil {
		t.Fatal("spool dir missing")
	}
}
