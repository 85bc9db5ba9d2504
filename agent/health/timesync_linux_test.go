package health

import (
	"context"
	"testing"

	"github.com/tierline/tierline/shared/diag"
)

// TestTimeSyncReadsKernel asks this machine's kernel: whatever its state,
// the check says what the kernel said (unknown only when the kernel is
// unsynchronised and no time service answers, as in a container).
func TestTimeSyncReadsKernel(t *testing.T) {
	got := checkTimeSync(context.Background(), &syncReader{read: readTimeSync})
	if got.Status == diag.StatusFailing || !hasEvidence(got, "kernel", "maximum error") {
		t.Fatalf("%+v", got)
	}
	t.Logf("%s: %s %+v", got.Status, got.Summary, got.Evidence)
}
