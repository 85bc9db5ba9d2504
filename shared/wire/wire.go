// Package wire is the protocol spoken between tierline-agent and tierline-hub.
//
// Every frame on the agent WebSocket is one JSON Envelope. Both ends check a
// frame's size before decoding it, reject protocol versions and message types
// they do not know with an Error frame, and never panic on bad input.
package wire

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Version is the protocol version carried in every envelope.
//
// History (one line per bump):
//
//	1 (2026-11-23): first version: challenge/hello/welcome, telemetry, inventory, health, ack, error,
//	  check_request, run_request/run_result, the agent's fix list in hello, help_request/help_receipt,
//	  ticket_update, user_reply, survey_answer, help_session, kb_query/kb_results.
const Version = 1

// Subprotocol is the WebSocket subprotocol both ends negotiate.
const Subprotocol = "tierline.v1"

// ConnectPath is the hub's agent WebSocket endpoint.
const ConnectPath = "/agent/v1/connect"

// EnrollPath is the hub's enrollment endpoint (HTTPS POST of EnrollRequest).
const EnrollPath = "/agent/v1/enroll"

// Size limits, checked before any decoding.
const (
	// MaxFrameSize bounds one WebSocket frame in either direction.
	MaxFrameSize = 4 << 20
	// MaxEnrollSize bounds an enrollment request or response body.
	MaxEnrollSize = 64 << 10
)

// Sequence number bounds. Sequence numbers count up from 1 for the life of
// a device; neither end ever wraps to 0, or the hub would take every later
// message as a duplicate of one it has.
const (
	// MaxSeq is the highest sequence number either end accepts: the hub's
	// stores keep it in a signed 64-bit column. Decode refuses a frame
	// above it (CodeBadSeq), and Welcome a last_seq above it.
	MaxSeq uint64 = 1<<63 - 1
	// MaxSeqJump is how far above a device's last stored sequence number
	// the hub accepts a message (an agent numbers 1, 2, 3, ...; gaps come
	// only from messages that were never stored). The agent also keeps
	// this many numbers below MaxSeq free: it refuses to advance (to a
	// hub's last_seq) past MaxSeq-MaxSeqJump.
	MaxSeqJump uint64 = 1 << 32
)

// Type names a message kind.
type Type string

// Message types. Agent-to-hub messages that matter carry a sequence number,
// are spooled durably by the agent and acknowledged by the hub.
const (
	TypeChallenge Type = "challenge" // hub → agent, first frame
	TypeHello     Type = "hello"     // agent → hub, answer to the challenge
	TypeWelcome   Type = "welcome"   // hub → agent, authentication accepted
	TypeTelemetry Type = "telemetry" // agent → hub, sequenced
	TypeInventory Type = "inventory" // agent → hub, sequenced
	TypeHealth    Type = "health"    // agent → hub, sequenced
	TypeAck       Type = "ack"       // hub → agent, cumulative acknowledgement
	TypeError     Type = "error"     // either way
	// TypeCheckRequest asks the agent to run health checks now; it answers
	// with a Health message carrying the request id.
	TypeCheckRequest Type = "check_request" // hub → agent
	// TypeRunRequest asks the agent to run one catalog fix; it answers
	// with a sequenced RunResult carrying the run id.
	TypeRunRequest Type = "run_request" // hub → agent
	TypeRunResult  Type = "run_result"  // agent → hub, sequenced
)

// Envelope is the frame around every message.
type Envelope struct {
	V    int    `json:"v"`
	Type Type   `json:"type"`
	ID   string `json:"id"`
	Seq  uint64 `json:"seq,omitempty"`
	// Time is the sender's clock when it encoded the frame. Since
	// 2026-12-06 the agent measures the hub's clock offset from the Time of
	// each ack while connected (before, only from Welcome.HubTime at
	// connect); the field was always sent, so the version is unchanged.
	Time time.Time       `json:"time"`
	Body json.RawMessage `json:"body,omitempty"`
}

// Body is implemented by every typed message body.
type Body interface {
	// Type is the envelope type this body travels under.
	Type() Type
	// Validate reports whether the decoded body is well formed.
	Validate() error
}

// Error codes carried in Error bodies and returned by Decode.
const (
	CodeTooLarge           = "too_large"
	CodeBadFrame           = "bad_frame"
	CodeUnsupportedVersion = "unsupported_version"
	CodeUnknownType        = "unknown_type"
	CodeBadBody            = "bad_body"
	CodeUnauthorized       = "unauthorized"
	CodeRevoked            = "revoked"
	CodeUnexpected         = "unexpected"
	CodeInternal           = "internal"
	// CodeBadSeq: a sequence number above MaxSeq, or more than MaxSeqJump
	// above the device's last one. The message is not stored.
	CodeBadSeq = "bad_seq"
	// CodeRateLimited: the device sent more messages of this type than
	// its budget on the hub allows; this one was refused (and is
	// acknowledged, so it is not sent again). The message says when the
	// next is accepted.
	CodeRateLimited = "rate_limited"
)

// ProtocolError is a protocol violation with a stable code and a message
// that is safe to send to the peer.
type ProtocolError struct {
	Code    string
	Message string
}

func (e *ProtocolError) Error() string { return e.Code + ": " + e.Message }

// Errorf makes a ProtocolError.
func Errorf(code, format string, args ...any) *ProtocolError {
	return &ProtocolError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the protocol code of err, or CodeInternal.
func CodeOf(err error) string {
	var pe *ProtocolError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return CodeInternal
}

var bodyTypes = map[Type]func() Body{}

func register(f func() Body) {
	t := f().Type()
	if _, dup := bodyTypes[t]; dup {
		panic("wire: duplicate body type " + string(t))
	}
	bodyTypes[t] = f
}

// Known reports whether t is a message type of this protocol version.
func Known(t Type) bool {
	_, ok := bodyTypes[t]
	return ok
}

// NewID returns a random 128-bit identifier in hex.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("wire: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// Encode builds a frame for body. seq is 0 for unsequenced messages.
func Encode(id string, seq uint64, t time.Time, body Body) ([]byte, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode %s body: %w", body.Type(), err)
	}
	frame, err := json.Marshal(Envelope{V: Version, Type: body.Type(), ID: id, Seq: seq, Time: t.UTC(), Body: raw})
	if err != nil {
		return nil, fmt.Errorf("encode %s envelope: %w", body.Type(), err)
	}
	if len(frame) > MaxFrameSize {
		return nil, Errorf(CodeTooLarge, "%s frame is %d bytes, limit %d", body.Type(), len(frame), MaxFrameSize)
	}
	return frame, nil
}

// Decode checks a frame's size, version and type, and returns its envelope.
// The body is left raw; DecodeBody types and validates it.
func Decode(frame []byte) (Envelope, error) {
	var env Envelope
	if len(frame) > MaxFrameSize {
		return env, Errorf(CodeTooLarge, "frame is %d bytes, limit %d", len(frame), MaxFrameSize)
	}
	dec := json.NewDecoder(bytes.NewReader(frame))
	if err := dec.Decode(&env); err != nil {
		return Envelope{}, Errorf(CodeBadFrame, "frame is not a JSON envelope: %v", err)
	}
	if dec.More() {
		return Envelope{}, Errorf(CodeBadFrame, "trailing data after envelope")
	}
	if env.V != Version {
		return env, Errorf(CodeUnsupportedVersion, "protocol version %d is not supported; this side speaks version %d", env.V, Version)
	}
	if !Known(env.Type) {
		return env, Errorf(CodeUnknownType, "unknown message type %q", Clip(string(env.Type), 64))
	}
	if len(env.ID) > 64 {
		return env, Errorf(CodeBadFrame, "message id is longer than 64 bytes")
	}
	if env.Seq > MaxSeq {
		return env, Errorf(CodeBadSeq, "sequence number %d is above the highest this protocol uses (%d)", env.Seq, MaxSeq)
	}
	return env, nil
}

// DecodeBody decodes and validates the body of env as a T.
func DecodeBody[T Body](env Envelope) (T, error) {
	var body T
	if env.Type != body.Type() {
		return body, Errorf(CodeUnexpected, "expected a %s message, got %s", body.Type(), env.Type)
	}
	if len(env.Body) == 0 {
		return body, Errorf(CodeBadBody, "%s message has no body", env.Type)
	}
	if err := json.Unmarshal(env.Body, &body); err != nil {
		return body, Errorf(CodeBadBody, "%s body: %v", env.Type, err)
	}
	if err := body.Validate(); err != nil {
		return body, Errorf(CodeBadBody, "%s body: %v", env.Type, err)
	}
	return body, nil
}

// DecodeAny decodes and validates the body of env into the registered type.
func DecodeAny(env Envelope) (Body, error) {
	f, ok := bodyTypes[env.Type]
	if !ok {
		return nil, Errorf(CodeUnknownType, "unknown message type %q", Clip(string(env.Type), 64))
	}
	body := f()
	if len(env.Body) == 0 {
		return nil, Errorf(CodeBadBody, "%s message has no body", env.Type)
	}
	if err := json.Unmarshal(env.Body, body); err != nil {
		return nil, Errorf(CodeBadBody, "%s body: %v", env.Type, err)
	}
	if err := body.Validate(); err != nil {
		return nil, Errorf(CodeBadBody, "%s body: %v", env.Type, err)
	}
	return body, nil
}

// Clip shortens s to at most n bytes (never inside a character) and marks
// the cut with "…", for quoting untrusted text in errors and logs.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
