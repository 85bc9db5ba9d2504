// Package spool is the agent's durable outbox of sequenced messages.
//
// Every sequenced message is written to the spool (file and directory
// fsynced) before it is sent, and removed only when the hub acknowledges it.
// Sequence numbers are assigned by the spool and are strictly increasing for
// the life of the device, across restarts.
//
// When the spool grows past its byte cap, the oldest telemetry entries are
// dropped (and counted); other message types are never dropped.
package spool

import (
	"errors"
	"fmt"

	"github.com/tierline/tierline/shared/wire"
)

// DefaultMaxBytes is the default size cap of a spool.
const DefaultMaxBytes = 64 << 20

// Entry is one spooled message.
type Entry struct {
	Seq   uint64
	Type  wire.Type
	Frame []byte
}

// BuildFunc encodes the frame of a message once its sequence number is known.
type BuildFunc func(seq uint64) ([]byte, error)

// Spool is the outbox contract shared by the disk and memory spools.
// Implementations are safe for concurrent use.
type Spool interface {
	// Append assigns the next sequence number, builds the frame and stores
	// it durably before returning.
	Append(t wire.Type, build BuildFunc) (Entry, error)
	// After returns up to max entries with seq > after, in order.
	After(after uint64, max int) ([]Entry, error)
	// Ack removes every entry with seq <= seq.
	Ack(seq uint64) error
	// Advance makes sure the next assigned seq is greater than seq (used
	// when the hub reports a LastSeq above ours, e.g. after a state restore).
	// It refuses (ErrSeqTooHigh) a seq above MaxAdvance.
	Advance(seq uint64) error
	// Stats reports the spool's current state.
	Stats() Stats
	// Close releases the spool.
	Close() error
}

// Stats describes a spool.
type Stats struct {
	Depth   int    // entries waiting for an ack
	Bytes   int64  // bytes of those entries' frames
	LastSeq uint64 // highest seq ever assigned
	Dropped uint64 // telemetry entries dropped because of the cap, ever
	Corrupt uint64 // damaged entries found and removed since open
}

// Droppable reports whether entries of type t may be dropped when the spool
// is over its cap: only telemetry is.
func Droppable(t wire.Type) bool { return t == wire.TypeTelemetry }

// MaxAdvance is the highest seq Advance accepts: near the top of the
// sequence numbers (wire.MaxSeq), only a damaged or hostile hub would say
// the device got there, and following it would leave too few numbers to
// go on with.
const MaxAdvance = wire.MaxSeq - wire.MaxSeqJump

// ErrSeqExhausted: every sequence number up to wire.MaxSeq has been
// assigned. The spool never wraps to 0 (the hub would drop every later
// message as a duplicate); the device must be enrolled again.
var ErrSeqExhausted = fmt.Errorf("spool: the device has used every sequence number up to %d; enroll it again", wire.MaxSeq)

// ErrSeqTooHigh: Advance was asked to go above MaxAdvance.
var ErrSeqTooHigh = errors.New("spool: sequence number too close to the highest")

// nextSeq is the seq after last, refusing to wrap.
func nextSeq(last uint64) (uint64, error) {
	if last >= wire.MaxSeq {
		return 0, ErrSeqExhausted
	}
	return last + 1, nil
}

// checkAdvance refuses a seq Advance must not take.
func checkAdvance(seq uint64) error {
	if seq > MaxAdvance {
		return fmt.Errorf("%w: %d is above %d (the highest, %d, less %d kept free); refusing to advance", ErrSeqTooHigh, seq, MaxAdvance, wire.MaxSeq, wire.MaxSeqJump)
	}
	return nil
}
