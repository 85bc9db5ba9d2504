package localapi

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/ratelimit"
	"github.com/tierline/tierline/shared/wire"
)

// TestLocalFixRunsLimitedPerUser: a local user past --fix-limit is
// refused with the time they can run one again, and nothing more reaches
// the executor; another user has a budget of their own; the administrator
// is not limited.
func TestLocalFixRunsLimitedPerUser(t *testing.T) {
	f := newOpsFixture(t)
	f.ops.fixRuns = ratelimit.NewKeyed(ratelimit.Limit{N: 3, Per: time.Hour})
	ctx := context.Background()
	run := func(who localipc.Caller) (wire.RunResult, error) {
		return f.ops.run(localipc.WithCaller(ctx, who), who, localipc.RunCall{Fix: catalog.FlushDNS})
	}
	bob := localipc.Caller{UID: 1001, User: "bob"}
	for i := range 3 {
		if res, err := run(bob); err != nil || res.Outcome == wire.OutcomeRefused {
			t.Fatalf("bob's run %d: %+v %v", i+1, res, err)
		}
	}
	before := f.exec.ran()
	for range 50 {
		_, err := run(bob)
		var le *localipc.Error
		if !errors.As(err, &le) || le.Code != localipc.CodeLimited || !strings.Contains(le.Message, "3 an hour") ||
			!strings.Contains(le.Message, "You can run one again at") {
			t.Fatalf("bob over the limit: %v", err)
		}
	}
	if after := f.exec.ran(); after != before {
		t.Fatalf("refused runs reached the executor:\n%s\nthen\n%s", before, after)
	}
	if _, err := run(localipc.Caller{UID: 1002, User: "alice"}); err != nil {
		t.Fatalf("alice limited by bob's runs: %v", err)
	}
	for range 5 {
		if _, err := run(localipc.Caller{UID: 0, User: "root", Privileged: true}); err != nil {
			t.Fatalf("the administrator limited: %v", err)
		}
	}
}
