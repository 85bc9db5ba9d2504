package spool

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tierline/tierline/shared/wire"
)

// TestAdvanceRefusesTheTop: a hub that says the device is at (or near)
// the top of the sequence numbers is not followed; the next message still
// gets the next number after the spool's own.
func TestAdvanceRefusesTheTop(t *testing.T) {
	for name, mk := range kinds(t) {
		t.Run(name, func(t *testing.T) {
			s := mk(t.TempDir(), 0)
			s.Append(wire.TypeTelemetry, frame(1))
			for _, seq := range []uint64{math.MaxUint64, math.MaxUint64 - 1, wire.MaxSeq, MaxAdvance + 1} {
				if err := s.Advance(seq); !errors.Is(err, ErrSeqTooHigh) {
					t.Errorf("Advance(%d) = %v, want ErrSeqTooHigh", seq, err)
				}
			}
			if e, err := s.Append(wire.TypeTelemetry, frame(1)); err != nil || e.Seq != 2 {
				t.Fatalf("after refused advances: seq %d, %v; want 2", e.Seq, err)
			}
			if err := s.Advance(MaxAdvance); err != nil {
				t.Fatalf("Advance(MaxAdvance): %v", err)
			}
			if e, err := s.Append(wire.TypeTelemetry, frame(1)); err != nil || e.Seq != MaxAdvance+1 {
				t.Fatalf("seq %d, %v; want %d", e.Seq, err, MaxAdvance+1)
			}
		})
	}
}

// TestAppendNeverWraps: a spool whose last seq is the highest (an agent
// that followed a hostile hub before this check) refuses to number
// another message rather than wrap to 0, which the hub would take as a
// duplicate of its first message, and every later one likewise.
func TestAppendNeverWraps(t *testing.T) {
	for _, last := range []uint64{wire.MaxSeq, math.MaxUint64} {
		dir := t.TempDir()
		meta := []byte(`{"last_seq":` + strconv.FormatUint(last, 10) + `,"dropped":0}`)
		if err := os.WriteFile(filepath.Join(dir, metaFile), meta, 0o600); err != nil {
			t.Fatal(err)
		}
		d := openDisk(t, dir, 0)
		e, err := d.Append(wire.TypeTelemetry, frame(1))
		if !errors.Is(err, ErrSeqExhausted) {
			t.Fatalf("last seq %d: Append gave seq %d, err %v; want ErrSeqExhausted", last, e.Seq, err)
		}
		if st := d.Stats(); st.LastSeq != last || st.Depth != 0 {
			t.Fatalf("last seq %d: spool now %+v", last, st)
		}
	}
}
