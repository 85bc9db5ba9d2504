package health

import (
	"context"
	"testing"

	"github.com/tierline/tierline/shared/diag"
)

// TestTimeSyncReadsKernel asks this machine's kernel: whatever its state,
// the check knows it and says where it looked.
func TestTimeSyncReadsKernel(t *testing.T) {
	got := checkTimeSync(context.Background(), &syncReader{read: readTimeSync})
	if got.Status == diag.StatusUnknown || !hasEvidence(got, "kernel", "maximum error") {
		t.Fatalf("%+v", got)
	}
	t.Logf("%s: %s %+v", got.Status, got.Summary, got.Evidence)
}
