package console

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/shared/policy"
	"github.com/tierline/tierline/shared/wire"
)

// TestSitePoliciesAndLinks: the policy pages show each policy's site and
// let an admin of site A save only A's; a ticket page of A hides the link
// to B's ticket; a device page shows the device's site, with the way to
// move it for an admin of every site.
func TestSitePoliciesAndLinks(t *testing.T) {
	st := storetest.Open(t)
	tc := newTestConsoleOn(t, st)
	ctx := context.Background()
	for _, u := range []store.User{{Name: "tier1-of-a", Role: store.RoleTier1}, {Name: "admin-of-a", Role: store.RoleAdmin}} {
		u.ID, u.PasswordHash, u.Sites = wire.NewID(), pwHash, []string{"A"}
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	for site, dns := range map[string]string{"": "shared-policy.example", "A": "a-policy.example", "B": "bpolicy-secret.example"} {
		if _, err := st.PutPolicy(ctx, "lab", site, policy.Document{DNSNames: []string{dns}}, "admin", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	aDev, aTicket := tc.siteDevice(t, "A", "ahost", "aticket-visible")
	_, bTicket := tc.siteDevice(t, "B", "bhost", "bticket")
	if _, err := tc.svc.Link(ctx, aTicket.ID, "admin", bTicket.ID, store.LinkRelated); err != nil {
		t.Fatal(err)
	}

	t1 := tc.loginAs(t, "tier1-of-a")
	_, page := tc.get(t, t1, "/policies")
	if !strings.Contains(page, `/policies/lab?site=A`) || !strings.Contains(page, "every site") || strings.Contains(page, "site=B") {
		t.Errorf("/policies as tier1 of A: want the shared and A's policies only:\n%s", page)
	}
	if res, page := tc.get(t, t1, "/policies/lab?site=B"); res.StatusCode != http.StatusNotFound || strings.Contains(page, "bpolicy-secret") {
		t.Errorf("B's policy page as tier1 of A: %d", res.StatusCode)
	}
	if res, _ := tc.get(t, t1, "/policies/lab?site=bad%20site"); res.StatusCode != http.StatusBadRequest {
		t.Errorf("a bad site: %d", res.StatusCode)
	}
	if _, page := tc.get(t, t1, "/policies/lab?site=A"); !strings.Contains(page, "a-policy.example") || !strings.Contains(page, "Kept to the group's devices of site") || strings.Contains(page, `id="policy-save"`) {
		t.Errorf("A's policy as tier1 of A:\n%s", page)
	}
	adminA := tc.loginAs(t, "admin-of-a")
	if _, page := tc.get(t, adminA, "/policies/lab"); strings.Contains(page, `id="policy-save"`) || !strings.Contains(page, "Only an admin of every site") {
		t.Errorf("the shared policy as admin of A offers to save it:\n%s", page)
	}
	if _, page := tc.get(t, adminA, "/policies/lab?site=A"); !strings.Contains(page, `id="policy-save"`) || !strings.Contains(page, `data-site="A"`) {
		t.Errorf("A's policy as admin of A cannot be saved:\n%s", page)
	}
	admin := tc.login(t, store.RoleAdmin)
	if _, page := tc.get(t, admin, "/policies"); !strings.Contains(page, "/policies/lab?site=B") {
		t.Errorf("/policies as admin of every site lacks B's")
	}
	if _, page := tc.get(t, admin, "/policies/lab"); !strings.Contains(page, `id="policy-save"`) || !strings.Contains(page, "shared-policy.example") {
		t.Errorf("the shared policy as admin of every site:\n%s", page)
	}

	if _, page := tc.get(t, t1, "/tickets/"+aTicket.ID); !strings.Contains(page, "aticket-visible") || strings.Contains(page, bTicket.ID) {
		t.Errorf("A's ticket page as tier1 of A names B's linked ticket")
	}
	if _, page := tc.get(t, admin, "/tickets/"+aTicket.ID); !strings.Contains(page, bTicket.ID) {
		t.Errorf("A's ticket page as admin of every site lacks the link to B's")
	}

	_, page = tc.get(t, admin, "/devices/"+aDev)
	if !strings.Contains(page, `<dd id="device-site"><span class="mono">A</span>`) || !strings.Contains(page, "/admin/sites#device-"+aDev) {
		t.Errorf("device page as admin of every site: no site or no way to move it")
	}
	_, page = tc.get(t, adminA, "/devices/"+aDev)
	if !strings.Contains(page, `<dd id="device-site"><span class="mono">A</span>`) || strings.Contains(page, "/admin/sites#device") {
		t.Errorf("device page as admin of A: no site, or a link to a page of every site")
	}
}
