package store_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
)

func mustArticle(t *testing.T, s *store.Store, a store.Article) store.Article {
	t.Helper()
	if a.CreatedAt.IsZero() {
		a.CreatedAt = t0
	}
	got, err := s.CreateArticle(ctx, a)
	if err != nil {
		t.Fatalf("create article %s: %v", a.ID, err)
	}
	return got
}

func hitIDs(hs []store.ArticleHit) []string {
	var ids []string
	for _, h := range hs {
		ids = append(ids, h.ID)
	}
	return ids
}

func TestArticleCRUD(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		body := "# Flush DNS\n\n<script>alert(1)</script> run `flush-dns`, then *retry*.\n"
		a := mustArticle(t, s, store.Article{ID: "a1", Title: "  DNS does not resolve ", Body: body,
			Checks: []string{"dns-resolution", " dns-resolution", ""}, Fixes: []string{"flush-dns"}, SourceTicket: "t1", CreatedBy: "maria"})
		if a.State != store.ArticleDraft || a.Title != "DNS does not resolve" || !slices.Equal(a.Checks, []string{"dns-resolution"}) {
			t.Fatalf("created %+v", a)
		}
		got, err := s.GetArticle(ctx, "a1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Body != body || got.SourceTicket != "t1" || got.CreatedBy != "maria" || got.UpdatedBy != "maria" ||
			!got.CreatedAt.Equal(t0) || !slices.Equal(got.Fixes, []string{"flush-dns"}) {
			t.Fatalf("stored %+v", got)
		}
		if _, err := s.CreateArticle(ctx, store.Article{ID: "a1", Title: "again"}); !errors.Is(err, store.ErrExists) {
			t.Fatalf("duplicate id: %v", err)
		}
		for _, bad := range []store.Article{
			{ID: "b1", Title: "  "},
			{ID: "b2", Title: "x", Checks: []string{"a,b"}},
			{ID: "b3", Title: "x", Fixes: []string{"has space"}},
			{ID: "b4", Title: "x", State: "live"},
			{Title: "no id"},
		} {
			if _, err := s.CreateArticle(ctx, bad); !errors.Is(err, store.ErrArticleInvalid) {
				t.Errorf("create %+v: %v, want ErrArticleInvalid", bad, err)
			}
		}
		if _, err := s.GetArticle(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get unknown: %v", err)
		}

		up, err := s.UpdateArticle(ctx, "a1", store.ArticleEdit{Title: "DNS fails", Body: "new body", Checks: []string{"dns-resolution", "gateway-ping"}}, "lee", t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if up.Title != "DNS fails" || up.Body != "new body" || len(up.Fixes) != 0 || up.UpdatedBy != "lee" || !up.UpdatedAt.Equal(t0.Add(time.Hour)) || up.State != store.ArticleDraft {
			t.Fatalf("updated %+v", up)
		}
		if _, err := s.UpdateArticle(ctx, "nope", store.ArticleEdit{Title: "x"}, "lee", t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update unknown: %v", err)
		}
		if _, err := s.UpdateArticle(ctx, "a1", store.ArticleEdit{}, "lee", t0); !errors.Is(err, store.ErrArticleInvalid) {
			t.Fatalf("update without title: %v", err)
		}
		// The index follows the edit: the old words are gone, the new ones found.
		if hs, err := s.SearchArticles(ctx, store.ArticleQuery{Text: "flush"}); err != nil || len(hs) != 0 {
			t.Fatalf("old words still found: %v %v", hitIDs(hs), err)
		}
		if hs, err := s.SearchArticles(ctx, store.ArticleQuery{Text: "fails"}); err != nil || len(hs) != 1 {
			t.Fatalf("new words not found: %v %v", hitIDs(hs), err)
		}

		mustArticle(t, s, store.Article{ID: "a2", Title: "VPN", State: store.ArticlePublished, CreatedAt: t0.Add(2 * time.Hour)})
		all, err := s.ListArticles(ctx, store.ArticleFilter{})
		if err != nil || len(all) != 2 || all[0].ID != "a2" {
			t.Fatalf("list all: %v %v", all, err)
		}
		pub, err := s.ListArticles(ctx, store.ArticleFilter{States: []string{store.ArticlePublished}})
		if err != nil || len(pub) != 1 || pub[0].ID != "a2" {
			t.Fatalf("list published: %v %v", pub, err)
		}
	})
}

func TestArticleTransitions(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		mustArticle(t, s, store.Article{ID: "a1", Title: "printer jam"})
		steps := []struct {
			to string
			ok bool
		}{
			{store.ArticlePublished, false}, // draft must be reviewed first
			{store.ArticleArchived, false},
			{store.ArticleDraft, false},
			{store.ArticleReviewed, true},
			{store.ArticleDraft, true},
			{store.ArticleReviewed, true},
			{store.ArticleArchived, false},
			{store.ArticlePublished, true},
			{store.ArticleReviewed, false},
			{store.ArticleDraft, true},
			{store.ArticleReviewed, true},
			{store.ArticlePublished, true},
			{store.ArticleArchived, true},
			{store.ArticlePublished, false},
			{store.ArticleReviewed, false},
			{store.ArticleDraft, true},
		}
		state := store.ArticleDraft
		for i, st := range steps {
			a, from, err := s.SetArticleState(ctx, "a1", st.to, "lee", t0.Add(time.Duration(i)*time.Minute))
			if !st.ok {
				if !errors.Is(err, store.ErrArticleTransition) || !strings.Contains(err.Error(), "can only go to") {
					t.Fatalf("step %d %s→%s: %v, want a refusal naming the allowed states", i, state, st.to, err)
				}
				continue
			}
			if err != nil || a.State != st.to || from != state || a.UpdatedBy != "lee" {
				t.Fatalf("step %d %s→%s: %+v from %s, %v", i, state, st.to, a, from, err)
			}
			state = st.to
		}
		if _, _, err := s.SetArticleState(ctx, "a1", "live", "lee", t0); !errors.Is(err, store.ErrArticleInvalid) {
			t.Fatalf("unknown state: %v", err)
		}
		if _, _, err := s.SetArticleState(ctx, "nope", store.ArticleReviewed, "lee", t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown article: %v", err)
		}
	})
}

func TestArticleSearchRanking(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		pub := store.ArticlePublished
		mustArticle(t, s, store.Article{ID: "title", Title: "Printer jammed", Body: "Open the tray and remove the paper.", State: pub})
		mustArticle(t, s, store.Article{ID: "body", Title: "Paper trays", Body: "If the printer says jammed, see the printer article.", State: pub})
		mustArticle(t, s, store.Article{ID: "linked", Title: "Print queue stuck", Body: "Restart the spooler.", State: pub,
			Checks: []string{"printer-queue"}, Fixes: []string{"restart-spooler"}})
		mustArticle(t, s, store.Article{ID: "both", Title: "Queue and DNS", Body: "Nothing about that device.", State: pub,
			Checks: []string{"printer-queue", "dns-resolution"}})
		mustArticle(t, s, store.Article{ID: "draft", Title: "Printer jammed (draft)", Body: "printer jammed printer jammed"})
		mustArticle(t, s, store.Article{ID: "prefix", Title: "printer-queue_x", Body: "", State: pub, Checks: []string{"printer-queue_x", "xprinter-queue"}})

		hs, err := s.SearchArticles(ctx, store.ArticleQuery{Text: "printer jammed", States: []string{pub}})
		if err != nil {
			t.Fatal(err)
		}
		if ids := hitIDs(hs); len(ids) < 2 || ids[0] != "title" || !slices.Contains(ids, "body") || slices.Contains(ids, "draft") {
			t.Fatalf("text search: %v, want title match first, body match present, no draft", ids)
		}
		for _, h := range hs {
			if h.ID == "body" && !strings.Contains(h.Snippet, "**printer**") {
				t.Fatalf("body match snippet %q, want the matched word in **", h.Snippet)
			}
		}
		if hs[0].Title != "Printer jammed" || hs[0].Body == "" {
			t.Fatalf("hit without its article: %+v", hs[0])
		}

		// A failing check puts linked articles first, more links first,
		// even without a text hit; exact names only.
		hs, err = s.SearchArticles(ctx, store.ArticleQuery{Text: "printer jammed", Checks: []string{"printer-queue", "dns-resolution"}, States: []string{pub}})
		if err != nil {
			t.Fatal(err)
		}
		ids := hitIDs(hs)
		if len(ids) < 4 || ids[0] != "both" || ids[1] != "linked" || ids[2] != "title" || slices.Contains(ids, "draft") {
			t.Fatalf("search with checks: %v, want both, linked, title, ...", ids)
		}
		if !slices.Equal(hs[0].MatchedChecks, []string{"printer-queue", "dns-resolution"}) || hs[1].Snippet == "" {
			t.Fatalf("hit %+v", hs[0:2])
		}
		// Checks alone.
		hs, err = s.SearchArticles(ctx, store.ArticleQuery{Checks: []string{"printer-queue"}})
		if ids := hitIDs(hs); err != nil || len(ids) != 2 || ids[0] != "both" && ids[0] != "linked" {
			t.Fatalf("checks only: %v %v", ids, err)
		}
		if hs[0].Snippet == "" && hs[0].Body != "" {
			t.Fatalf("checks-only hit without snippet: %+v", hs[0])
		}
		// Without a state filter drafts are found too; limit applies.
		hs, err = s.SearchArticles(ctx, store.ArticleQuery{Text: "jammed", Limit: 2})
		if ids := hitIDs(hs); err != nil || len(ids) != 2 || !slices.Contains(ids, "draft") && !slices.Contains(ids, "title") {
			t.Fatalf("all states, limit 2: %v %v", ids, err)
		}
		// Nothing to search for finds nothing.
		if hs, err := s.SearchArticles(ctx, store.ArticleQuery{Text: "  ?! "}); err != nil || len(hs) != 0 {
			t.Fatalf("empty query: %v %v", hitIDs(hs), err)
		}
		// Case and diacritics do not matter in the text.
		if hs, err := s.SearchArticles(ctx, store.ArticleQuery{Text: "PRINTER"}); err != nil || len(hs) == 0 {
			t.Fatalf("upper case: %v %v", hitIDs(hs), err)
		}
	})
}

func TestArticleSearchHostileText(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		mustArticle(t, s, store.Article{ID: "a1", Title: "VPN drops", Body: "Reconnect the VPN; check `gateway-ping`.", State: store.ArticlePublished, Checks: []string{"gateway-ping"}})
		for _, q := range []string{
			`"`, `""`, `"vpn`, `vpn"`, `NEAR(vpn drops)`, `NEAR(`, `vpn*`, `*`, `-vpn`, `vpn -drops`, `title:vpn`, `{title}: vpn`,
			`vpn AND`, `OR`, `NOT vpn`, `(vpn`, `^vpn`, `vpn + drops`, `'; DROP TABLE articles; --`, `' OR 1=1 --`, `%`, `_`, `\`,
			`vpn & | ! <-> :*`, `!!`, `<2>`, `a:*B`, "\x00vpn", "vpn\u200b", strings.Repeat("vpn ", 500), strings.Repeat("x", 5000), "ünïcödé 日本語",
		} {
			hs, err := s.SearchArticles(ctx, store.ArticleQuery{Text: q, Checks: []string{"gateway-ping", "'; --"}[:1]})
			if err != nil {
				t.Errorf("query %q: %v", q, err)
				continue
			}
			if len(hs) != 1 || hs[0].ID != "a1" {
				t.Errorf("query %q: %v, want the linked article", q, hitIDs(hs))
			}
			if _, err := s.SearchArticles(ctx, store.ArticleQuery{Text: q}); err != nil {
				t.Errorf("query %q without checks: %v", q, err)
			}
		}
		hs, err := s.SearchArticles(ctx, store.ArticleQuery{Text: `NEAR("vpn" drops) -x*`})
		if err != nil || len(hs) != 1 {
			t.Fatalf("operators are plain words: %v %v", hitIDs(hs), err)
		}
		// A check name that cannot be stored cannot be searched either.
		if _, err := s.SearchArticles(ctx, store.ArticleQuery{Checks: []string{"a,b"}}); !errors.Is(err, store.ErrArticleInvalid) {
			t.Fatalf("bad check name: %v", err)
		}
		many := make([]string, 51)
		for i := range many {
			many[i] = fmt.Sprintf("check-%d", i)
		}
		if _, err := s.SearchArticles(ctx, store.ArticleQuery{Checks: many}); !errors.Is(err, store.ErrArticleInvalid) {
			t.Fatalf("51 checks: %v", err)
		}
		if hs, err := s.SearchArticles(ctx, store.ArticleQuery{Checks: append(many[:49], "gateway-ping")}); err != nil || len(hs) != 1 {
			t.Fatalf("50 checks: %v %v", hitIDs(hs), err)
		}
		if _, err := s.GetArticle(ctx, "a1"); err != nil {
			t.Fatalf("article gone after hostile queries: %v", err)
		}
	})
}

func TestArticleGuards(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		mustArticle(t, s, store.Article{ID: "a1", Title: "Wi-Fi", State: store.ArticlePublished})
		unlocked := []string{store.ArticleDraft, store.ArticleReviewed}
		if _, err := s.UpdateArticle(ctx, "a1", store.ArticleEdit{Title: "x"}, "lee", t0, unlocked...); !errors.Is(err, store.ErrArticleTransition) {
			t.Fatalf("edit published with a draft-only guard: %v", err)
		}
		if _, _, err := s.SetArticleState(ctx, "a1", store.ArticleDraft, "lee", t0, unlocked...); !errors.Is(err, store.ErrArticleTransition) {
			t.Fatalf("unpublish with a draft-only guard: %v", err)
		}
		if a, _ := s.GetArticle(ctx, "a1"); a.Title != "Wi-Fi" || a.State != store.ArticlePublished {
			t.Fatalf("guarded changes went through: %+v", a)
		}
		if _, _, err := s.SetArticleState(ctx, "a1", store.ArticleDraft, "ana", t0); err != nil {
			t.Fatal(err)
		}
		if a, err := s.UpdateArticle(ctx, "a1", store.ArticleEdit{Title: "Wi-Fi drops"}, "lee", t0, unlocked...); err != nil || a.Title != "Wi-Fi drops" {
			t.Fatalf("edit draft with the guard: %+v %v", a, err)
		}
	})
}
