package e2e

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/shared/wire"
)

// TestEnrollConnectTelemetry: a token from the CLI enrolls a real agent,
// which connects and streams telemetry that the API serves.
func TestEnrollConnectTelemetry(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	start := time.Now().Add(-time.Minute)
	a := enroll(t, h.tokenCreate())
	a.run()

	var d device
	eventually(t, "the device to be online with telemetry", 60*time.Second, func() bool {
		return h.get("/api/v1/devices/"+a.id, &d) == http.StatusOK && d.Online && d.Latest != nil
	})
	host, _ := os.Hostname()
	if d.Hostname != host {
		t.Errorf("hostname = %q, want %q", d.Hostname, host)
	}
	if d.Latest.Memory.Total == 0 {
		t.Errorf("latest telemetry has no memory total: %+v", d.Latest)
	}
	eventually(t, "inventory and health checks", 60*time.Second, func() bool {
		return h.get("/api/v1/devices/"+a.id, &d) == http.StatusOK && d.Inventory != nil && d.check("hub-reachable") != ""
	})
	if d.Inventory.Hostname != host || d.Inventory.OS.Name != "linux" {
		t.Errorf("inventory names %q/%q, want %q/linux", d.Inventory.Hostname, d.Inventory.OS.Name, host)
	}
	if s := d.check("hub-reachable"); s != "ok" {
		t.Errorf("hub-reachable = %q while connected, want ok", s)
	}
	for _, name := range []string{"disk-almost-full", "memory-pressure", "default-route", "clock-skew"} {
		if d.check(name) == "" {
			t.Errorf("health check %s missing from the device: %+v", name, d.Health)
		}
	}
	eventually(t, "three telemetry points", 60*time.Second, func() bool { return len(h.telemetry(a.id, start)) >= 3 })

	var list struct {
		Devices []device `json:"devices"`
	}
	if code := h.get("/api/v1/devices", &list); code != http.StatusOK || len(list.Devices) != 1 || list.Devices[0].ID != a.id {
		t.Errorf("device list: status %d, %+v", code, list.Devices)
	}
	// A clean stop marks the device offline.
	if code := a.proc.stop(); code != 0 {
		t.Errorf("agent exit code after SIGTERM = %d, want 0", code)
	}
	eventually(t, "the device to go offline", 30*time.Second, func() bool {
		return h.get("/api/v1/devices/"+a.id, &d) == http.StatusOK && !d.Online
	})
}

// TestAPIRefusesBadRequests: unauthenticated and malformed API calls get
// 401/400 with a JSON error.
func TestAPIRefusesBadRequests(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	var e wire.APIError
	if code := h.do("GET", "/api/v1/devices", "", nil, &e); code != http.StatusUnauthorized || e.Error == "" {
		t.Errorf("no token: status %d, error %q", code, e.Error)
	}
	if code := h.do("GET", "/api/v1/devices", "tla_not-a-real-token", nil, &e); code != http.StatusUnauthorized {
		t.Errorf("bad token: status %d", code)
	}
	a := enroll(t, h.tokenCreate())
	for _, q := range []string{"?since=yesterday", "?until=2026-13-01T00:00:00Z", "?since=2026-11-23T10:00:00Z&until=2026-11-23T09:00:00Z", "?limit=-1"} {
		e = wire.APIError{}
		if code := h.get("/api/v1/devices/"+a.id+"/telemetry"+q, &e); code != http.StatusBadRequest || e.Error == "" {
			t.Errorf("telemetry%s: status %d, error %q; want 400 with a message", q, code, e.Error)
		}
	}
	if code := h.get("/api/v1/devices/not-an-id", &e); code != http.StatusBadRequest {
		t.Errorf("bad device id: status %d", code)
	}
	if code := h.get("/api/v1/devices/"+strings.Repeat("0", 32), &e); code != http.StatusNotFound {
		t.Errorf("unknown device: status %d", code)
	}
	// A tier1 user may read devices but not revoke them or read the audit log.
	must(t, "tier one password\n", "tierline-hub", "user", "add", "--data", h.data, "--name", "t1", "--role", "tier1")
	t1 := must(t, "", "tierline-hub", "apitoken", "create", "--data", h.data, "--user", "t1")
	if code := h.do("GET", "/api/v1/devices", t1, nil, nil); code != http.StatusOK {
		t.Errorf("tier1 list devices: status %d", code)
	}
	if code := h.do("POST", "/api/v1/devices/"+a.id+"/revoke", t1, nil, &e); code != http.StatusForbidden {
		t.Errorf("tier1 revoke: status %d, want 403", code)
	}
	if code := h.do("GET", "/api/v1/audit", t1, nil, &e); code != http.StatusForbidden {
		t.Errorf("tier1 audit: status %d, want 403", code)
	}
	// Revoked API tokens stop working.
	out, errOut, code := run(t, "", "tierline-hub", "apitoken", "create", "--data", h.data, "--user", "t1")
	tok, fields := strings.TrimSpace(out), strings.Fields(errOut) // "API token ID for t1 (tier1), ..."
	if code != 0 || len(fields) < 3 {
		t.Fatalf("apitoken create: exit %d, stderr %q", code, errOut)
	}
	if code := h.do("GET", "/api/v1/me", tok, nil, nil); code != http.StatusOK {
		t.Fatalf("fresh token: status %d", code)
	}
	h.cli("apitoken", "revoke", fields[2])
	e = wire.APIError{}
	if code := h.do("GET", "/api/v1/me", tok, nil, &e); code != http.StatusUnauthorized || !strings.Contains(e.Error, "revoked") {
		t.Errorf("revoked token: status %d, error %q; want 401 naming the revocation", code, e.Error)
	}
}

// TestRefusals: each bad credential or frame is refused with a clear
// error, and the hub keeps serving a good agent throughout.
func TestRefusals(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	good := enroll(t, h.tokenCreate())
	good.run()
	eventually(t, "the good agent online", 60*time.Second, func() bool {
		var d device
		return h.get("/api/v1/devices/"+good.id, &d) == http.StatusOK && d.Online
	})

	t.Run("wrong CA", func(t *testing.T) {
		tok, err := wire.ParseEnrollToken(h.tokenCreate())
		if err != nil {
			t.Fatal(err)
		}
		tok.CAFingerprint = strings.Repeat("ab", 32)
		_, errOut, code := run(t, "", "tierline-agent", "enroll", "--token", tok.Encode(), "--state", filepath.Join(t.TempDir(), "s"))
		if code == 0 || !strings.Contains(errOut, "not signed by the CA pinned") {
			t.Errorf("exit %d, stderr %q; want refusal naming the pinned CA", code, errOut)
		}
	})
	t.Run("reused single-use token", func(t *testing.T) {
		tok := h.tokenCreate()
		enroll(t, tok)
		_, errOut, code := run(t, "", "tierline-agent", "enroll", "--token", tok, "--state", filepath.Join(t.TempDir(), "s"))
		if code == 0 || !strings.Contains(errOut, "used up") {
			t.Errorf("exit %d, stderr %q; want 'used up'", code, errOut)
		}
	})
	t.Run("concurrent single-use token", func(t *testing.T) {
		tok := h.tokenCreate()
		var wg sync.WaitGroup
		codes := make([]int, 8)
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, codes[i] = run(t, "", "tierline-agent", "enroll", "--token", tok, "--state", filepath.Join(t.TempDir(), "s"))
			}()
		}
		wg.Wait()
		ok := 0
		for _, c := range codes {
			if c == 0 {
				ok++
			}
		}
		if ok != 1 {
			t.Errorf("%d of %d concurrent enrollments with one single-use token succeeded, want 1", ok, len(codes))
		}
	})
	t.Run("expired token", func(t *testing.T) {
		tok := h.tokenCreate("--expires", "1s")
		time.Sleep(1500 * time.Millisecond)
		_, errOut, code := run(t, "", "tierline-agent", "enroll", "--token", tok, "--state", filepath.Join(t.TempDir(), "s"))
		if code == 0 || !strings.Contains(errOut, "expired") {
			t.Errorf("exit %d, stderr %q; want 'expired'", code, errOut)
		}
	})
	t.Run("revoked token", func(t *testing.T) {
		tok := h.tokenCreate("--uses", "5")
		var list struct {
			Tokens []struct{ ID string } `json:"tokens"`
		}
		h.get("/api/v1/tokens", &list)
		h.cli("token", "revoke", list.Tokens[0].ID)
		_, errOut, code := run(t, "", "tierline-agent", "enroll", "--token", tok, "--state", filepath.Join(t.TempDir(), "s"))
		if code == 0 || !strings.Contains(errOut, "revoked") {
			t.Errorf("exit %d, stderr %q; want 'revoked'", code, errOut)
		}
	})
	t.Run("forged key", func(t *testing.T) {
		c := dialRaw(t, h)
		ch := readChallenge(t, c)
		_, wrong, _ := ed25519.GenerateKey(rand.Reader)
		sendFrame(t, c, 0, wire.Hello{DeviceID: good.id, Signature: ed25519.Sign(wrong, wire.AuthMessage(ch.Nonce, good.id)), OS: "linux"})
		e := readError(t, c)
		if e.Code != wire.CodeUnauthorized || !strings.Contains(e.Message, "signature") {
			t.Errorf("forged key: got %+v", e)
		}
		if s := closeStatus(t, c); s != 4001 {
			t.Errorf("close status %d, want 4001", s)
		}
	})
	t.Run("garbage frame", func(t *testing.T) {
		c := dialRaw(t, h)
		readChallenge(t, c)
		if err := c.Write(context.Background(), websocket.MessageText, []byte("{this is not json")); err != nil {
			t.Fatal(err)
		}
		if e := readError(t, c); e.Code != wire.CodeBadFrame {
			t.Errorf("garbage: got %+v, want %s", e, wire.CodeBadFrame)
		}
	})
	t.Run("unknown version and type", func(t *testing.T) {
		c := dialRaw(t, h)
		readChallenge(t, c)
		_ = c.Write(context.Background(), websocket.MessageText, []byte(`{"v":99,"type":"hello","id":"x","time":"2026-11-23T00:00:00Z","body":{}}`))
		if e := readError(t, c); e.Code != wire.CodeUnsupportedVersion {
			t.Errorf("version 99: got %+v", e)
		}
		c = dialRaw(t, h)
		readChallenge(t, c)
		_ = c.Write(context.Background(), websocket.MessageText, []byte(`{"v":1,"type":"launch-missiles","id":"x","time":"2026-11-23T00:00:00Z","body":{}}`))
		if e := readError(t, c); e.Code != wire.CodeUnknownType {
			t.Errorf("unknown type: got %+v", e)
		}
	})
	t.Run("oversized frame", func(t *testing.T) {
		c := dialRaw(t, h)
		readChallenge(t, c)
		big := bytes.Repeat([]byte("x"), wire.MaxFrameSize+1024)
		_ = c.Write(context.Background(), websocket.MessageText, big)
		if s := closeStatus(t, c); s != websocket.StatusMessageTooBig {
			t.Errorf("oversized frame: close status %d, want %d", s, websocket.StatusMessageTooBig)
		}
	})
	t.Run("revoked device", func(t *testing.T) {
		victim := enroll(t, h.tokenCreate())
		p := victim.run()
		eventually(t, "the victim online", 60*time.Second, func() bool {
			var d device
			return h.get("/api/v1/devices/"+victim.id, &d) == http.StatusOK && d.Online
		})
		h.cli("device", "revoke", victim.id)
		if code := p.wait(30 * time.Second); code != 3 {
			t.Errorf("revoked agent exit code %d, want 3", code)
		}
		if out := p.output(); !strings.Contains(out, "revoked") {
			t.Errorf("revoked agent did not say why:\n%s", tail(out, 2000))
		}
		// And it is refused afterwards.
		p2 := victim.run()
		if code := p2.wait(30 * time.Second); code != 3 {
			t.Errorf("revoked agent restarted: exit code %d, want 3", code)
		}
	})

	// The good agent was served throughout: still online, still reporting.
	var before, after device
	h.get("/api/v1/devices/"+good.id, &before)
	eventually(t, "the good agent to keep reporting", 30*time.Second, func() bool {
		return h.get("/api/v1/devices/"+good.id, &after) == http.StatusOK && after.Online && after.LastSeq > before.LastSeq
	})
}

// TestSpoolReplayExactlyOnce: the agent spools while the hub is down; after
// the hub returns every message arrives once, in order.
func TestSpoolReplayExactlyOnce(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	start := time.Now().Add(-time.Minute)
	a := enroll(t, h.tokenCreate())
	a.run("--check-interval", "200ms")
	var d device
	eventually(t, "first telemetry", 60*time.Second, func() bool {
		return h.get("/api/v1/devices/"+a.id, &d) == http.StatusOK && d.LastSeq >= 2 && d.check("hub-reachable") == "ok"
	})
	if code := h.proc.stop(); code != 0 {
		t.Fatalf("hub exit code after SIGTERM = %d", code)
	}
	// The agent sees the outage in its own checks (it samples every 200 ms
	// and spools what it sees).
	eventually(t, "the agent to find the hub unreachable", 60*time.Second, func() bool {
		return agentFailing(t, a, "hub-reachable")
	})
	h.start()

	// The spooled evidence reaches the hub once it is back: hub-reachable
	// went failing and came back.
	var seq string
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		var hist struct {
			Transitions []struct {
				Name string `json:"name"`
				From string `json:"from"`
				To   string `json:"to"`
			} `json:"transitions"`
		}
		h.get("/api/v1/devices/"+a.id+"/health/history?since="+start.UTC().Format(time.RFC3339), &hist)
		var tos []string
		for i := len(hist.Transitions) - 1; i >= 0; i-- { // oldest first
			if tr := hist.Transitions[i]; tr.Name == "hub-reachable" {
				tos = append(tos, tr.To)
			}
		}
		if seq = strings.Join(tos, ","); strings.Contains(seq, "ok,failing,ok") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hub-reachable transitions %q after 60 s, want ok,failing,ok", seq)
		}
	}
	if code := a.proc.stop(); code != 0 {
		t.Errorf("agent exit code = %d", code)
	}
	pts, last, inv := settledTelemetry(t, h, a.id, start)
	checkContiguous(t, pts, last, inv)
}

// agentFailing asks the running agent, over its local socket as the tray
// does, whether the named check fails in its latest results.
func agentFailing(t *testing.T, a *agent, check string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := localipc.NewClient(filepath.Join(a.state, localipc.SocketName)).Status(ctx)
	if err != nil {
		return false
	}
	for _, f := range st.Failing {
		if f.Name == check {
			return true
		}
	}
	return false
}

// settledTelemetry reads a stopped agent's stored telemetry and last
// sequence once the hub has stored what it had already read off the wire
// (it commits in batches): both reads agree, or 30 s have passed and the
// check that follows reports the difference.
func settledTelemetry(t *testing.T, h *hub, id string, since time.Time) ([]point, uint64, int) {
	t.Helper()
	var pts []point
	var d device
	inventories := 0
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		d = device{}
		h.get("/api/v1/devices/"+id, &d)
		pts = h.telemetry(id, since)
		var again device
		h.get("/api/v1/devices/"+id, &again)
		inventories = 0
		if d.Inventory != nil {
			inventories = 1
		}
		if again.LastSeq == d.LastSeq && uint64(len(pts)+inventories) == d.LastSeq {
			break
		}
	}
	return pts, d.LastSeq, inventories
}

// TestKillHubDuringIngest: SIGKILL the hub while several agents stream; after
// restart nothing the hub acknowledged is missing (an acknowledged message
// is gone from the agent's spool, so a loss would show as a gap).
func TestKillHubDuringIngest(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	start := time.Now().Add(-time.Minute)
	tok := h.tokenCreate("--uses", "3")
	var agents []*agent
	for range 3 {
		a := enroll(t, tok)
		a.run("--interval", "50ms")
		agents = append(agents, a)
	}
	for round := range 2 {
		for _, a := range agents {
			eventually(t, "agents streaming", 60*time.Second, func() bool {
				var d device
				return h.get("/api/v1/devices/"+a.id, &d) == http.StatusOK && d.Online && d.LastSeq > uint64(20*(round+1))
			})
		}
		h.proc.signal(syscall.SIGKILL)
		h.proc.wait(10 * time.Second)
		time.Sleep(500 * time.Millisecond)
		h.start()
	}
	for _, a := range agents {
		var d device
		eventually(t, "agents back", 60*time.Second, func() bool {
			return h.get("/api/v1/devices/"+a.id, &d) == http.StatusOK && d.Online && d.LastSeq > 60
		})
	}
	for _, a := range agents {
		if code := a.proc.stop(); code != 0 {
			t.Errorf("agent exit %d", code)
		}
	}
	for _, a := range agents {
		pts, last, inv := settledTelemetry(t, h, a.id, start)
		checkContiguous(t, pts, last, inv)
	}
}

// checkContiguous asserts telemetry points carry every sequence number up
// to last but the inventories', each once, in time order (these tests
// start each agent once: it sends one inventory, or none if stopped first).
func checkContiguous(t *testing.T, pts []point, last uint64, inventories int) {
	t.Helper()
	if uint64(len(pts)+inventories) != last {
		t.Errorf("%d telemetry points and %d inventories stored, last sequence %d: messages lost or duplicated", len(pts), inventories, last)
	}
	seen := map[uint64]bool{}
	for i, p := range pts {
		if seen[p.Seq] {
			t.Errorf("sequence %d stored twice", p.Seq)
		}
		seen[p.Seq] = true
		if i > 0 && p.Seq <= pts[i-1].Seq {
			t.Errorf("point %d: sequence %d after %d: out of order", i, p.Seq, pts[i-1].Seq)
		}
	}
	// The sequence numbers that are not telemetry are the inventory, read
	// once at start beside the samples: it takes seconds (the package
	// manager), so on a loaded machine an agent stopped early never sent
	// it, and the hub holds none.
	var other []uint64
	for s := uint64(1); s <= last; s++ {
		if !seen[s] {
			other = append(other, s)
		}
	}
	if len(other) != inventories {
		t.Errorf("sequences %v are not telemetry; want %d, the startup inventory the hub holds", other, inventories)
	}
}

// A raw protocol client, for frames a real agent would never send.

func dialRaw(t *testing.T, h *hub) *websocket.Conn {
	t.Helper()
	pem, _ := os.ReadFile(filepath.Join(h.data, "ca.pem"))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "wss://"+h.addr+wire.ConnectPath, &websocket.DialOptions{
		Subprotocols: []string{wire.Subprotocol},
		HTTPClient:   &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.SetReadLimit(wire.MaxFrameSize)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func readEnvelope(t *testing.T, c *websocket.Conn) wire.Envelope {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, frame, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	env, err := wire.Decode(frame)
	if err != nil {
		t.Fatalf("decode hub frame: %v", err)
	}
	return env
}

func readChallenge(t *testing.T, c *websocket.Conn) wire.Challenge {
	t.Helper()
	ch, err := wire.DecodeBody[wire.Challenge](readEnvelope(t, c))
	if err != nil {
		t.Fatalf("challenge: %v", err)
	}
	return ch
}

func readError(t *testing.T, c *websocket.Conn) wire.Error {
	t.Helper()
	e, err := wire.DecodeBody[wire.Error](readEnvelope(t, c))
	if err != nil {
		t.Fatalf("want an error frame: %v", err)
	}
	return e
}

func sendFrame(t *testing.T, c *websocket.Conn, seq uint64, body wire.Body) {
	t.Helper()
	frame, err := wire.Encode(wire.NewID(), seq, time.Now(), body)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(context.Background(), websocket.MessageText, frame); err != nil {
		t.Fatal(err)
	}
}

// closeStatus reads until the connection closes and returns its status.
func closeStatus(t *testing.T, c *websocket.Conn) websocket.StatusCode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}
