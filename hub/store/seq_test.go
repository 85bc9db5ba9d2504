package store_test

import (
	"errors"
	"math"
	"testing"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// TestIngestRefusesSeqJump: a message numbered far above the device's
// last (2^64-1, or more than wire.MaxSeqJump above) is refused with
// ErrSeqJump and not stored; the device's next honest message is.
// Before, 2^64-1 was stored and every later message was a duplicate.
func TestIngestRefusesSeqJump(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		enroll(t, s, "d1", "alpha")
		ok := diag.CheckResult{Name: "disk-space", Status: diag.StatusOK, Time: t0}
		mustIngest(t, s, healthItem("d1", 1, t0, ok))
		for _, seq := range []uint64{math.MaxUint64, wire.MaxSeq, 1 + wire.MaxSeqJump + 1} {
			res := mustIngest(t, s, healthItem("d1", seq, t0, ok))
			if !errors.Is(res[0].Err, store.ErrSeqJump) {
				t.Fatalf("seq %d: result %+v, want ErrSeqJump", seq, res[0])
			}
		}
		res := mustIngest(t, s, healthItem("d1", 2, t0, ok), healthItem("d1", 1+wire.MaxSeqJump, t0, ok))
		for i, r := range res {
			if r.Err != nil || r.Duplicate {
				t.Fatalf("honest message %d: %+v", i, r)
			}
		}
		d, err := s.GetDevice(ctx, "d1")
		if err != nil {
			t.Fatal(err)
		}
		if d.LastSeq != 1+wire.MaxSeqJump {
			t.Fatalf("last seq %d, want %d", d.LastSeq, 1+wire.MaxSeqJump)
		}
	})
}
