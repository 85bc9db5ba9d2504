package localipc

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	s.Handle("echo", func(ctx context.Context, body json.RawMessage) (any, error) {
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
	if err := Call(ctx, path, "echo", map[string]string{"text": "<b>hi</b>"}, &out); err != nil || out.Text != "<b>hi</b>" {
		t.Fatalf("echo: %q %v", out.Text, err)
	}
	var re *RemoteError
	if err := Call(ctx, path, "echo", map[string]string{}, &out); !errors.As(err, &re) || re.Code != CodeFailed || !strings.Contains(re.Message, "required") {
		t.Errorf("handler refusal: %v", err)
	}
	if err := Call(ctx, path, "run-anything", nil, nil); !errors.As(err, &re) || re.Code != CodeUnknownOp {
		t.Errorf("unknown op: %v", err)
	}
	if r := raw(t, path, []byte("not json\n")); r.Code != CodeBadRequest {
		t.Errorf("malformed: %+v", r)
	}
	if r := raw(t, path, append([]byte(`{"op":"echo","body":"`+strings.Repeat("a", MaxMessage+10)), '\n')); r.Code != CodeTooLarge {
		t.Errorf("oversized: %+v", r)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v %v, want 0600", st.Mode(), err)
	}
	if err := Call(ctx, filepath.Join(t.TempDir(), "none.sock"), "echo", nil, nil); !errors.Is(err, ErrNotRunning) {
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
	dir, _ := os.MkdirTemp("", "ipcf")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, SocketName)
	s, err := Listen(path, nil)
	if err != nil {
		f.Fatal(err)
	}
	s.Handle("echo", func(ctx context.Context, body json.RawMessage) (any, error) { return string(body), nil })
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
	})
}
