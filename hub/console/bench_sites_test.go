package console

import (
	"context"
	"strings"
	"testing"

	"github.com/tierline/tierline/hub/store"
)

// TestQueueUsesIndexSiteLimited: a technician limited to sites gets the
// queue from the same index walk as one of every site.
func TestQueueUsesIndexSiteLimited(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 100,000 tickets")
	}
	st := benchStore(t)
	ctx := store.WithSites(context.Background(), []string{store.DefaultSite, "other"})
	for _, f := range []store.QueueFilter{{Tier: 1}, {Tier: 2, State: store.TicketOpen}} {
		plan, err := st.ExplainQueue(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		all := strings.Join(plan, "\n")
		if !strings.Contains(all+" ", "tickets_console_queue ") || strings.Contains(all, "TEMP B-TREE FOR ORDER BY") {
			t.Errorf("site-limited queue %+v does not run on the index:\n%s", f, all)
		}
	}
}
