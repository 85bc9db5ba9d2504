// Package localipc is how local programs (the tray, the local Get help
// page, the agent's own `help`, `kb` and `tickets` subcommands) talk to the
// running agent service: one request and one answer, each a JSON line,
// over a Unix domain socket (Linux, macOS) or a named pipe (Windows).
// Never TCP.
//
// The socket is connectable by every local user (mode 0666, in a directory
// they can traverse: /run/tierline/agent.sock for the packaged service,
// STATE/agent.sock when --socket is not given), and every connection is
// authorised by the kernel's word on who is calling: SO_PEERCRED on Linux,
// LOCAL_PEERCRED on macOS, the client's process token on Windows, whose
// pipe admits only SYSTEM, Administrators and interactive users and
// rejects remote clients. Operations registered with Handle are for the
// agent's own user (root, SYSTEM) only; those registered with HandleUser
// are open to every local user, and their handlers scope what they do to
// the caller (CallerFrom). Operations and their bodies are in ops.go.
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
	"sync"
	"time"
	"unicode/utf8"
)

// SocketName is the socket's file name in the state directory.
const SocketName = "agent.sock"

// MaxMessage bounds one request or answer line.
const MaxMessage = 1 << 20

// Every connection may hold up to MaxMessage of memory while its request
// arrives, so the connections served at once are capped: MaxConns in all
// and MaxConnsPerCaller for one local user (uid or SID; the agent's own
// user is not capped per caller). Over a cap the connection is answered
// CodeBusy and closed at once.
const (
	MaxConns          = 64
	MaxConnsPerCaller = 8
)

// Op names an operation (ops.go).
type Op string

// Request is one call.
type Request struct {
	Op   Op              `json:"op"`
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
	// CodeForbidden: the caller may not do this (another user's ticket, a
	// fix above Tier 0, an administrator's operation).
	CodeForbidden = "forbidden"
	// CodeUnauthenticated: the agent could not tell who is calling, so it
	// does nothing.
	CodeUnauthenticated = "unauthenticated"
	// CodeBusy: too many connections at once, from this user or in all;
	// try again in a moment.
	CodeBusy = "busy"
	// CodeLimited: the caller (or this computer) asked for this more
	// often than the agent's limits allow; the message says when it can
	// ask again.
	CodeLimited = "limited"
)

// Caller is who is on the other end of a connection, as the operating
// system says.
type Caller struct {
	// UID is the caller's numeric user id (-1 on Windows).
	UID int `json:"uid"`
	// SID is the caller's security identifier (Windows only).
	SID string `json:"sid,omitempty"`
	// User is the caller's user name (the uid as text when it has none).
	User string `json:"user"`
	PID  int    `json:"pid"`
	// Privileged: the caller is the agent's own user (root) or, on
	// Windows, SYSTEM or an elevated administrator. It may do everything.
	Privileged bool `json:"privileged"`
}

type callerKey struct{}

// CallerFrom returns the caller of the request ctx belongs to. ok is false
// outside a request: treat that as an unprivileged caller with no name.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// WithCaller returns ctx carrying c, for handlers called in-process.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// Handler answers one operation; body is the request's body. The caller
// is CallerFrom(ctx).
type Handler func(ctx context.Context, body json.RawMessage) (any, error)

// Error is an error with a code for the caller. Handlers return it (or
// wrap it) to answer with a code other than "failed".
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Forbidden is the error for a caller asking for more than it may.
func Forbidden(format string, args ...any) error {
	return &Error{Code: CodeForbidden, Message: fmt.Sprintf(format, args...)}
}

// Limited is the error for a caller over one of the agent's limits.
func Limited(format string, args ...any) error {
	return &Error{Code: CodeLimited, Message: fmt.Sprintf(format, args...)}
}

// BadRequest is the error for a request whose body is wrong.
func BadRequest(format string, args ...any) error {
	return &Error{Code: CodeBadRequest, Message: fmt.Sprintf(format, args...)}
}

type route struct {
	h       Handler
	anyUser bool
}

// Server serves the socket.
type Server struct {
	path string
	ln   net.Listener
	log  *slog.Logger
	ops  map[Op]route
	wg   sync.WaitGroup
	// identify says who is on the other end of c.
	identify func(c net.Conn) (Caller, error)
	cleanup  func()

	// maxConns and maxPerCaller are the caps (MaxConns,
	// MaxConnsPerCaller); conns and perCaller count what is served.
	maxConns, maxPerCaller int
	mu                     sync.Mutex
	conns                  int
	perCaller              map[string]int
}

// Listen creates the socket (or named pipe) at path: replacing a stale
// socket, refusing one another agent is serving. See the package comment
// for who may connect.
func Listen(path string, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{path: path, log: log, ops: map[Op]route{},
		maxConns: MaxConns, maxPerCaller: MaxConnsPerCaller, perCaller: map[string]int{}}
	if err := s.listen(); err != nil {
		return nil, err
	}
	return s, nil
}

// Path is where the server listens.
func (s *Server) Path() string { return s.path }

// Handle registers an operation for the agent's own user (root or SYSTEM)
// only; anyone else is answered "forbidden". Call before Serve.
func (s *Server) Handle(op Op, h Handler) { s.ops[op] = route{h: h} }

// HandleUser registers an operation every local user may call. The
// handler must scope what it does to CallerFrom(ctx). Call before Serve.
func (s *Server) HandleUser(op Op, h Handler) { s.ops[op] = route{h: h, anyUser: true} }

// Serve accepts connections until ctx ends, then removes the socket.
func (s *Server) Serve(ctx context.Context) {
	go func() {
		<-ctx.Done()
		s.ln.Close()
	}()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if ctx.Err() == nil && isTemporary(err) {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			break
		}
		if !s.admit() {
			s.refuseBusy(c, "the agent is busy with too many local requests at once; try again in a moment")
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.release()
			s.serveConn(ctx, c)
		}()
	}
	s.wg.Wait()
	if s.cleanup != nil {
		s.cleanup()
	}
}

// admit counts a new connection, or reports false when MaxConns are
// being served already.
func (s *Server) admit() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns >= s.maxConns {
		return false
	}
	s.conns++
	return true
}

func (s *Server) release() {
	s.mu.Lock()
	s.conns--
	s.mu.Unlock()
}

// admitCaller counts a connection of who, or reports false when who has
// MaxConnsPerCaller connections already. done uncounts it.
func (s *Server) admitCaller(who Caller) (done func(), ok bool) {
	if who.Privileged {
		return func() {}, true
	}
	key := who.SID
	if key == "" {
		key = fmt.Sprintf("uid:%d", who.UID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perCaller[key] >= s.maxPerCaller {
		return nil, false
	}
	s.perCaller[key]++
	return func() {
		s.mu.Lock()
		if s.perCaller[key]--; s.perCaller[key] <= 0 {
			delete(s.perCaller, key)
		}
		s.mu.Unlock()
	}, true
}

// refuseBusy answers c "busy" without reading its request, and closes it.
// The answer is one short line into an empty socket buffer, so the write
// does not wait on the client; the deadline is a backstop.
func (s *Server) refuseBusy(c net.Conn, msg string) {
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	writeResponse(c, Response{Error: msg, Code: CodeBusy})
	c.Close()
}

func isTemporary(err error) bool {
	var ne interface{ Temporary() bool }
	return errors.As(err, &ne) && ne.Temporary()
}

func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Minute))
	who, err := s.identify(c)
	if err != nil {
		s.log.Warn("local connection refused: the caller could not be identified", "err", err)
		writeResponse(c, Response{Error: "the agent could not tell which user is calling, so it does nothing: " + err.Error(),
			Code: CodeUnauthenticated})
		return
	}
	done, ok := s.admitCaller(who)
	if !ok {
		s.log.Warn("local connection refused: too many at once from one user", "user", who.User, "uid", who.UID, "pid", who.PID)
		s.refuseBusy(c, fmt.Sprintf("too many requests at once from user %s (at most %d); try again when one has finished", who.User, s.maxPerCaller))
		return
	}
	defer done()
	// The request must arrive promptly; the answer may take as long as a
	// fix does.
	_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
	line, err := readLine(c)
	if err != nil {
		code := CodeBadRequest
		if errors.Is(err, errTooLarge) {
			code = CodeTooLarge
		}
		writeResponse(c, Response{Error: err.Error(), Code: code})
		return
	}
	req, err := decodeRequest(line)
	if err != nil {
		writeResponse(c, Response{Error: err.Error(), Code: CodeBadRequest})
		return
	}
	rt, ok := s.ops[req.Op]
	if !ok {
		writeResponse(c, Response{Error: fmt.Sprintf("unknown operation %q (see agent/localipc/ops.go for the operations)", clip(string(req.Op))),
			Code: CodeUnknownOp})
		return
	}
	if !rt.anyUser && !who.Privileged {
		s.log.Warn("local request refused: administrators only", "op", req.Op, "user", who.User, "uid", who.UID, "pid", who.PID)
		writeResponse(c, Response{Error: fmt.Sprintf("%q is for the device's administrator only; user %s may not call it", req.Op, who.User),
			Code: CodeForbidden})
		return
	}
	out, err := rt.h(WithCaller(ctx, who), req.Body)
	if err != nil {
		code := CodeFailed
		var e *Error
		if errors.As(err, &e) {
			code = e.Code
		}
		s.log.Info("local request refused", "op", req.Op, "user", who.User, "uid", who.UID, "code", code, "err", err)
		writeResponse(c, Response{Error: err.Error(), Code: code})
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		writeResponse(c, Response{Error: "could not encode the answer", Code: CodeFailed})
		return
	}
	if len(b) > MaxMessage-64 {
		writeResponse(c, Response{Error: "the answer is larger than the local socket's limit", Code: CodeTooLarge})
		return
	}
	writeResponse(c, Response{Body: b})
}

// decodeRequest parses one request line.
func decodeRequest(line []byte) (Request, error) {
	var req Request
	if err := json.Unmarshal(line, &req); err != nil {
		return Request{}, fmt.Errorf("request is not a JSON object {\"op\": ..., \"body\": ...}: %v", err)
	}
	if req.Op == "" {
		return Request{}, errors.New(`request has no "op"`)
	}
	return req, nil
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

// RemoteError is a refusal from the agent.
type RemoteError struct{ Code, Message string }

func (e *RemoteError) Error() string { return e.Message }

// ErrorCode is the code of the agent's refusal in err (one of the Code
// constants), "" when err is not a refusal.
func ErrorCode(err error) string {
	var re *RemoteError
	if errors.As(err, &re) {
		return re.Code
	}
	return ""
}

// Cut returns s cut to at most n bytes without splitting a UTF-8
// character.
func Cut(s string, n int) string {
	if n < 0 {
		n = 0
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Clip shortens s for a message: cut to at most n bytes on a character
// boundary, with "…" marking the cut.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return Cut(s, n) + "…"
}

func clip(s string) string { return Clip(s, 64) }
