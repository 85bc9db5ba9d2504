//go:build linux

package e2e

import (
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// TestHubRefusesSeqJump: a device sends a telemetry frame numbered
// 2^64-1, then one 2^40 (far above its last); the hub refuses both with
// bad_seq, naming the number, counts them, stores neither, and the
// device's next honest message (1) is stored and acknowledged. Before,
// 2^64-1 was acknowledged and every later message dropped as a duplicate.
func TestHubRefusesSeqJump(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	d := connectRaw(t, h, false)
	tel := wire.Telemetry{Sample: diag.Sample{Time: time.Now()}}
	for _, seq := range []uint64{math.MaxUint64, 1 << 40} {
		sendFrame(t, d.conn, seq, tel)
		e := d.nextError(t)
		if e.Code != wire.CodeBadSeq || e.Seq != seq || !strings.Contains(e.Message, "sequence number") {
			t.Fatalf("seq %d: hub answered %+v, want %s for it", seq, e, wire.CodeBadSeq)
		}
	}
	sendFrame(t, d.conn, 1, tel)
	for deadline := time.Now().Add(15 * time.Second); ; {
		env := readEnvelope(t, d.conn)
		if env.Type == wire.TypeAck {
			a, err := wire.DecodeBody[wire.Ack](env)
			if err != nil || a.Seq != 1 {
				t.Fatalf("ack %+v %v, want 1", a, err)
			}
			break
		}
		if env.Type == wire.TypeError {
			t.Fatalf("honest message refused: %s", env.Body)
		}
		if time.Now().After(deadline) {
			t.Fatal("no ack for the honest message")
		}
	}
	var dev device
	if h.get("/api/v1/devices/"+d.id.DeviceID, &dev) != http.StatusOK || dev.LastSeq != 1 {
		t.Fatalf("device's last seq %d, want 1", dev.LastSeq)
	}
	waitMetrics(t, h, `tierline_agent_frame_errors_total{code="bad_seq"} 2`)
}

// nextError reads the hub's frames until an Error.
func (d *rawDevice) nextError(t *testing.T) wire.Error {
	t.Helper()
	for {
		env := readEnvelope(t, d.conn)
		if env.Type != wire.TypeError {
			continue
		}
		e, err := wire.DecodeBody[wire.Error](env)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
}
