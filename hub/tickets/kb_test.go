package tickets_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/hub/ticketevent"
	"github.com/tierline/tierline/hub/tickets"
)

// TestResolveDraftsArticle: resolving with kb writes a draft from the
// ticket, linked only to known checks and catalog fixes.
func TestResolveDraftsArticle(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, st *store.Store) {
		h := newHarness(t, st, tickets.Policy{})
		// Failing: a known check and a name the agent has no check for;
		// self-help ran flush-dns; the technician runs renew-dhcp and an
		// unknown fix id.
		tk, _, _ := h.svc.File(ctx, "dev1", "pc-17", helpRequest("req-1", "No internet since the update", "dns-resolution", "made-up-check"))
		h.clock.Set(t0.Add(time.Minute))
		h.svc.RecordRun(ctx, tk.ID, "ana", "run-1", "renew-dhcp", "fixed")
		h.svc.RecordRun(ctx, tk.ID, "ana", "run-2", "format-disk", "fixed")
		got, art, err := h.svc.ResolveKB(ctx, tk.ID, "ana", "Renewed the DHCP lease; the router had handed out a stale DNS server.", true)
		if err != nil || art == nil {
			t.Fatalf("resolve: %v", err)
		}
		if got.State != store.TicketResolved || art.State != store.ArticleDraft || art.SourceTicket != tk.ID || art.Title != "No internet since the update" {
			t.Fatalf("article %+v", art)
		}
		if strings.Join(art.Checks, ",") != "dns-resolution" || strings.Join(art.Fixes, ",") != "flush-dns,renew-dhcp" {
			t.Fatalf("links: checks %v fixes %v", art.Checks, art.Fixes)
		}
		for _, want := range []string{"## Problem", "No internet since the update", "## Cause", "dns-resolution", "## Resolution", "stale DNS server",
			"## Fixes run", "(`renew-dhcp`): fixed", "(`flush-dns`): failed (self-help)", "ticket #1"} {
			if !strings.Contains(art.Body, want) {
				t.Errorf("body lacks %q:\n%s", want, art.Body)
			}
		}
		if strings.Contains(art.Body, "format-disk") {
			t.Errorf("body names a fix outside the catalog:\n%s", art.Body)
		}
		evs, _ := st.TicketEvents(ctx, tk.ID)
		last := evs[len(evs)-1]
		if last.Data != (ticketevent.KBDraft{Article: art.ID, Title: art.Title}) {
			t.Fatalf("timeline ends with %+v", last)
		}
		stored, err := st.GetArticle(ctx, art.ID)
		if err != nil || stored.Body != art.Body {
			t.Fatalf("stored article: %v", err)
		}
		checkReplay(t, st, tk.ID, h.svc.Policy())

		// Without kb nothing is drafted.
		tk2, _, _ := h.svc.File(ctx, "dev1", "pc-17", helpRequest("req-2", "printer"))
		if _, art, err := h.svc.ResolveKB(ctx, tk2.ID, "ana", "cleared the queue", false); err != nil || art != nil {
			t.Fatalf("resolve without kb: %v %v", art, err)
		}
	})
}
