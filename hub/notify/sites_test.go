package notify_test

import (
	"testing"

	"github.com/tierline/tierline/hub/notify"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/hub/tickets"
)

// TestNotifyKeepsToSites: a technician of site B is told (bell, email) of
// site B's tickets and never of another site's; one of every site of all.
func TestNotifyKeepsToSites(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, st *store.Store) {
		r := newRig(t, st)
		if err := st.SetUserSites(ctx, r.users["cy"].ID, []string{"B"}); err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{"ana", "cy"} {
			r.prefs(t, u, notify.Prefs{Email: u + "@support.test", WatchTiers: []int{1},
				Events: map[string]notify.Rule{notify.EvTicketNew: on("bell", "email")}})
		}
		home := r.file(t, "r1", "default site printer")
		if home.Site != store.DefaultSite {
			t.Fatalf("a ticket of an unknown device is in site %q", home.Site)
		}
		b, _, err := r.svc.Open(ctx, "ana", tickets.Intake{Requester: "maria", Text: "site B printer", Site: "B"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		tickets := func(user string) []string {
			var out []string
			for _, n := range r.inbox(t, user) {
				out = append(out, n.TicketID)
			}
			return out
		}
		if got := tickets("cy"); len(got) != 1 || got[0] != b.ID {
			t.Errorf("cy of site B was told of %v, want only %s", got, b.ID)
		}
		// ana filed B's ticket herself, so she hears only of the other.
		if got := tickets("ana"); len(got) != 1 || got[0] != home.ID {
			t.Errorf("ana of every site was told of %v, want %s", got, home.ID)
		}
		r.pass(t)
		if n := len(mailsTo(r.mail, "cy@support.test")); n != 1 {
			t.Errorf("cy got %d mails, want 1 (site B's ticket)", n)
		}
	})
}
