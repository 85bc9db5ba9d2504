package spool

import (
	"errors"
	"log/slog"
	"sync"

	"github.com/tierline/tierline/shared/wire"
)

// Mem is an in-memory Spool (no durability), used by fleetsim and tests.
type Mem struct {
	mu       sync.Mutex
	maxBytes int64
	log      *slog.Logger
	entries  []Entry
	bytes    int64
	lastSeq  uint64
	dropped  uint64
	closed   bool
}

// NewMem returns an in-memory spool capped at maxBytes (0: DefaultMaxBytes).
func NewMem(maxBytes int64, log *slog.Logger) *Mem {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Mem{maxBytes: maxBytes, log: log}
}

var errClosed = errors.New("spool is closed")

// Append implements Spool.
func (m *Mem) Append(t wire.Type, build BuildFunc) (Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Entry{}, errClosed
	}
	seq, err := nextSeq(m.lastSeq)
	if err != nil {
		return Entry{}, err
	}
	frame, err := build(seq)
	if err != nil {
		return Entry{}, err
	}
	e := Entry{Seq: seq, Type: t, Frame: frame}
	m.lastSeq = seq
	m.entries = append(m.entries, e)
	m.bytes += int64(len(frame))
	m.enforceCap()
	return e, nil
}

func (m *Mem) enforceCap() {
	if m.bytes <= m.maxBytes {
		return
	}
	kept := m.entries[:0]
	var dropped uint64
	for i, e := range m.entries {
		if m.bytes > m.maxBytes && Droppable(e.Type) && i < len(m.entries)-1 {
			m.bytes -= int64(len(e.Frame))
			dropped++
			continue
		}
		kept = append(kept, e)
	}
	clear(m.entries[len(kept):])
	m.entries = kept
	m.dropped += dropped
	if m.bytes > m.maxBytes {
		m.log.Warn("spool is over its cap with only undroppable entries left", "bytes", m.bytes, "max_bytes", m.maxBytes)
	}
}

// After implements Spool.
func (m *Mem) After(after uint64, max int) ([]Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Entry
	for _, e := range m.entries {
		if e.Seq > after {
			out = append(out, e)
			if len(out) >= max {
				break
			}
		}
	}
	return out, nil
}

// Ack implements Spool.
func (m *Mem) Ack(seq uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for n < len(m.entries) && m.entries[n].Seq <= seq {
		m.bytes -= int64(len(m.entries[n].Frame))
		n++
	}
	if n > 0 {
		rest := copy(m.entries, m.entries[n:])
		clear(m.entries[rest:])
		m.entries = m.entries[:rest]
	}
	return nil
}

// Advance implements Spool.
func (m *Mem) Advance(seq uint64) error {
	if err := checkAdvance(seq); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if seq > m.lastSeq {
		m.lastSeq = seq
	}
	return nil
}

// Stats implements Spool.
func (m *Mem) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Stats{Depth: len(m.entries), Bytes: m.bytes, LastSeq: m.lastSeq, Dropped: m.dropped}
}

// Close implements Spool.
func (m *Mem) Close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	return nil
}
