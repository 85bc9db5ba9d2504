package selfhelp

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/wire"
)

// tier0 is every Tier 0 fix of the catalog, applicable, addressing
// nothing: the list a healthy Linux machine with CUPS and systemd gives.
func tier0() []localipc.Fix {
	var out []localipc.Fix
	for _, f := range catalog.All() {
		out = append(out, localipc.Fix{ID: f.ID, Title: f.Title, Tier: f.Tier, Applicable: true})
	}
	return out
}

func ids(rs []RankedFix) []string {
	var out []string
	for i, r := range rs {
		if r.Rank != i+1 {
			return []string{"rank of " + r.ID + " is not its place"}
		}
		out = append(out, r.ID)
	}
	return out
}

func with(fs []localipc.Fix, id string, change func(*localipc.Fix)) []localipc.Fix {
	fs = slices.Clone(fs)
	for i := range fs {
		if fs[i].ID == id {
			change(&fs[i])
		}
	}
	return fs
}

func TestRankFixes(t *testing.T) {
	all := tier0()
	failingDNS := with(all, catalog.FlushDNS, func(f *localipc.Fix) { f.Addresses, f.Worst = []string{"dns-resolution"}, ForFailing })
	failingDNS = with(failingDNS, catalog.RestartResolver, func(f *localipc.Fix) { f.Addresses, f.Worst = []string{"dns-resolution"}, ForFailing })
	warnDisk := with(all, catalog.ClearTemp, func(f *localipc.Fix) { f.Addresses, f.Worst = []string{"disk-almost-full"}, ForWarning })
	both := with(failingDNS, catalog.ClearTemp, func(f *localipc.Fix) { f.Addresses, f.Worst = []string{"disk-almost-full"}, ForWarning })
	// A paused printer: printer-stopped names resume-printer; restart-
	// print-spooler only verifies it.
	paused := with(all, catalog.ResumePrinter, func(f *localipc.Fix) {
		f.Addresses, f.Worst, f.Suggested = []string{"printer-stopped"}, ForFailing, true
	})
	paused = with(paused, catalog.RestartPrintSpooler, func(f *localipc.Fix) { f.Addresses, f.Worst = []string{"printer-stopped"}, ForFailing })
	noSpooler := with(all, catalog.RestartPrintSpooler, func(f *localipc.Fix) {
		f.Applicable, f.Reason = false, "Printing cannot be restarted on this computer: it does not run systemd"
	})
	for _, c := range []struct {
		name     string
		fixes    []localipc.Fix
		category string
		want     []string
		why      map[string]string
	}{
		{"nothing found, no category: the catalog's order", all, "",
			[]string{"flush-dns", "renew-dhcp", "clear-temp", "restart-print-spooler", "restart-resolver", "resume-printer", "cancel-print-jobs", "empty-trash", "clear-user-caches", "enable-interface"}, nil},
		{"printing", all, "printing",
			[]string{"resume-printer", "cancel-print-jobs", "restart-print-spooler", "flush-dns", "renew-dhcp", "clear-temp", "restart-resolver", "empty-trash", "clear-user-caches", "enable-interface"},
			map[string]string{"resume-printer": ForCategory, "flush-dns": ""}},
		{"cannot connect", all, "cannot-connect",
			[]string{"flush-dns", "renew-dhcp", "restart-resolver", "enable-interface", "clear-temp", "restart-print-spooler", "resume-printer", "cancel-print-jobs", "empty-trash", "clear-user-caches"},
			map[string]string{"restart-resolver": ForCategory, "clear-temp": ""}},
		{"slow", all, "slow",
			[]string{"clear-temp", "flush-dns", "renew-dhcp", "restart-print-spooler", "restart-resolver", "resume-printer", "cancel-print-jobs", "empty-trash", "clear-user-caches", "enable-interface"}, nil},
		{"a category without fixes of its own", all, "sign-in",
			[]string{"flush-dns", "renew-dhcp", "clear-temp", "restart-print-spooler", "restart-resolver", "resume-printer", "cancel-print-jobs", "empty-trash", "clear-user-caches", "enable-interface"}, nil},
		{"a failing check comes before the category", failingDNS, "printing",
			[]string{"flush-dns", "restart-resolver", "resume-printer", "cancel-print-jobs", "restart-print-spooler", "renew-dhcp", "clear-temp", "empty-trash", "clear-user-caches", "enable-interface"},
			map[string]string{"flush-dns": ForFailing, "restart-resolver": ForFailing, "resume-printer": ForCategory}},
		{"a warning comes after a failing check and before the category", both, "printing",
			[]string{"flush-dns", "restart-resolver", "clear-temp", "resume-printer", "cancel-print-jobs", "restart-print-spooler", "renew-dhcp", "empty-trash", "clear-user-caches", "enable-interface"},
			map[string]string{"clear-temp": ForWarning}},
		{"a warning alone comes first", warnDisk, "cannot-connect",
			[]string{"clear-temp", "flush-dns", "renew-dhcp", "restart-resolver", "enable-interface", "restart-print-spooler", "resume-printer", "cancel-print-jobs", "empty-trash", "clear-user-caches"}, nil},
		{"the fix a failing check names comes before one it only verifies", paused, "cannot-connect",
			[]string{"resume-printer", "restart-print-spooler", "flush-dns", "renew-dhcp", "restart-resolver", "enable-interface", "clear-temp", "cancel-print-jobs", "empty-trash", "clear-user-caches"},
			map[string]string{"resume-printer": ForFailing, "restart-print-spooler": ForFailing, "flush-dns": ForCategory}},
		{"what does not apply here is left out", noSpooler, "printing",
			[]string{"resume-printer", "cancel-print-jobs", "flush-dns", "renew-dhcp", "clear-temp", "restart-resolver", "empty-trash", "clear-user-caches", "enable-interface"}, nil},
	} {
		got := RankFixes(c.fixes, c.category)
		if g := ids(got); !slices.Equal(g, c.want) {
			t.Errorf("%s:\n got %v\nwant %v", c.name, g, c.want)
		}
		for _, r := range got {
			if want, ok := c.why[r.ID]; ok && r.For != want {
				t.Errorf("%s: %s is there for %q, want %q", c.name, r.ID, r.For, want)
			}
			if r.Tier != catalog.TierSelfHelp {
				t.Errorf("%s: the Tier %d fix %s is offered to the user", c.name, r.Tier, r.ID)
			}
		}
	}
}

// TestEveryCategoryFixIsTier0: the category lists name Tier 0 fixes of
// the catalog and real categories, so a renamed fix cannot silently drop
// out of the order.
func TestEveryCategoryFixIsTier0(t *testing.T) {
	for cat, fixes := range categoryFixes {
		if !slices.Contains(wire.HelpCategories, cat) {
			t.Errorf("category %q is not one of %v", cat, wire.HelpCategories)
		}
		for _, id := range fixes {
			f, ok := catalog.Get(id)
			if !ok || f.Tier != catalog.TierSelfHelp {
				t.Errorf("category %s names %q: not a Tier 0 fix of the catalog", cat, id)
			}
		}
	}
}

// TestFixesRouteRanks: GET /api/fixes answers the agent's list in the
// order RankFixes gives for the category asked, and refuses an unknown
// category in words.
func TestFixesRouteRanks(t *testing.T) {
	dir, err := os.MkdirTemp("", "sh")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, localipc.SocketName)
	srv, err := localipc.Listen(path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv.HandleUser(localipc.OpFixes, func(context.Context, json.RawMessage) (any, error) {
		return localipc.FixList{Fixes: with(tier0(), catalog.ClearTemp, func(f *localipc.Fix) {
			f.Addresses, f.Worst = []string{"disk-almost-full"}, ForFailing
		})}, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	s := startPage(t, path)
	c, _ := login(t, s)
	for cat, want := range map[string][]string{
		"printing":       {"clear-temp", "resume-printer", "cancel-print-jobs", "restart-print-spooler"},
		"cannot-connect": {"clear-temp", "flush-dns", "renew-dhcp", "restart-resolver"},
	} {
		r := do(t, c, "GET", base(s)+"/api/fixes?category="+cat, "", nil)
		var got fixesAnswer
		if err := json.Unmarshal([]byte(r.body), &got); r.code != 200 || err != nil {
			t.Fatalf("%s: %d %s %v", cat, r.code, r.body, err)
		}
		if g := ids(got.Fixes); len(g) < len(want) || !slices.Equal(g[:len(want)], want) || got.Category != cat {
			t.Errorf("%s: %v (%q), want it to start %v", cat, g, got.Category, want)
		}
	}
	if r := do(t, c, "GET", base(s)+"/api/fixes?category=printers", "", nil); r.code != 400 || !strings.Contains(r.body, "unknown category") {
		t.Errorf("an unknown category: %d %s", r.code, r.body)
	}
}
