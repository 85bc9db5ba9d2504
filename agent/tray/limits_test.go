package tray

import (
	"strings"
	"testing"

	"github.com/tierline/tierline/agent/localipc"
)

// TestFixLimitIsShown: the agent refuses a fix because the user is over
// their limit; the tray's notification gives the agent's words, which say
// when the user can run one again.
func TestFixLimitIsShown(t *testing.T) {
	f := newTrayFixture(t)
	const refusal = "You have run fixes yourself as often as one person may on this computer (30 an hour). " +
		"You can run one again at 10:42 (in 12 minutes); if the problem remains, use Get help."
	f.agent.set(func(a *fakeAgent) { a.runErr = localipc.Limited("%s", refusal) })
	f.app.runFix(localipc.Fix{ID: "flush-dns", Title: "Flush DNS cache", Applicable: true})
	got := f.note.take()
	if len(got) != 2 || got[1].Title != "Flush DNS cache did not run" || !strings.Contains(got[1].Body, "You can run one again at 10:42") {
		t.Fatalf("notified %+v", got)
	}
}
