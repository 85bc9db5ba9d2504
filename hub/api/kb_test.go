package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/tierline/tierline/hub/store"
)

func decodeArticle(t *testing.T, body []byte) store.Article {
	t.Helper()
	var a store.Article
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("article body %q: %v", body, err)
	}
	return a
}

func articleIDs(t *testing.T, body []byte) []string {
	t.Helper()
	var out struct {
		Articles []store.ArticleHit `json:"articles"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("articles body %q: %v", body, err)
	}
	ids := []string{}
	for _, a := range out.Articles {
		ids = append(ids, a.ID)
	}
	return ids
}

// newArticle creates a draft as Tier 2 and moves it to state with Tier 3.
func (f fixture) newArticle(t *testing.T, body, state string) store.Article {
	t.Helper()
	rec := f.call(t, "POST", "/api/v1/articles", f.tokens[store.RoleTier2], body)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create article: %d %s", rec.Code, rec.Body)
	}
	a := decodeArticle(t, rec.Body.Bytes())
	path := []string{store.ArticleReviewed, store.ArticlePublished, store.ArticleArchived}
	for _, st := range path[:slices.Index(store.ArticleStates, state)] {
		if rec := f.call(t, "POST", "/api/v1/articles/"+a.ID+"/state", f.tokens[store.RoleTier3], `{"state":"`+st+`"}`); rec.Code != http.StatusOK {
			t.Fatalf("move article to %s: %d %s", st, rec.Code, rec.Body)
		}
	}
	return a
}

func (f fixture) getArticle(t *testing.T, id string) store.Article {
	t.Helper()
	rec := f.call(t, "GET", "/api/v1/articles/"+id, f.tokens[store.RoleTier3], "")
	if rec.Code != http.StatusOK {
		t.Fatalf("get article %s: %d %s", id, rec.Code, rec.Body)
	}
	return decodeArticle(t, rec.Body.Bytes())
}

func TestArticleCreateAndGet(t *testing.T) {
	f := setup(t)
	md := "# Printer\n\n<script>alert(1)</script> **Open** the tray & remove the paper.\n"
	body, _ := json.Marshal(map[string]any{"title": "Printer jammed", "body": md, "checks": []string{"service-stopped"}, "fixes": []string{"restart-print-spooler"}, "source_ticket": "t-1"})
	if rec := f.call(t, "POST", "/api/v1/articles", f.tokens[store.RoleTier1], string(body)); rec.Code != http.StatusForbidden {
		t.Fatalf("tier1 create: %d, want 403", rec.Code)
	}
	rec := f.call(t, "POST", "/api/v1/articles", f.tokens[store.RoleTier2], string(body))
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	a := decodeArticle(t, rec.Body.Bytes())
	if a.State != store.ArticleDraft || a.CreatedBy != "u-tier2" || a.Body != md || a.SourceTicket != "t-1" || !slices.Equal(a.Checks, []string{"service-stopped"}) {
		t.Fatalf("created %+v", a)
	}
	// Markdown comes back byte for byte, never rendered or escaped away.
	rec = f.call(t, "GET", "/api/v1/articles/"+a.ID, f.tokens[store.RoleTier3], "")
	if rec.Code != http.StatusOK || decodeArticle(t, rec.Body.Bytes()).Body != md || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("get as tier3: %d %s", rec.Code, rec.Body)
	}
	// Drafts are not shown to Tier 1 and 2.
	for _, role := range []store.Role{store.RoleTier1, store.RoleTier2} {
		if rec := f.call(t, "GET", "/api/v1/articles/"+a.ID, f.tokens[role], ""); rec.Code != http.StatusNotFound {
			t.Fatalf("get draft as %s: %d, want 404", role, rec.Code)
		}
	}
	if rec := f.call(t, "GET", "/api/v1/articles/nope", f.tokens[store.RoleAdmin], ""); rec.Code != http.StatusNotFound {
		t.Fatalf("get unknown: %d", rec.Code)
	}
	for _, bad := range []string{`{"title":""}`, `{"title":"x","checks":["a,b"]}`, `{"title":"x","fixes":["has space"]}`, `{"title":"x","state":"published"}`, `{"title":`, `[]`} {
		if rec := f.call(t, "POST", "/api/v1/articles", f.tokens[store.RoleTier2], bad); rec.Code != http.StatusBadRequest {
			t.Errorf("create %s: %d %s, want 400", bad, rec.Code, rec.Body)
		}
	}
	// Every change is audited.
	rec = f.call(t, "GET", "/api/v1/audit?action=article.create", f.tokens[store.RoleAdmin], "")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), a.ID) {
		t.Fatalf("audit: %d %s", rec.Code, rec.Body)
	}
}

func TestArticleUpdate(t *testing.T) {
	f := setup(t)
	a := f.newArticle(t, `{"title":"VPN drops"}`, store.ArticleDraft)
	path := "/api/v1/articles/" + a.ID
	if rec := f.call(t, "PUT", path, f.tokens[store.RoleTier1], `{"title":"x"}`); rec.Code != http.StatusForbidden {
		t.Fatalf("tier1 update: %d", rec.Code)
	}
	rec := f.call(t, "PUT", path, f.tokens[store.RoleTier2], `{"title":"VPN drops every hour","body":"Renew the lease.","checks":["default-route"]}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("update: %d %s", rec.Code, rec.Body)
	}
	if got := decodeArticle(t, rec.Body.Bytes()); got.Title != "VPN drops every hour" || got.UpdatedBy != "u-tier2" || !slices.Equal(got.Checks, []string{"default-route"}) {
		t.Fatalf("updated %+v", got)
	}
	for _, bad := range []string{`{"title":""}`, `{"title":"x","source_ticket":"t2"}`, `{"title":"x","unknown":1}`, `nope`} {
		if rec := f.call(t, "PUT", path, f.tokens[store.RoleTier2], bad); rec.Code != http.StatusBadRequest {
			t.Errorf("update %s: %d, want 400", bad, rec.Code)
		}
	}
	// Links name real checks and catalog fixes; a misspelt one is refused
	// with the names to choose from, on create and on edit.
	for _, c := range []struct{ method, path, body, want string }{
		{"PUT", path, `{"title":"x","checks":["gateway-ping"]}`, `\"gateway-ping\" is not a health check; use one of disk-almost-full`},
		{"PUT", path, `{"title":"x","fixes":["rm-rf"]}`, `\"rm-rf\" is neither a fix of the catalog nor a published recipe; use one of`},
		{"POST", "/api/v1/articles", `{"title":"x","fixes":["flush-dns","format-disk"]}`, `\"format-disk\" is neither a fix of the catalog nor a published recipe`},
	} {
		rec := f.call(t, c.method, c.path, f.tokens[store.RoleTier2], c.body)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("%s %s: %d %s, want 400 saying %s", c.method, c.body, rec.Code, rec.Body, c.want)
		}
	}
	if got := f.getArticle(t, a.ID); !slices.Equal(got.Checks, []string{"default-route"}) {
		t.Errorf("a refused edit changed the article: %+v", got)
	}
	if rec := f.call(t, "PUT", "/api/v1/articles/nope", f.tokens[store.RoleTier2], `{"title":"x"}`); rec.Code != http.StatusNotFound {
		t.Fatalf("update unknown: %d", rec.Code)
	}
	// Once published, only Tier 3 edits it.
	for _, st := range []string{store.ArticleReviewed, store.ArticlePublished} {
		if rec := f.call(t, "POST", path+"/state", f.tokens[store.RoleTier3], `{"state":"`+st+`"}`); rec.Code != http.StatusOK {
			t.Fatalf("move to %s: %d %s", st, rec.Code, rec.Body)
		}
	}
	if rec := f.call(t, "PUT", path, f.tokens[store.RoleTier2], `{"title":"x"}`); rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "Tier 3") {
		t.Fatalf("tier2 edits published: %d %s", rec.Code, rec.Body)
	}
	if rec := f.call(t, "PUT", path, f.tokens[store.RoleTier3], `{"title":"VPN drops hourly"}`); rec.Code != http.StatusOK {
		t.Fatalf("tier3 edits published: %d %s", rec.Code, rec.Body)
	}
	rec = f.call(t, "GET", "/api/v1/audit?action=article.update", f.tokens[store.RoleAdmin], "")
	if !strings.Contains(rec.Body.String(), `"denied"`) || !strings.Contains(rec.Body.String(), `"ok"`) {
		t.Fatalf("update audit: %s", rec.Body)
	}
}

func TestArticleStateRoles(t *testing.T) {
	f := setup(t)
	a := f.newArticle(t, `{"title":"Disk full"}`, store.ArticleDraft)
	path := "/api/v1/articles/" + a.ID + "/state"
	steps := []struct {
		role store.Role
		to   string
		code int
	}{
		{store.RoleTier1, store.ArticleReviewed, http.StatusForbidden},
		{store.RoleTier2, store.ArticlePublished, http.StatusForbidden}, // publishing is Tier 3
		{store.RoleTier3, store.ArticlePublished, http.StatusConflict},  // a draft is reviewed first
		{store.RoleTier2, store.ArticleReviewed, http.StatusOK},
		{store.RoleTier2, store.ArticleDraft, http.StatusOK},
		{store.RoleTier2, store.ArticleReviewed, http.StatusOK},
		{store.RoleTier3, store.ArticlePublished, http.StatusOK},
		{store.RoleTier2, store.ArticleDraft, http.StatusForbidden}, // unpublishing is Tier 3
		{store.RoleTier2, store.ArticleArchived, http.StatusForbidden},
		{store.RoleTier3, store.ArticleArchived, http.StatusOK},
		{store.RoleTier3, store.ArticlePublished, http.StatusConflict},
		{store.RoleAdmin, store.ArticleDraft, http.StatusOK},
		{store.RoleTier2, "live", http.StatusBadRequest},
		{store.RoleTier2, "", http.StatusBadRequest},
	}
	for i, st := range steps {
		rec := f.call(t, "POST", path, f.tokens[st.role], `{"state":"`+st.to+`"}`)
		if rec.Code != st.code {
			t.Fatalf("step %d: %s moves to %q: %d %s, want %d", i, st.role, st.to, rec.Code, rec.Body, st.code)
		}
		if st.code == http.StatusConflict && !strings.Contains(rec.Body.String(), "can only go to") {
			t.Fatalf("step %d: conflict does not say what is allowed: %s", i, rec.Body)
		}
	}
	if rec := f.call(t, "POST", "/api/v1/articles/nope/state", f.tokens[store.RoleTier3], `{"state":"reviewed"}`); rec.Code != http.StatusNotFound {
		t.Fatalf("unknown article: %d", rec.Code)
	}
	if rec := f.call(t, "POST", path, f.tokens[store.RoleTier3], `{"state":"reviewed","x":1}`); rec.Code != http.StatusBadRequest {
		t.Fatalf("unknown field: %d", rec.Code)
	}
	rec := f.call(t, "GET", "/api/v1/audit?action=article.state", f.tokens[store.RoleAdmin], "")
	var evs []store.AuditEvent
	if err := json.Unmarshal(rec.Body.Bytes(), &evs); err != nil {
		var wrapped struct {
			Events []store.AuditEvent `json:"events"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &wrapped); err != nil {
			t.Fatalf("audit body %s: %v", rec.Body, err)
		}
		evs = wrapped.Events
	}
	ok, denied := 0, 0
	for _, e := range evs {
		switch e.Outcome {
		case "ok":
			ok++
		case "denied":
			denied++
		}
	}
	if ok != 6 || denied != 3 {
		t.Fatalf("audit: %d ok, %d denied state changes, want 6 and 3: %s", ok, denied, rec.Body)
	}
}

func TestArticleListAndSearch(t *testing.T) {
	f := setup(t)
	pub := f.newArticle(t, `{"title":"Printer jammed","body":"Open the tray and remove the paper."}`, store.ArticlePublished)
	rev := f.newArticle(t, `{"title":"Printer offline","body":"Check the cable."}`, store.ArticleReviewed)
	draft := f.newArticle(t, `{"title":"Printer draft","body":"printer printer"}`, store.ArticleDraft)
	arch := f.newArticle(t, `{"title":"Old printer","body":"printer"}`, store.ArticleArchived)
	linked := f.newArticle(t, `{"title":"Spooler stuck","body":"Restart it.","checks":["service-stopped"]}`, store.ArticlePublished)

	get := func(role store.Role, query string) (int, []string) {
		t.Helper()
		rec := f.call(t, "GET", "/api/v1/articles"+query, f.tokens[role], "")
		if rec.Code != http.StatusOK {
			return rec.Code, nil
		}
		return rec.Code, articleIDs(t, rec.Body.Bytes())
	}
	for _, role := range []store.Role{store.RoleTier1, store.RoleTier2} {
		_, ids := get(role, "")
		if len(ids) != 3 || slices.Contains(ids, draft.ID) || slices.Contains(ids, arch.ID) {
			t.Fatalf("list as %s: %v, want published and reviewed only", role, ids)
		}
		_, ids = get(role, "?q=printer")
		if len(ids) != 2 || ids[0] != pub.ID && ids[0] != rev.ID {
			t.Fatalf("search as %s: %v", role, ids)
		}
		if code, _ := get(role, "?state=draft"); code != http.StatusForbidden {
			t.Fatalf("drafts as %s: %d, want 403", role, code)
		}
	}
	if _, ids := get(store.RoleTier3, ""); len(ids) != 5 {
		t.Fatalf("list as tier3: %v", ids)
	}
	if _, ids := get(store.RoleTier3, "?state=draft,archived"); len(ids) != 2 || !slices.Contains(ids, draft.ID) || !slices.Contains(ids, arch.ID) {
		t.Fatalf("drafts and archived as tier3: %v", ids)
	}
	if _, ids := get(store.RoleAdmin, "?q=printer&state=published"); len(ids) != 1 || ids[0] != pub.ID {
		t.Fatalf("published search: %v", ids)
	}
	// A failing check brings its article first, even without a text hit.
	if _, ids := get(store.RoleTier1, "?q=printer&check=service-stopped&check=dns-resolution"); len(ids) != 3 || ids[0] != linked.ID {
		t.Fatalf("search with checks: %v", ids)
	}
	if _, ids := get(store.RoleTier1, "?check=service-stopped,disk-space"); len(ids) != 1 || ids[0] != linked.ID {
		t.Fatalf("checks only: %v", ids)
	}
	rec := f.call(t, "GET", "/api/v1/articles?q=tray", f.tokens[store.RoleTier1], "")
	if !strings.Contains(rec.Body.String(), `"snippet"`) || !strings.Contains(rec.Body.String(), "**tray**") {
		t.Fatalf("search without snippet: %s", rec.Body)
	}
	// Hostile text is just words.
	for _, q := range []string{`"`, `NEAR(printer`, `printer*`, `-printer`, `'; DROP TABLE articles; --`, `a:*|!`, `%_\`} {
		if code, _ := get(store.RoleTier1, "?q="+url.QueryEscape(q)); code != http.StatusOK {
			t.Errorf("search %q: %d", q, code)
		}
	}
	for _, bad := range []string{"?state=live", "?limit=0", "?limit=x", "?check=a%20b", "?q=" + strings.Repeat("x", 1001)} {
		if code, _ := get(store.RoleTier3, bad); code != http.StatusBadRequest {
			t.Errorf("list %s: %d, want 400", bad[:min(len(bad), 20)], code)
		}
	}
	if _, ids := get(store.RoleTier3, "?limit=2"); len(ids) != 2 {
		t.Fatalf("limit: %v", ids)
	}
}
