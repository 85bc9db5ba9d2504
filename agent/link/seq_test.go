package link

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/tierline/tierline/agent/spool"
	"github.com/tierline/tierline/shared/wire"
)

// TestHostileWelcomeLastSeqRefused: a hub whose welcome says the device's
// last message was numbered at the top (2^64-1, or just under the highest
// the protocol uses) is not followed: the agent does not connect, says
// why, keeps its messages spooled and numbers the next one after its own.
// Before, it advanced to 2^64-1, its next message wrapped to 0 and the hub
// dropped everything that followed as duplicates.
func TestHostileWelcomeLastSeqRefused(t *testing.T) {
	for _, last := range []uint64{math.MaxUint64, wire.MaxSeq - 10} {
		pub, priv := newKey(t)
		h := newFakeHub(t, pub)
		h.last = last
		sp, err := spool.Open(t.TempDir(), spool.Options{})
		if err != nil {
			t.Fatal(err)
		}
		a := startAgent(t, h, priv, sp, nil)
		if _, err := a.link.Send(context.Background(), telemetry()); err != nil {
			t.Fatal(err)
		}
		waitState(t, a.link, func(s State) bool { return s.Failures >= 2 })
		st := a.link.State()
		if st.Connected || st.Connects != 0 || !strings.Contains(st.LastError, "last_seq") && !strings.Contains(st.LastError, "too close to the highest") {
			t.Fatalf("hub's last_seq %d: state %+v; want refused with a reason", last, st)
		}
		a.stop(t)
		if ss := sp.Stats(); ss.LastSeq != 1 || ss.Depth != 1 {
			t.Fatalf("hub's last_seq %d: spool %+v, want the one message kept under seq 1", last, ss)
		}
		seq, err := a.link.Send(context.Background(), telemetry())
		if err != nil || seq != 2 {
			t.Fatalf("hub's last_seq %d: next seq %d, %v; want 2", last, seq, err)
		}
		h.mu.Lock()
		got := len(h.stored)
		h.mu.Unlock()
		if got != 0 {
			t.Fatalf("hub's last_seq %d: the agent sent %d messages to it", last, got)
		}
	}
}
