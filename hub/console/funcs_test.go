package console

import (
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
)

// {{ago}} counts from the console's clock, as the rest of the page does,
// not from the machine's.
func TestAgoUsesConsoleClock(t *testing.T) {
	tc := newTestConsole(t)
	tk := tc.fileTicket(t, "pc-1", "printer jammed")
	tc.clock.Add(50 * time.Hour)
	cl := tc.login(t, store.RoleTier1)
	_, page := tc.get(t, cl, "/tickets/"+tk.ID)
	if !strings.Contains(page, "filed 2d ago") {
		t.Fatalf("ticket filed 50h before the console's clock does not say \"filed 2d ago\":\n%s", page)
	}
}
