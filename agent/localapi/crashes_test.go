package localapi

import (
	"context"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/health"
	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/shared/diag"
)

type crashList []diag.AppCrashes

func (c crashList) Recent(context.Context) []diag.AppCrashes { return c }

// TestDiagnoseSaysWhatCrashed: the diagnosis the Get help page shows
// names the applications that crashed, in the user's words.
func TestDiagnoseSaysWhatCrashed(t *testing.T) {
	f := newOpsFixture(t)
	f.ops.checks = health.NewRunnerOf(time.Second)
	last := time.Now().UTC().Add(-time.Hour)
	// Most events first, as the record lists them; the page gets the
	// most recent first.
	var many crashList
	for range localipc.MaxDiagnosisCrashes + 3 {
		many = append(many, diag.AppCrashes{App: "other", Crashes: 5, Today: 5, Last: last.Add(-time.Hour)})
	}
	many = append(many, diag.AppCrashes{App: "OUTLOOK.EXE", Version: "16.0", Crashes: 4, Today: 4, Last: last, LastKind: "crash", Reason: "0xc0000005"})
	f.ops.crashes = many
	ctx, c := f.client(t)
	d, err := c.Diagnose(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Crashes) != localipc.MaxDiagnosisCrashes {
		t.Fatalf("%d crashes, want %d", len(d.Crashes), localipc.MaxDiagnosisCrashes)
	}
	got := d.Crashes[0]
	if got.Says != "Outlook crashed 4 times today" || got.App != "Outlook" || got.Crashes != 4 || !got.Last.Equal(last) {
		t.Fatalf("crash: %+v", got)
	}
	f.ops.crashes = nil
	if d, err := c.Diagnose(ctx); err != nil || d.Crashes == nil || len(d.Crashes) != 0 {
		t.Fatalf("no crash record: %+v, %v", d, err)
	}
}
