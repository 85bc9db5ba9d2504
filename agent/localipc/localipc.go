// Package localipc is how local programs (the `help` command now, the tray
// later) talk to the running agent service: one request and one answer,
// each a JSON line, over a Unix domain socket in the agent's state
// directory. Never TCP. The socket is created mode 0600, so only the
// agent's own user (root or SYSTEM for the service) may connect; the
// per-user tray adds a peer-credential check when it arrives.
package localipc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// SocketName is the socket's file name in the state directory.
const SocketName = "agent.sock"

// MaxMessage bounds one request or answer line.
const MaxMessage = 1 << 20

// Request is one call.
type Request struct {
	Op   string          `json:"op"`
	Body json.RawMessage `json:"body,omitempty"`
}

// Response answers a Request: Body on success, Error (and Code) otherwise.
type Response struct {
	Body  json.RawMessage `json:"body,omitempty"`
	Error string          `json:"error,omitempty"`
	Code  string          `json:"code,omitempty"`
}

// Error codes.
const (
	CodeBadRequest = "bad_request"
	CodeUnknownOp  = "unknown_op"
	CodeTooLarge   = "too_large"
	CodeFailed     = "failed"
)

// Handler answers one operation; body is the request's body.
type Handler func(ctx context.Context, body json.RawMessage) (any, error)

// Server serves the socket.
type Server struct {
	path string
	ln   net.Listener
	log  *slog.Logger
	ops  map[string]Handler
	wg   sync.WaitGroup
}

// Listen creates the socket at path (replacing a stale one) with mode 0600.
func Listen(path string, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("local socket: %w", err)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("local socket %s is in use: is another agent running with this state directory?", path)
	}
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("local socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("local socket: %w", err)
	}
	return &Server{path: path, ln: ln, log: log, ops: map[string]Handler{}}, nil
}

// Handle registers an operation. Call before Serve.
func (s *Server) Handle(op string, h Handler) { s.ops[op] = h }

// Serve accepts connections until ctx ends, then removes the socket.
func (s *Server) Serve(ctx context.Context) {
	go func() {
		<-ctx.Done()
		s.ln.Close()
	}()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			break
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveConn(ctx, c)
		}()
	}
	s.wg.Wait()
	_ = os.Remove(s.path)
}

func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	line, err := readLine(c)
	if err != nil {
		code := CodeBadRequest
		if errors.Is(err, errTooLarge) {
			code = CodeTooLarge
		}
		writeResponse(c, Response{Error: err.Error(), Code: code})
		return
	}
	var req Request
	if err := json.Unmarshal(line, &req); err != nil {
		writeResponse(c, Response{Error: "request is not a JSON object: " + err.Error(), Code: CodeBadRequest})
		return
	}
	h := s.ops[req.Op]
	if h == nil {
		writeResponse(c, Response{Error: fmt.Sprintf("unknown operation %q", clip(req.Op)), Code: CodeUnknownOp})
		return
	}
	out, err := h(ctx, req.Body)
	if err != nil {
		s.log.Info("local request refused", "op", req.Op, "err", err)
		writeResponse(c, Response{Error: err.Error(), Code: CodeFailed})
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		writeResponse(c, Response{Error: "could not encode the answer", Code: CodeFailed})
		return
	}
	writeResponse(c, Response{Body: b})
}

var errTooLarge = fmt.Errorf("request is larger than %d bytes", MaxMessage)

func readLine(r io.Reader) ([]byte, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, MaxMessage+1), 64<<10)
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > MaxMessage {
			return nil, errTooLarge
		}
		if err == nil {
			return line, nil
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) && len(line) > 0 {
			return line, nil
		}
		return nil, fmt.Errorf("read request: %w", err)
	}
}

func writeResponse(w io.Writer, r Response) {
	b, _ := json.Marshal(r)
	_, _ = w.Write(append(b, '\n'))
}

// ErrNotRunning: nothing listens on the socket.
var ErrNotRunning = errors.New("the agent is not running (no local socket)")

// Call sends one request to the agent at path and decodes the answer's
// body into out.
func Call(ctx context.Context, path, op string, body, out any) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotRunning, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, _ := json.Marshal(Request{Op: op, Body: raw})
	if len(req) > MaxMessage {
		return errTooLarge
	}
	if _, err := c.Write(append(req, '\n')); err != nil {
		return fmt.Errorf("send to the agent: %w", err)
	}
	line, err := readLine(c)
	if err != nil {
		return fmt.Errorf("read the agent's answer: %w", err)
	}
	var resp Response
	if err := json.Unmarshal(line, &resp); err != nil {
		return fmt.Errorf("the agent's answer is not JSON: %w", err)
	}
	if resp.Error != "" {
		return &RemoteError{Code: resp.Code, Message: resp.Error}
	}
	if out != nil && len(resp.Body) > 0 {
		return json.Unmarshal(resp.Body, out)
	}
	return nil
}

// RemoteError is a refusal from the agent.
type RemoteError struct{ Code, Message string }

func (e *RemoteError) Error() string { return e.Message }

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
