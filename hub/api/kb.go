package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// kbStore is what the knowledge base routes call on the store.
type kbStore interface {
	ListArticles(ctx context.Context, f store.ArticleFilter) ([]store.Article, error)
	SearchArticles(ctx context.Context, q store.ArticleQuery) ([]store.ArticleHit, error)
	GetArticle(ctx context.Context, id string) (store.Article, error)
	CreateArticle(ctx context.Context, a store.Article) (store.Article, error)
	UpdateArticle(ctx context.Context, id string, e store.ArticleEdit, by string, at time.Time, onlyIn ...string) (store.Article, error)
	SetArticleState(ctx context.Context, id, state, by string, at time.Time, onlyFrom ...string) (a store.Article, from string, err error)
}

// Knowledge base routes. Tier 1 and Tier 2 read published and reviewed
// articles; Tier 3 and admins read every state. Tier 2 writes drafts and
// moves them to review and back; publishing, archiving and anything that
// changes a published or archived article needs Tier 3. Bodies are
// Markdown, stored and returned exactly as sent; nothing here renders them.
func (a *API) articleRoutes() []Route {
	return []Route{
		{"GET /api/v1/articles", store.RoleTier1, a.listArticles},
		{"GET /api/v1/articles/{id}", store.RoleTier1, a.getArticle},
		{"POST /api/v1/articles", store.RoleTier2, a.createArticle},
		{"PUT /api/v1/articles/{id}", store.RoleTier2, a.updateArticle},
		{"POST /api/v1/articles/{id}/state", store.RoleTier2, a.setArticleState},
	}
}

// articleStatesFor lists the article states who may read.
func articleStatesFor(who Caller) []string {
	if who.Role.Rank() >= store.RoleTier3.Rank() {
		return store.ArticleStates
	}
	return []string{store.ArticlePublished, store.ArticleReviewed}
}

// unlockedStates returns the states who may change articles in, or nil
// for any state; passed to the store so that an article published
// between our check and the write is refused there too.
func unlockedStates(who Caller) []string {
	if who.Role.Rank() >= store.RoleTier3.Rank() {
		return nil
	}
	return []string{store.ArticleDraft, store.ArticleReviewed}
}

// articleLocked reports whether changing an article in state needs Tier 3:
// published and archived articles are what Tier 0 sees or saw.
func articleLocked(state string) bool {
	return state == store.ArticlePublished || state == store.ArticleArchived
}

func (a *API) articleError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", err.Error()+"; list articles with GET /api/v1/articles")
	case errors.Is(err, store.ErrArticleInvalid):
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
	case errors.Is(err, store.ErrArticleTransition), errors.Is(err, store.ErrExists):
		writeError(w, http.StatusConflict, "conflict", err.Error())
	default:
		a.log.Error("article request", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "the knowledge base could not answer; try again, and check the hub's log if it persists")
	}
}

// listArticles lists articles, or searches them when q or check is given:
// ?state=published,reviewed&q=printer+jammed&check=printer-queue&limit=20.
func (a *API) listArticles(w http.ResponseWriter, r *http.Request, who Caller) {
	q := r.URL.Query()
	allowed := articleStatesFor(who)
	states := allowed
	if v := q.Get("state"); v != "" {
		states = nil
		for _, s := range strings.Split(v, ",") {
			if !slices.Contains(store.ArticleStates, s) {
				writeError(w, http.StatusBadRequest, "bad_request", "state must be one or more of "+strings.Join(store.ArticleStates, ", ")+", comma separated")
				return
			}
			if !slices.Contains(allowed, s) {
				writeError(w, http.StatusForbidden, "forbidden", "the "+string(who.Role)+" role reads "+strings.Join(allowed, " and ")+" articles only; ask Tier 3 for "+s+" ones")
				return
			}
			states = append(states, s)
		}
	}
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			writeError(w, http.StatusBadRequest, "bad_request", "limit must be 1 to 500")
			return
		}
		limit = n
	}
	var checks []string
	for _, v := range q["check"] {
		for _, c := range strings.Split(v, ",") {
			if c = strings.TrimSpace(c); c != "" {
				checks = append(checks, c)
			}
		}
	}
	text := q.Get("q")
	if len(text) > 1000 {
		writeError(w, http.StatusBadRequest, "bad_request", "q must be at most 1000 bytes; search with fewer words")
		return
	}
	if text == "" && len(checks) == 0 {
		arts, err := a.kb.ListArticles(r.Context(), store.ArticleFilter{States: states, Limit: limit})
		if err != nil {
			a.articleError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"articles": arts})
		return
	}
	if limit > 100 {
		limit = 100
	}
	hits, err := a.kb.SearchArticles(r.Context(), store.ArticleQuery{Text: text, Checks: checks, States: states, Limit: limit})
	if err != nil {
		a.articleError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"articles": hits})
}

func (a *API) getArticle(w http.ResponseWriter, r *http.Request, who Caller) {
	art, err := a.kb.GetArticle(r.Context(), r.PathValue("id"))
	if err == nil && !slices.Contains(articleStatesFor(who), art.State) {
		// Not shown to this role; answer as if it did not exist.
		err = store.ErrNotFound
	}
	if err != nil {
		a.articleError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, art)
}

// articleRequest is the body of POST and PUT /api/v1/articles.
type articleRequest struct {
	Title  string   `json:"title"`
	Body   string   `json:"body"`
	Checks []string `json:"checks"`
	Fixes  []string `json:"fixes"`
	// SourceTicket is the ticket the article was written from (POST only).
	SourceTicket string `json:"source_ticket"`
	// Site keeps a new article to one site; "" shares it (POST only).
	Site string `json:"site"`
}

// linksError says which of the article's health checks or fixes is not one
// the agents know, or "" when all are. A misspelt link would never match a
// failing check or offer its fix, so it is refused rather than kept.
// Declared are the declarative checks of the device policies, and
// recipes the ids of the organisation's published signed recipes, which
// articles may link too.
func (req articleRequest) linksError(declared, recipes []string) string {
	for _, c := range req.Checks {
		if !diag.KnownCheck(c) && !slices.Contains(declared, c) {
			return fmt.Sprintf("checks: %q is not a health check; use one of %s", c, strings.Join(append(slices.Clone(diag.CheckNames), declared...), ", "))
		}
	}
	for _, f := range req.Fixes {
		if _, ok := catalog.Get(f); !ok && !slices.Contains(recipes, f) {
			msg := fmt.Sprintf("fixes: %q is neither a fix of the catalog nor a published recipe; use one of %s", wire.Clip(f, 64), strings.Join(catalog.IDs(catalog.All()), ", "))
			if len(recipes) > 0 {
				msg += "; or one of the recipes " + strings.Join(recipes, ", ")
			} else {
				msg += " (no recipe is published: publish it first with tierline-hub recipe add)"
			}
			return msg
		}
	}
	return ""
}

// articleLinks are the names an article may link besides the built-in
// ones: the policies' declarative checks and the published recipes.
func (a *API) articleLinks(ctx context.Context) (declared, recipeIDs []string, err error) {
	if declared, err = a.declaredChecks(ctx); err != nil {
		return nil, nil, fmt.Errorf("read the policies' checks: %w", err)
	}
	rs, err := a.recipes.ListRecipes(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("read the recipes: %w", err)
	}
	for _, r := range rs {
		recipeIDs = append(recipeIDs, r.ID)
	}
	return declared, recipeIDs, nil
}

func (a *API) createArticle(w http.ResponseWriter, r *http.Request, who Caller) {
	var req articleRequest
	if !decodeBody(w, r, &req) {
		return
	}
	declared, recipeIDs, err := a.articleLinks(r.Context())
	if err != nil {
		a.internal(w, "read what articles may link", err)
		return
	}
	if msg := req.linksError(declared, recipeIDs); msg != "" {
		writeError(w, http.StatusBadRequest, "bad_request", msg)
		return
	}
	site, ok := a.recordSite(w, who, req.Site)
	if !ok {
		return
	}
	art, err := a.kb.CreateArticle(r.Context(), store.Article{ID: wire.NewID(), Title: req.Title, Body: req.Body, State: store.ArticleDraft,
		Checks: req.Checks, Fixes: req.Fixes, SourceTicket: req.SourceTicket, CreatedBy: who.Name, CreatedAt: a.cfg.Now(), Site: site})
	if err != nil {
		a.articleError(w, r, err)
		return
	}
	a.audit(r, who, "article.create", art.ID, "ok", map[string]any{"title": art.Title, "source_ticket": art.SourceTicket})
	writeJSON(w, http.StatusCreated, art)
}

func (a *API) updateArticle(w http.ResponseWriter, r *http.Request, who Caller) {
	var req articleRequest
	if !decodeBody(w, r, &req) {
		return
	}
	id := r.PathValue("id")
	if req.SourceTicket != "" {
		writeError(w, http.StatusBadRequest, "bad_request", "source_ticket is set when an article is created and cannot be changed; leave it out")
		return
	}
	declared, recipeIDs, err := a.articleLinks(r.Context())
	if err != nil {
		a.internal(w, "read what articles may link", err)
		return
	}
	if msg := req.linksError(declared, recipeIDs); msg != "" {
		writeError(w, http.StatusBadRequest, "bad_request", msg)
		return
	}
	cur, err := a.kb.GetArticle(r.Context(), id)
	if err != nil {
		a.articleError(w, r, err)
		return
	}
	if articleLocked(cur.State) && who.Role.Rank() < store.RoleTier3.Rank() {
		a.audit(r, who, "article.update", id, "denied", map[string]any{"state": cur.State})
		writeError(w, http.StatusForbidden, "forbidden", "article "+id+" is "+cur.State+"; ask Tier 3 to change it, or to move it back to draft")
		return
	}
	art, err := a.kb.UpdateArticle(r.Context(), id, store.ArticleEdit{Title: req.Title, Body: req.Body, Checks: req.Checks, Fixes: req.Fixes}, who.Name, a.cfg.Now(), unlockedStates(who)...)
	if err != nil {
		a.articleError(w, r, err)
		return
	}
	a.audit(r, who, "article.update", id, "ok", map[string]any{"title": art.Title, "state": art.State})
	writeJSON(w, http.StatusOK, art)
}

func (a *API) setArticleState(w http.ResponseWriter, r *http.Request, who Caller) {
	var req struct {
		State string `json:"state"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	id := r.PathValue("id")
	if !slices.Contains(store.ArticleStates, req.State) {
		writeError(w, http.StatusBadRequest, "bad_request", "state must be one of "+strings.Join(store.ArticleStates, ", "))
		return
	}
	cur, err := a.kb.GetArticle(r.Context(), id)
	if err != nil {
		a.articleError(w, r, err)
		return
	}
	if (articleLocked(req.State) || articleLocked(cur.State)) && who.Role.Rank() < store.RoleTier3.Rank() {
		a.audit(r, who, "article.state", id, "denied", map[string]any{"from": cur.State, "to": req.State})
		writeError(w, http.StatusForbidden, "forbidden", "publishing, archiving and unpublishing articles needs the tier3 role or higher; you are "+string(who.Role))
		return
	}
	art, from, err := a.kb.SetArticleState(r.Context(), id, req.State, who.Name, a.cfg.Now(), unlockedStates(who)...)
	if err != nil {
		a.articleError(w, r, err)
		return
	}
	a.audit(r, who, "article.state", id, "ok", map[string]any{"from": from, "to": art.State})
	writeJSON(w, http.StatusOK, art)
}
