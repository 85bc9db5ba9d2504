package console

import (
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strings"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/catalog"
)

// kbStore is what the knowledge base pages read from the store.
type kbStore interface {
	ListArticles(ctx context.Context, f store.ArticleFilter) ([]store.Article, error)
	SearchArticles(ctx context.Context, q store.ArticleQuery) ([]store.ArticleHit, error)
	GetArticle(ctx context.Context, id string) (store.Article, error)
}

// Knowledge base pages. What each role reads and may change mirrors the
// API (hub/api/kb.go), which also checks every change: Tier 1 and 2 read
// reviewed and published articles, Tier 3 and admins every state; Tier 2
// writes drafts and moves them to review and back; publishing, archiving
// and changing published or archived articles needs Tier 3.
func init() {
	Register(Page{Pattern: "GET /kb", Role: store.RoleTier1, Nav: "Knowledge base", NavOrder: 40, Handle: kbListPage})
	Register(Page{Pattern: "GET /kb/new", Role: store.RoleTier2, Handle: kbEditPage})
	Register(Page{Pattern: "GET /kb/{id}", Role: store.RoleTier1, Handle: kbArticlePage})
	Register(Page{Pattern: "GET /kb/{id}/edit", Role: store.RoleTier2, Handle: kbEditPage})
	Register(Page{Pattern: "POST /kb/preview", Role: store.RoleTier2, Handle: kbPreview})
}

func kbStates(req *Request) []string {
	if req.Can(store.RoleTier3) {
		return store.ArticleStates
	}
	return []string{store.ArticlePublished, store.ArticleReviewed}
}

type kbItem struct {
	store.Article
	Snippet template.HTML
}

type kbListData struct {
	Q, State string
	States   []string
	Items    []kbItem
	Search   bool
	Error    string
}

func kbListPage(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	q := r.URL.Query()
	d := kbListData{Q: strings.TrimSpace(q.Get("q")), State: q.Get("state"), States: kbStates(req)}
	states := d.States
	if d.State != "" {
		if !slices.Contains(d.States, d.State) {
			c.Error(w, r, req, http.StatusForbidden, "Your role does not read "+d.State+" articles; ask Tier 3.")
			return
		}
		states = []string{d.State}
	}
	if len(d.Q) > 1000 {
		d.Q = d.Q[:1000]
	}
	if d.Q == "" {
		arts, err := c.kb.ListArticles(r.Context(), store.ArticleFilter{States: states, Limit: 100})
		if err != nil {
			c.Fail(w, r, req, err)
			return
		}
		for _, a := range arts {
			d.Items = append(d.Items, kbItem{Article: a, Snippet: RenderMarkdown(excerpt(a.Body, 200))})
		}
	} else {
		d.Search = true
		hits, err := c.kb.SearchArticles(r.Context(), store.ArticleQuery{Text: d.Q, States: states, Limit: 50})
		if err != nil {
			c.Fail(w, r, req, err)
			return
		}
		for _, h := range hits {
			d.Items = append(d.Items, kbItem{Article: h.Article, Snippet: RenderMarkdown(h.Snippet)})
		}
	}
	c.Render(w, r, req, http.StatusOK, "kb.html", View{Title: "Knowledge base", Data: d})
}

// excerpt cuts s to about n bytes at a space, on one line.
func excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	cut := strings.LastIndexByte(s[:n], ' ')
	if cut < n/2 {
		cut = n
	}
	return strings.ToValidUTF8(s[:cut], "") + " …"
}

// kbAction is a state change the page offers.
type kbAction struct {
	State, Label string
	Danger       bool
}

type kbArticleData struct {
	Article store.Article
	Body    template.HTML
	Actions []kbAction
	CanEdit bool
	// Fixes are the article's fix links as the page shows them.
	Fixes []kbFixLink
}

// kbFixLink is one fix an article recommends: a catalog fix, or one of
// the organisation's published signed recipes.
type kbFixLink struct {
	ID, Title string
	Tier      int
	// Recipe: a signed recipe, with its version and signing key id.
	Recipe          bool
	Version         int64
	Signer          string
	Known, UserRuns bool
}

// kbFixLinks resolves an article's fix ids against the catalog and the
// published recipes (a recipe withdrawn since shows as unknown).
func kbFixLinks(ctx context.Context, c *Console, ids []string) ([]kbFixLink, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rs, err := c.recipes.ListRecipes(ctx)
	if err != nil {
		return nil, err
	}
	var out []kbFixLink
	for _, id := range ids {
		l := kbFixLink{ID: id}
		if f, ok := catalog.Get(id); ok {
			l.Title, l.Tier, l.Known = f.Title, f.Tier, true
		} else if i := slices.IndexFunc(rs, func(r store.Recipe) bool { return r.ID == id }); i >= 0 {
			r := rs[i]
			l.Title, l.Tier, l.Known, l.Recipe, l.Version, l.Signer = r.Title, r.Tier, true, true, r.Version, r.Signer
		}
		l.UserRuns = l.Known && l.Tier == 0
		out = append(out, l)
	}
	return out, nil
}

func kbArticle(c *Console, w http.ResponseWriter, r *http.Request, req *Request) (store.Article, bool) {
	a, err := c.kb.GetArticle(r.Context(), r.PathValue("id"))
	if err == nil && !slices.Contains(kbStates(req), a.State) {
		err = store.ErrNotFound // not shown to this role
	}
	if errors.Is(err, store.ErrNotFound) {
		c.Error(w, r, req, http.StatusNotFound, "No such article, or your role does not read it. Search the knowledge base.")
		return a, false
	}
	if err != nil {
		c.Fail(w, r, req, err)
		return a, false
	}
	return a, true
}

func kbArticlePage(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	a, ok := kbArticle(c, w, r, req)
	if !ok {
		return
	}
	d := kbArticleData{Article: a, Body: RenderMarkdown(a.Body)}
	var err error
	if d.Fixes, err = kbFixLinks(r.Context(), c, a.Fixes); err != nil {
		c.Fail(w, r, req, err)
		return
	}
	locked := a.State == store.ArticlePublished || a.State == store.ArticleArchived
	tier3 := req.Can(store.RoleTier3)
	d.CanEdit = req.Can(store.RoleTier2) && (!locked || tier3)
	if req.Can(store.RoleTier2) {
		switch a.State {
		case store.ArticleDraft:
			d.Actions = append(d.Actions, kbAction{State: store.ArticleReviewed, Label: "Mark reviewed"})
		case store.ArticleReviewed:
			if tier3 {
				d.Actions = append(d.Actions, kbAction{State: store.ArticlePublished, Label: "Publish"})
			}
			d.Actions = append(d.Actions, kbAction{State: store.ArticleDraft, Label: "Back to draft"})
		case store.ArticlePublished:
			if tier3 {
				d.Actions = append(d.Actions, kbAction{State: store.ArticleArchived, Label: "Archive", Danger: true},
					kbAction{State: store.ArticleDraft, Label: "Unpublish to draft", Danger: true})
			}
		case store.ArticleArchived:
			if tier3 {
				d.Actions = append(d.Actions, kbAction{State: store.ArticleDraft, Label: "Back to draft"})
			}
		}
	}
	c.Render(w, r, req, http.StatusOK, "kb_article.html", View{Title: a.Title, Scripts: []string{"kb.js"}, Data: d})
}

type kbEditData struct {
	Article store.Article
	New     bool
	Checks  string
	Fixes   string
	Preview template.HTML
}

func kbEditPage(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	d := kbEditData{New: r.PathValue("id") == ""}
	if !d.New {
		a, ok := kbArticle(c, w, r, req)
		if !ok {
			return
		}
		if (a.State == store.ArticlePublished || a.State == store.ArticleArchived) && !req.Can(store.RoleTier3) {
			c.Error(w, r, req, http.StatusForbidden, "This article is "+a.State+"; only Tier 3 changes it. Ask Tier 3 to move it back to draft.")
			return
		}
		d.Article, d.Checks, d.Fixes = a, strings.Join(a.Checks, ", "), strings.Join(a.Fixes, ", ")
	}
	d.Preview = RenderMarkdown(d.Article.Body)
	title := "New article"
	if !d.New {
		title = "Edit: " + d.Article.Title
	}
	c.Render(w, r, req, http.StatusOK, "kb_edit.html", View{Title: title, Scripts: []string{"kb.js"}, Data: d})
}

// kbPreview renders Markdown for the editor: POST {"body": "..."} answers
// the node tree ({"nodes": [...]}) that kb.js builds with DOM APIs. The
// CSRF and origin checks are page's, as for every non-GET page.
func kbPreview(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	w.Header().Set("Content-Type", "application/json")
	var body struct {
		Body string `json:"body"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxMarkdown+1024)).Decode(&body); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "send {\"body\": \"markdown\"} of at most 256 KiB"})
		return
	}
	nodes := ParseMarkdown(body.Body)
	if nodes == nil {
		nodes = []MDNode{}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"nodes": nodes})
}
