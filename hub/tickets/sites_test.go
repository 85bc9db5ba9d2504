package tickets_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/auth"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/shared/wire"
)

// TestSearchKBKeepsToTheDevicesSite: a device's Get help finds the shared
// articles and its own site's, never another site's.
func TestSearchKBKeepsToTheDevicesSite(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Now()
		enroll := func(site string) string {
			secret := auth.Secret(16)
			if err := st.CreateToken(ctx, store.Token{ID: wire.NewID(), MaxUses: 1, ExpiresAt: now.Add(time.Hour), CreatedAt: now, Site: site}, auth.HashSecret(secret)); err != nil {
				t.Fatal(err)
			}
			d, err := st.EnrollDevice(ctx, auth.HashSecret(secret), store.Device{ID: wire.NewID(), Hostname: "pc-" + site, OS: "linux"}, now)
			if err != nil {
				t.Fatal(err)
			}
			return d.ID
		}
		aDev, bDev := enroll("A"), enroll("B")
		for _, a := range []store.Article{
			{ID: wire.NewID(), Title: "Printer shared", Body: "printer help for all", Site: ""},
			{ID: wire.NewID(), Title: "Printer of B", Body: "printer help for site B", Site: "B"},
		} {
			a.State, a.CreatedAt = store.ArticlePublished, now
			if _, err := st.CreateArticle(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		svc, err := tickets.New(tickets.Config{Store: st})
		if err != nil {
			t.Fatal(err)
		}
		devs := tickets.NewDevices(svc, st, nil, nil)
		titles := func(dev string) []string {
			res, err := devs.SearchKB(ctx, dev, wire.KBQuery{Text: "printer"})
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, a := range res.Articles {
				out = append(out, a.Title)
			}
			return out
		}
		if got := titles(aDev); len(got) != 1 || got[0] != "Printer shared" {
			t.Errorf("site A's device finds %v, want only the shared article", got)
		}
		if got := titles(bDev); len(got) != 2 {
			t.Errorf("site B's device finds %v, want the shared article and B's", got)
		}
	})
}

// TestAssignKeepsToSites: automatic assignment gives a ticket only to an
// available technician of its site, and a technician of another site can
// neither be given it nor join it.
func TestAssignKeepsToSites(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Now()
		for _, u := range []store.User{
			{ID: wire.NewID(), Name: "aaa-of-b", Role: store.RoleTier1, Available: true, Sites: []string{"B"}},
			{ID: wire.NewID(), Name: "zzz-of-a", Role: store.RoleTier1, Available: true, Sites: []string{"A"}},
		} {
			u.PasswordHash, u.CreatedAt = "x", now
			if err := st.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		secret := auth.Secret(16)
		if err := st.CreateToken(ctx, store.Token{ID: wire.NewID(), MaxUses: 1, ExpiresAt: now.Add(time.Hour), CreatedAt: now, Site: "A"}, auth.HashSecret(secret)); err != nil {
			t.Fatal(err)
		}
		d, err := st.EnrollDevice(ctx, auth.HashSecret(secret), store.Device{ID: wire.NewID(), Hostname: "pc-a", OS: "linux"}, now)
		if err != nil {
			t.Fatal(err)
		}
		svc, err := tickets.New(tickets.Config{Store: st})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.SetAssignment(ctx, tickets.Assignment{Tiers: map[string]string{"1": tickets.AssignRoundRobin}}); err != nil {
			t.Fatal(err)
		}
		tk, _, err := svc.File(ctx, d.ID, "pc-a", wire.HelpRequest{RequestID: "r1", Text: "help", Category: "other"})
		if err != nil {
			t.Fatal(err)
		}
		who, err := tickets.NewAssigner(svc, st, slog.New(slog.DiscardHandler)).Assign(ctx, tk.ID, 1)
		if err != nil || who != "zzz-of-a" {
			t.Errorf("automatic assignment of site A's ticket: %q %v, want zzz-of-a", who, err)
		}
		if _, err := svc.Assign(ctx, tk.ID, "admin", "aaa-of-b"); !errors.Is(err, tickets.ErrUnknownUser) {
			t.Errorf("assign site A's ticket to a technician of B: %v", err)
		}
		if _, err := svc.AddCollaborator(ctx, tk.ID, "admin", "aaa-of-b"); !errors.Is(err, tickets.ErrUnknownUser) {
			t.Errorf("a technician of B joins site A's ticket: %v", err)
		}
	})
}
