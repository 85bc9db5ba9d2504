package fixes

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/coder/websocket"

	"github.com/tierline/tierline/agent/identity"
	"github.com/tierline/tierline/agent/identity/identitytest"
	"github.com/tierline/tierline/agent/link"
	"github.com/tierline/tierline/agent/spool"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/wire"
)

const hubDevID = "00112233445566778899aabbccddeeff"

// testHub is an in-process TLS WebSocket hub that speaks the real
// handshake and then hands each session to the test to drive.
type testHub struct {
	t   *testing.T
	pki *identitytest.PKI
	srv *httptest.Server
	pub ed25519.PublicKey

	mu       sync.Mutex
	last     uint64 // highest seq stored (and acked)
	hellos   []wire.Hello
	sessions chan *hubSession
}

type hubSession struct {
	c    *websocket.Conn
	done chan struct{}
}

func newTestHub(t *testing.T, pub ed25519.PublicKey) *testHub {
	pki, err := identitytest.New()
	if err != nil {
		t.Fatal(err)
	}
	h := &testHub{t: t, pki: pki, pub: pub, sessions: make(chan *hubSession, 4)}
	h.srv = httptest.NewUnstartedServer(http.HandlerFunc(h.serve))
	h.srv.TLS = pki.ServerTLS()
	h.srv.StartTLS()
	t.Cleanup(h.srv.Close)
	return h
}

func (h *testHub) url() string {
	return "wss://" + strings.TrimPrefix(h.srv.URL, "https://") + wire.ConnectPath
}

func (h *testHub) serve(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{wire.Subprotocol}})
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(wire.MaxFrameSize)
	ctx := r.Context()
	nonce := make([]byte, wire.NonceSize)
	rand.Read(nonce)
	writeBody(ctx, c, 0, wire.Challenge{Nonce: nonce, HubTime: time.Now()})
	_, data, err := c.Read(ctx)
	if err != nil {
		return
	}
	env, err := wire.Decode(data)
	if err != nil {
		return
	}
	hello, err := wire.DecodeBody[wire.Hello](env)
	if err != nil || hello.DeviceID != hubDevID || !ed25519.Verify(h.pub, wire.AuthMessage(nonce, hubDevID), hello.Signature) {
		c.Close(4001, "unauthorized")
		return
	}
	h.mu.Lock()
	h.hellos = append(h.hellos, hello)
	last := h.last
	h.mu.Unlock()
	writeBody(ctx, c, 0, wire.Welcome{DeviceID: hubDevID, HubTime: time.Now(), LastSeq: last})
	s := &hubSession{c: c, done: make(chan struct{})}
	select {
	case h.sessions <- s:
	case <-ctx.Done():
		return
	}
	select {
	case <-s.done:
	case <-ctx.Done():
	}
}

func writeBody(ctx context.Context, c *websocket.Conn, seq uint64, b wire.Body) error {
	f, err := wire.Encode(wire.NewID(), seq, time.Now(), b)
	if err != nil {
		return err
	}
	return c.Write(ctx, websocket.MessageText, f)
}

// writeRaw sends a run_request whose body is raw JSON, valid or not.
func writeRaw(ctx context.Context, c *websocket.Conn, body []byte) error {
	env, _ := json.Marshal(wire.Envelope{V: wire.Version, Type: wire.TypeRunRequest, ID: wire.NewID(), Time: time.Now(), Body: body})
	return c.Write(ctx, websocket.MessageText, env)
}

// next waits for the agent's next session.
func (h *testHub) next(t *testing.T) *hubSession {
	t.Helper()
	select {
	case s := <-h.sessions:
		return s
	case <-time.After(20 * time.Second):
		t.Fatal("the agent did not connect")
		return nil
	}
}

// readResult reads frames until a run_result arrives.
func (s *hubSession) readResult(ctx context.Context) (uint64, wire.RunResult, error) {
	for {
		_, data, err := s.c.Read(ctx)
		if err != nil {
			return 0, wire.RunResult{}, err
		}
		env, err := wire.Decode(data)
		if err != nil {
			return 0, wire.RunResult{}, fmt.Errorf("agent sent a bad frame: %w", err)
		}
		if env.Type != wire.TypeRunResult {
			continue
		}
		res, err := wire.DecodeBody[wire.RunResult](env)
		if err != nil {
			return 0, res, fmt.Errorf("agent sent a bad run result: %w", err)
		}
		if env.Seq == 0 {
			return 0, res, errors.New("run result without a sequence number")
		}
		return env.Seq, res, nil
	}
}

// store records seq as stored and acks it (cumulatively).
func (h *testHub) store(ctx context.Context, s *hubSession, seq uint64) {
	h.mu.Lock()
	if seq > h.last {
		h.last = seq
	}
	last := h.last
	h.mu.Unlock()
	writeBody(ctx, s.c, 0, wire.Ack{Seq: last})
}

func (s *hubSession) cut() {
	s.c.CloseNow()
	close(s.done)
}

// testAgent is the real link and Runner, with a recording executor.
type testAgent struct {
	link   *link.Link
	runner *Runner
	rec    *recorder
	cancel context.CancelFunc
	done   chan error
}

func quietLogger() *slog.Logger {
	if testing.Verbose() && os.Getenv("TIERLINE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func startTestAgent(t *testing.T, h *testHub, key ed25519.PrivateKey, state string) *testAgent {
	t.Helper()
	sp, err := spool.Open(filepath.Join(state, "spool"), spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	j, err := OpenJournal(filepath.Join(state, JournalDir), JournalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a := &testAgent{rec: newRecorder(), done: make(chan error, 1)}
	v := &verifier{before: "ok", after: "ok"}
	pol := DefaultPolicy()
	a.runner, err = New(Config{Journal: j, Exec: a.rec, Policy: &pol, Verify: v.verify, Logger: quietLogger(),
		Machine: func() Machine { return machine("linux") },
		Sleep:   func(context.Context, time.Duration) error { return nil },
		Deliver: func(res wire.RunResult) {
			if _, err := a.link.Send(context.Background(), res); err != nil {
				t.Errorf("spooling run result %s: %v", res.RunID, err)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	a.link, err = link.New(link.Config{
		URL: h.url(), TLS: identity.TrustedTLSConfig(h.pki.CA, "127.0.0.1"),
		DeviceID: hubDevID, Key: key, AgentVersion: "test", Hostname: "h", OS: "linux", Arch: "amd64",
		Spool: sp, Logger: quietLogger(), Backoff: link.Backoff{Base: time.Millisecond, Max: 2 * time.Millisecond},
		OnRunRequest: a.runner.Submit, Fixes: Supported("linux", pol),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	a.runner.Start(ctx)
	go func() { a.done <- a.link.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		a.runner.Stop()
		<-a.done
		sp.Close()
	}
	t.Cleanup(stop)
	a.cancel = stop
	return a
}

func newHubKey(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

// hostile is one generated request: its raw body and what a correct
// agent must do with it.
type hostile struct {
	runID string // "" when the run id itself is invalid: no answer possible
	body  []byte
	// runnable: an independent check says the agent may run it.
	runnable bool
	req      wire.RunRequest
}

var nasty = []string{
	"; reboot", "$(id)", "`id`", "| sh", "&& rm -rf /", "../../etc/passwd", `..\..\Windows\System32`, "a\x00b", "line\nbreak",
	"\x1b[31m", "'quoted'", `"dq"`, "*", "~root", "-rf", "--help", "/delete:*", "%SystemRoot%", "${IFS}", "\u202e", "\xff\xfe",
	strings.Repeat("A", 300), strings.Repeat("B", 2000), "", " ", "x y",
}

func genHostile(rng *mrand.Rand, i int) hostile {
	id := "h-" + strconv.Itoa(i)
	fixes := catalog.IDs(catalog.All())
	var req wire.RunRequest
	req.RunID = id
	req.Tier = rng.IntN(5)
	req.ConsentObtained = rng.IntN(2) == 0
	switch rng.IntN(7) {
	case 0: // not a catalog fix
		req.Fix = []string{"run-script", "shell", "flush-dns;reboot", "../../etc/passwd", "FLUSH-DNS", "flush-dns\x00", "", "exec",
			strings.Repeat("f", 100), "restart-service --now"}[rng.IntN(10)]
	case 1, 2: // a catalog fix with nasty parameters
		f := catalog.All()[rng.IntN(len(fixes))]
		req.Fix = f.ID
		req.Params = map[string]string{}
		names := []string{"service", "target", "name", "pid", "interface", "message", "min_age_hours", "hours", "max_mib", "delay_minutes", "path", "cmd"}
		for range 1 + rng.IntN(3) {
			req.Params[names[rng.IntN(len(names))]] = nasty[rng.IntN(len(nasty))]
		}
	case 3: // numbers out of range or not numbers
		req.Fix = []string{catalog.ClearTemp, catalog.CollectLogs, catalog.ScheduleReboot, catalog.EndProcess}[rng.IntN(4)]
		n := []string{"0", "-1", "1e3", "0x10", "99999999999999999999", "1; reboot", "1.5", " 5", "+5"}[rng.IntN(9)]
		req.Params = map[string]string{"min_age_hours": n, "hours": n, "delay_minutes": n, "pid": n}
		f, _ := catalog.Get(req.Fix)
		for k := range req.Params {
			if _, ok := f.Param(k); !ok {
				delete(req.Params, k)
			}
		}
	case 4: // too many parameters
		req.Fix = catalog.ClearTemp
		req.Params = map[string]string{}
		for k := range 9 + rng.IntN(3) {
			req.Params["p"+strconv.Itoa(k)] = "1"
		}
	default: // a plausible, valid-looking request at a random tier
		f := catalog.All()[rng.IntN(len(fixes))]
		req.Fix = f.ID
		req.Params = map[string]map[string]string{
			catalog.ClearCredentials: {"target": "fileserver.corp.example"},
			catalog.RestartService:   {"service": []string{"cups", "sshd", "nginx", "Spooler"}[rng.IntN(4)]},
			catalog.EndProcess:       {"name": "chrome"},
			catalog.RenewDHCP:        {"interface": "eth0"},
			catalog.ScheduleReboot:   {"message": "Saving work; restart in 10 min. $(not a shell) `really`"},
		}[f.ID]
	}
	body, _ := json.Marshal(req)
	h := hostile{runID: id, body: body, req: req}
	// Some bodies are broken JSON or carry invalid run ids.
	switch rng.IntN(20) {
	case 0:
		h.body = []byte(`{"run_id":"` + id + `","fix":"flush-dns","params":{"x":1}}`)
		h.req = wire.RunRequest{RunID: id, Fix: "flush-dns"}
		return h
	case 1:
		h.runID = ""
		bad := []string{"../../etc/passwd", "", "a b", strings.Repeat("x", 65), "id;rm", "run\x00"}[rng.IntN(6)]
		req.RunID = bad
		h.body, _ = json.Marshal(req)
		return h
	}
	h.runnable = runnable(req)
	return h
}

// runnable is the test's own statement of what may reach the executor:
// a catalog fix for Linux, a tier high enough, parameters the catalog
// accepts, consent given, and the built-in rules.
func runnable(req wire.RunRequest) bool {
	f, ok := catalog.Get(req.Fix)
	if !ok || req.Validate() != nil || req.Tier < f.Tier || !f.Supports("linux") {
		return false
	}
	p, err := f.Validate(req.Params)
	if err != nil {
		return false
	}
	if f.Consent && !req.ConsentObtained {
		return false
	}
	if f.ID == catalog.RestartService && !slices.Contains(BuiltinServices("linux"), p["service"]) {
		return false
	}
	if f.ID == catalog.EndProcess && isCritical(p["name"], "linux") {
		return false
	}
	if m := p["message"]; strings.HasPrefix(m, "-") || strings.HasPrefix(m, "/") {
		return false
	}
	return true
}

// TestHostileHub feeds thousands of generated requests through the real
// link and Runner. Every request with a valid run id is answered with a
// reason; nothing the test does not consider runnable reaches the
// executor; no argv element carries a value the catalog refused.
func TestHostileHub(t *testing.T) {
	t.Parallel()
	n := 2000
	if testing.Short() {
		n = 500
	}
	pub, priv := newHubKey(t)
	h := newTestHub(t, pub)
	a := startTestAgent(t, h, priv, stressDir(t))
	s := h.next(t)
	defer s.cut()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	rng := mrand.New(mrand.NewPCG(1, 2))
	sent := map[string]hostile{} // by run id, the first request with it
	answered := map[string][]wire.RunResult{}
	expectAnswers := 0
	pending := 0
	drain := func(until int) {
		for pending > until {
			seq, res, err := s.readResult(ctx)
			if err != nil {
				t.Fatalf("reading results (%d pending): %v", pending, err)
			}
			h.store(ctx, s, seq)
			answered[res.RunID] = append(answered[res.RunID], res)
			pending--
		}
	}
	for i := range n {
		hr := genHostile(rng, i)
		// Every tenth request replays an earlier run id with a new body.
		if i%10 == 9 && len(sent) > 0 {
			old := "h-" + strconv.Itoa(rng.IntN(i))
			if prev, ok := sent[old]; ok {
				hr.runID, hr.runnable = old, false
				r2 := prev.req
				r2.Fix, r2.Tier = catalog.ResetNetwork, 3
				hr.body, _ = json.Marshal(r2)
			}
		}
		if err := writeRaw(ctx, s.c, hr.body); err != nil {
			t.Fatal(err)
		}
		if hr.runID != "" {
			if _, seen := sent[hr.runID]; !seen {
				sent[hr.runID] = hr
			}
			expectAnswers++
			pending++
		}
		if i%7 == 0 {
			// Garbage between requests never ends the session.
			s.c.Write(ctx, websocket.MessageText, []byte(`{"v":1,"type":"run_request","id":"x","body":{"run_id":`))
			s.c.Write(ctx, websocket.MessageBinary, []byte{0, 1, 2})
		}
		// Keep at most a queue's worth in flight, as a hub would.
		drain(DefaultQueueSize / 2)
	}
	drain(0)

	// A burst beyond the queue: the overflow is refused as busy, at once.
	for i := range 300 {
		b, _ := json.Marshal(wire.RunRequest{RunID: "burst-" + strconv.Itoa(i), Fix: catalog.FlushDNS, Tier: 1})
		writeRaw(ctx, s.c, b)
	}
	pending = 300
	busy := 0
	for pending > 0 {
		seq, res, err := s.readResult(ctx)
		if err != nil {
			t.Fatal(err)
		}
		h.store(ctx, s, seq)
		pending--
		if res.Code == wire.RefuseBusy {
			busy++
		}
		answered[res.RunID] = append(answered[res.RunID], res)
	}
	if busy == 0 {
		t.Log("no busy refusals in the burst (the runner kept up)")
	}

	// Every request with a valid run id got an answer with a reason.
	for id, hr := range sent {
		rs := answered[id]
		if len(rs) == 0 {
			t.Errorf("%s got no result", id)
			continue
		}
		for _, r := range rs {
			if r.Reason == "" || !slices.Contains(wire.Outcomes, r.Outcome) || r.Validate() != nil {
				t.Errorf("%s: result without a reason or invalid: %+v", id, r)
			}
			if r.Outcome == wire.OutcomeRefused && r.Code == "" {
				t.Errorf("%s: refusal without a code", id)
			}
		}
		if !hr.runnable && rs[0].Outcome != wire.OutcomeRefused && rs[0].Outcome != wire.OutcomeNotApplicable {
			t.Errorf("%s: %s was not refused: %+v (request %s)", id, hr.req.Fix, rs[0], hr.body)
		}
		for _, r := range rs[1:] {
			if !r.Replayed {
				t.Errorf("%s: a second answer is not a replay: %+v", id, r)
			}
		}
	}

	// Nothing outside the catalog, and nothing not runnable, reached the
	// executor; argv elements are constants or validated values.
	programs := map[string]bool{}
	for _, goos := range []string{"linux"} {
		for _, f := range catalog.For(goos) {
			params, _ := f.Validate(map[string]string{"target": "t", "service": "cups", "name": "n"})
			p, _ := MakePlan(f, params, machine(goos))
			for _, st := range p.Steps {
				if st.Argv != nil {
					programs[st.Argv[0]] = true
				}
			}
		}
	}
	perRun := map[string]int{}
	for _, c := range a.rec.snapshot() {
		perRun[c.RunID]++
		hr, ok := sent[c.RunID]
		if strings.HasPrefix(c.RunID, "burst-") {
			continue
		}
		if !ok || !hr.runnable {
			t.Errorf("run %s reached the executor but is not runnable: %+v (request %s)", c.RunID, c, hr.body)
			continue
		}
		f, _ := catalog.Get(hr.req.Fix)
		params, err := f.Validate(hr.req.Params)
		if err != nil {
			t.Errorf("run %s reached the executor with invalid parameters: %v", c.RunID, err)
		}
		if c.Action != nil {
			for k, v := range c.Action.Args {
				if params[k] != v {
					t.Errorf("run %s: action argument %s=%q is not the validated %q", c.RunID, k, v, params[k])
				}
			}
			continue
		}
		if !programs[c.Argv[0]] {
			t.Errorf("run %s: program %q is not one of the catalog's", c.RunID, c.Argv[0])
		}
		for _, el := range c.Argv {
			if strings.IndexFunc(el, unicode.IsControl) >= 0 || !utf8Valid(el) {
				t.Errorf("run %s: argv element %q holds control characters", c.RunID, el)
			}
			if strings.ContainsAny(el, ";|`$&") && el != params["message"] {
				t.Errorf("run %s: argv element %q is not a validated value", c.RunID, el)
			}
		}
	}
	// At most once: each run id executed one plan's worth of steps.
	for id, n := range perRun {
		hr := sent[id]
		if strings.HasPrefix(id, "burst-") {
			if n != 1 {
				t.Errorf("%s executed %d steps, want 1", id, n)
			}
			continue
		}
		f, _ := catalog.Get(hr.req.Fix)
		params, _ := f.Validate(hr.req.Params)
		p, _ := MakePlan(f, params, machine("linux"))
		if n != len(p.Steps) {
			t.Errorf("%s executed %d steps, its plan has %d", id, n, len(p.Steps))
		}
	}
	h.mu.Lock()
	if len(h.hellos) == 0 || !slices.Equal(h.hellos[0].Fixes, Supported("linux", DefaultPolicy())) {
		t.Errorf("hello fixes %v", h.hellos)
	}
	h.mu.Unlock()
	t.Logf("%d requests, %d answered run ids, %d reached the executor, %d busy in the burst", n, len(answered), len(perRun), busy)
}

// stressDir is a state directory for the stress tests: on tmpfs when the
// machine has one, so thousands of fsyncs measure the protocol rather than
// the disk. The journal's durability on a real disk is tested elsewhere.
func stressDir(t *testing.T) string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "tierline-fixes-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "") == s }

// TestRedelivery: the hub reads a run's result and drops the connection
// before acknowledging it, then sends the same run again on the next
// connection; thousands of times. Each run executes exactly once; every
// answer to a repeated request says Replayed; and the same holds after
// the agent restarts on the same state directory.
func TestRedelivery(t *testing.T) {
	t.Parallel()
	cycles := 1000
	if testing.Short() {
		cycles = 200
	}
	if v, err := strconv.Atoi(os.Getenv("TIERLINE_REDELIVERY_CYCLES")); err == nil && v > 0 {
		cycles = v
	}
	pub, priv := newHubKey(t)
	h := newTestHub(t, pub)
	state := stressDir(t)
	a := startTestAgent(t, h, priv, state)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	type seen struct {
		original map[uint64]bool // seqs of first answers
		replays  map[uint64]bool // seqs of replayed answers
	}
	got := map[string]*seen{}
	record := func(seq uint64, res wire.RunResult) {
		s := got[res.RunID]
		if s == nil {
			s = &seen{original: map[uint64]bool{}, replays: map[uint64]bool{}}
			got[res.RunID] = s
		}
		if res.Replayed {
			s.replays[seq] = true
		} else {
			s.original[seq] = true
			if res.Outcome != wire.OutcomeSucceeded {
				t.Errorf("%s: %+v", res.RunID, res)
			}
		}
	}
	id := func(i int) string { return "d-" + strconv.Itoa(i) }
	send := func(s *hubSession, i int) {
		if err := writeBody(ctx, s.c, 0, wire.RunRequest{RunID: id(i), Fix: catalog.FlushDNS, Tier: 1}); err != nil {
			t.Fatalf("send %s: %v", id(i), err)
		}
	}
	for i := range cycles {
		s := h.next(t)
		send(s, i)
		if i > 0 {
			send(s, i-1) // the hub did not see its result acknowledged: it asks again
		}
		for {
			seq, res, err := s.readResult(ctx)
			if err != nil {
				t.Fatalf("cycle %d: %v", i, err)
			}
			record(seq, res)
			if res.RunID == id(i) && !res.Replayed {
				s.cut() // read, not acknowledged, connection lost
				break
			}
			h.store(ctx, s, seq)
		}
	}
	// Drain: ask for the last run once more and take everything.
	s := h.next(t)
	send(s, cycles-1)
	complete := func() bool {
		for i := range cycles {
			g := got[id(i)]
			if g == nil || len(g.original) == 0 || len(g.replays) == 0 {
				return false
			}
		}
		return true
	}
	for !complete() {
		seq, res, err := s.readResult(ctx)
		if err != nil {
			t.Fatalf("drain: %v", err)
		}
		record(seq, res)
		h.store(ctx, s, seq)
	}
	for i := range cycles {
		g := got[id(i)]
		if len(g.original) != 1 {
			t.Errorf("%s: %d distinct first answers (seqs %v), want 1", id(i), len(g.original), g.original)
		}
	}
	calls := map[string]int{}
	for _, c := range a.rec.snapshot() {
		calls[c.RunID]++
	}
	for i := range cycles {
		if calls[id(i)] != 1 {
			t.Errorf("%s executed %d times", id(i), calls[id(i)])
		}
	}
	if len(calls) != cycles {
		t.Errorf("%d run ids executed, want %d", len(calls), cycles)
	}
	s.cut()

	// Restart the agent on the same state directory and ask for every run
	// again: all are answered from the journal, nothing runs.
	a.cancel()
	a2 := startTestAgent(t, h, priv, state)
	s = h.next(t)
	defer s.cut()
	replayed := 0
	const window = DefaultQueueSize / 2
	next, pending := 0, 0
	for replayed < cycles {
		for pending < window && next < cycles {
			send(s, next)
			next++
			pending++
		}
		seq, res, err := s.readResult(ctx)
		if err != nil {
			t.Fatalf("after restart: %v", err)
		}
		h.store(ctx, s, seq)
		if !res.Replayed || res.Outcome != wire.OutcomeSucceeded {
			t.Fatalf("after restart, %s: %+v", res.RunID, res)
		}
		replayed++
		pending--
	}
	if n := len(a2.rec.snapshot()); n != 0 {
		t.Fatalf("after restart %d steps executed, want 0", n)
	}
	t.Logf("%d cycles of read-then-cut; %d connections", cycles, len(h.hellos))
}
