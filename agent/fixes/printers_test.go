package fixes

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tierline/tierline/agent/execx"
)

// lpstatExec answers `lpstat -p` with out and records the other commands.
type lpstatExec struct {
	out   string
	calls []string
}

func (e *lpstatExec) Run(_ context.Context, c execx.Cmd) (execx.Result, error) {
	if c.Argv[0] == "lpstat" {
		return execx.Result{Argv: c.Argv, Output: e.out}, nil
	}
	e.calls = append(e.calls, strings.Join(c.Argv, " "))
	return execx.Result{Argv: slices.Clone(c.Argv)}, nil
}

func (e *lpstatExec) Do(context.Context, Action) ActionResult { return ActionResult{} }

func TestResumePrinters(t *testing.T) {
	ex := &lpstatExec{out: "printer hp now printing hp-41.  enabled since Sun Dec  6 03:55:12 2026\n" +
		"\tWaiting for printer to become available.\n" +
		"printer lab disabled since Sun Dec  6 02:00:00 2026 -\n\tPaused\n" +
		"printer office is idle.  enabled since Sun Dec  6 03:10:00 2026\n" +
		"printer 4th-floor disabled since Sun Dec  6 01:00:00 2026 -\n\treason unknown\n" +
		"printer front is idle.  enabled since Sun Dec  6 03:10:00 2026\n\tMoving to the 3rd floor\n" +
		"hp accepting requests since Sun Dec  6 03:55:12 2026\n" +
		"lab not accepting requests since Sun Dec  6 02:00:00 2026 -\n\tRejecting Jobs\n" +
		"front not accepting requests since Sun Dec  6 03:10:00 2026 -\n\tMoving to the 3rd floor\n"}
	got := resumePrinters(context.Background(), ex)
	if got.Err != nil || got.NotApplicable != "" || got.Output != "resumed lab\nresumed 4th-floor\nresumed front" {
		t.Fatalf("%+v", got)
	}
	want := []string{"cupsenable lab", "cupsaccept lab", "cupsenable 4th-floor", "cupsaccept 4th-floor", "cupsenable front", "cupsaccept front"}
	if diff := cmp.Diff(want, ex.calls); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
	none := &lpstatExec{out: "printer office is idle.  enabled since Sun Dec  6 03:10:00 2026\n"}
	if got := resumePrinters(context.Background(), none); got.NotApplicable == "" || len(none.calls) != 0 {
		t.Errorf("nothing stopped: %+v %v", got, none.calls)
	}
}
