package localipc

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tierline/tierline/shared/testwait"
)

func serve(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ipc") // short path: socket names are limited to ~100 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, SocketName)
	s, err := Listen(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.HandleUser("echo", func(ctx context.Context, body json.RawMessage) (any, error) {
		var v struct{ Text string }
		if err := json.Unmarshal(body, &v); err != nil {
			return nil, err
		}
		if v.Text == "" {
			return nil, errors.New("text is required")
		}
		return map[string]string{"text": v.Text}, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return path
}

func raw(t *testing.T, path string, payload []byte) Response {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	go c.Write(payload)
	line, err := readLine(c)
	if err != nil {
		t.Fatal(err)
	}
	var r Response
	if err := json.Unmarshal(line, &r); err != nil {
		t.Fatalf("answer is not JSON: %q", line)
	}
	return r
}

func TestCallAndRefusals(t *testing.T) {
	path := serve(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out struct{ Text string }
	if err := call(ctx, path, "echo", map[string]string{"text": "<b>hi</b>"}, &out); err != nil || out.Text != "<b>hi</b>" {
		t.Fatalf("echo: %q %v", out.Text, err)
	}
	var re *RemoteError
	if err := call(ctx, path, "echo", map[string]string{}, &out); !errors.As(err, &re) || re.Code != CodeFailed || !strings.Contains(re.Message, "required") {
		t.Errorf("handler refusal: %v", err)
	}
	if err := call(ctx, path, "run-anything", nil, nil); !errors.As(err, &re) || re.Code != CodeUnknownOp {
		t.Errorf("unknown op: %v", err)
	}
	if r := raw(t, path, []byte("not json\n")); r.Code != CodeBadRequest {
		t.Errorf("malformed: %+v", r)
	}
	if r := raw(t, path, append([]byte(`{"op":"echo","body":"`+strings.Repeat("a", MaxMessage+10)), '\n')); r.Code != CodeTooLarge {
		t.Errorf("oversized: %+v", r)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o666 {
		t.Errorf("socket mode %v %v, want 0666 (authorisation is by peer credentials)", st.Mode(), err)
	}
	if r := raw(t, path, []byte("{}\n")); r.Code != CodeBadRequest || !strings.Contains(r.Error, `no "op"`) {
		t.Errorf("no op: %+v", r)
	}
	if r := raw(t, path, []byte(`{"op":"echo","body":{"text":1}}`+"\n")); r.Code != CodeFailed || r.Error == "" {
		t.Errorf("wrong body type: %+v", r)
	}
	if err := call(ctx, filepath.Join(t.TempDir(), "none.sock"), "echo", nil, nil); !errors.Is(err, ErrNotRunning) {
		t.Errorf("no agent: %v", err)
	}
}

func TestSecondAgentRefused(t *testing.T) {
	path := serve(t)
	if _, err := Listen(path, nil); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("a second listener on a live socket: %v", err)
	}
}

func FuzzServe(f *testing.F) {
	f.Add([]byte(`{"op":"echo","body":{"text":"x"}}` + "\n"))
	f.Add([]byte("\n"))
	f.Add([]byte(`{"op":`))
	f.Add([]byte(`{"op":"admin","body":null}` + "\n"))
	f.Add([]byte(`{"op":"echo","body":"` + strings.Repeat("x", 70000) + `"}` + "\n"))
	f.Add([]byte(`["op","echo"]` + "\n"))
	f.Add([]byte{0xff, 0xfe, '\n'})
	dir, _ := os.MkdirTemp("", "ipcf")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, SocketName)
	s, err := Listen(path, nil)
	if err != nil {
		f.Fatal(err)
	}
	s.HandleUser("echo", func(ctx context.Context, body json.RawMessage) (any, error) { return string(body), nil })
	s.Handle("admin", func(ctx context.Context, body json.RawMessage) (any, error) { return "ok", nil })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Serve(ctx)
	f.Fuzz(func(t *testing.T, payload []byte) {
		if len(payload) == 0 || payload[len(payload)-1] != '\n' {
			payload = append(payload, '\n')
		}
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write(payload)
		line, err := readLine(c)
		if err != nil {
			t.Fatalf("no answer to %q: %v", payload, err)
		}
		var r Response
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("answer is not JSON: %q", line)
		}
		if r.Error == "" && r.Body == nil {
			t.Fatalf("answer has neither a body nor an error: %q", line)
		}
		if r.Error != "" && r.Code == "" {
			t.Fatalf("refusal without a code: %q", line)
		}
	})
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"op":"status"}`))
	f.Add([]byte(`{"op":"run","body":{"fix":"flush-dns"}}`))
	f.Add([]byte(`{"op":""}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, line []byte) {
		req, err := decodeRequest(line)
		if err == nil && req.Op == "" {
			t.Fatalf("accepted a request without an op: %q", line)
		}
		if err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
	})
}

// TestConnectionCaps: one local user holds at most MaxConnsPerCaller
// connections at once and all users together maxConns; a connection over
// either cap is answered "busy" at once, other users are still served,
// and a freed place can be used again.
func TestConnectionCaps(t *testing.T) {
	dir, err := os.MkdirTemp("", "ipcc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, SocketName)
	s, err := Listen(path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	s.maxConns = MaxConnsPerCaller + 2
	// Who calls is whoever the test says next (the test process is one
	// user; the kernel's answer is tested in peercred_linux_test.go).
	callers := make(chan Caller, 1)
	s.identify = func(net.Conn) (Caller, error) { return <-callers, nil }
	entered := make(chan string)
	release := make(chan struct{})
	// The handler also lets go when the server stops, so a failed test's
	// cleanup (which stops it) does not wait for held calls forever.
	s.HandleUser("hold", func(ctx context.Context, body json.RawMessage) (any, error) {
		who, _ := CallerFrom(ctx)
		select {
		case entered <- who.User:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return "done", nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { s.Serve(ctx); close(served) }()
	t.Cleanup(func() { cancel(); <-served })

	cctx, ccancel := context.WithTimeout(ctx, 20*time.Second)
	defer ccancel()
	results := make(chan error, 2*MaxConns)
	holding := 0
	// hold starts a call as user and waits until the handler has it.
	hold := func(user string, uid int) {
		t.Helper()
		callers <- Caller{UID: uid, User: user}
		go func() { results <- call(cctx, path, "hold", nil, nil) }()
		select {
		case got := <-entered:
			if got != user {
				t.Fatalf("handler has %s, want %s", got, user)
			}
		case err := <-results:
			t.Fatalf("%s's call ended: %v", user, err)
		}
		holding++
	}
	busy := func(who *Caller, want string) {
		t.Helper()
		if who != nil {
			callers <- *who
		}
		err := call(cctx, path, "hold", nil, nil)
		var re *RemoteError
		if !errors.As(err, &re) || re.Code != CodeBusy || !strings.Contains(re.Message, want) {
			t.Fatalf("call over the cap: %v, want busy %q", err, want)
		}
	}

	for range MaxConnsPerCaller {
		hold("alice", 1001)
	}
	// counted reports whether the server counts just n connections and
	// users: a refused or finished connection is let go just after its
	// answer, not before.
	counted := func(n, users int) func() bool {
		return func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.conns == n && len(s.perCaller) == users
		}
	}
	busy(&Caller{UID: 1001, User: "alice"}, "too many requests at once from user alice")
	testwait.Until(t, "alice's refused connection let go", counted(holding, 1))
	hold("bob", 1002)
	hold("carol", 1003)
	// All places are taken: dave is refused before being identified.
	busy(nil, "too many local requests at once")

	close(release)
	for range holding {
		if err := <-results; err != nil {
			t.Fatalf("held call: %v", err)
		}
	}
	// Places are freed once the server has closed those connections
	// (just after their answers): alice and dave are served again.
	testwait.Until(t, "every connection let go after its call ended", counted(0, 0))
	go func() {
		for range entered {
		}
	}()
	for _, who := range []Caller{{UID: 1001, User: "alice"}, {UID: 1004, User: "dave"}} {
		callers <- who
		if err := call(cctx, path, "hold", nil, nil); err != nil {
			t.Fatalf("%s after the others finished: %v", who.User, err)
		}
	}
}

func TestCutAndClip(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		cut  string
		clip string
	}{
		{"abc", 5, "abc", "abc"},
		{"abcdef", 3, "abc", "abc…"},
		{"aé", 2, "a", "a…"}, // é is two bytes: not split
		{"日本語", 4, "日", "日…"},
		{"日本語", 0, "", "…"},
	} {
		if got := Cut(c.s, c.n); got != c.cut || !utf8.ValidString(got) {
			t.Errorf("Cut(%q, %d) = %q, want %q", c.s, c.n, got, c.cut)
		}
		if got := Clip(c.s, c.n); got != c.clip {
			t.Errorf("Clip(%q, %d) = %q, want %q", c.s, c.n, got, c.clip)
		}
	}
}
