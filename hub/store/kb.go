package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/tierline/tierline/shared/diag"
)

// Article states.
const (
	ArticleDraft     = "draft"
	ArticleReviewed  = "reviewed"
	ArticlePublished = "published"
	ArticleArchived  = "archived"
)

// ArticleStates lists every article state in lifecycle order.
var ArticleStates = []string{ArticleDraft, ArticleReviewed, ArticlePublished, ArticleArchived}

// articleMoves is the article lifecycle: forward one step at a time, and
// back to draft from any later state so an article can be reworked.
var articleMoves = map[string][]string{
	ArticleDraft:     {ArticleReviewed},
	ArticleReviewed:  {ArticlePublished, ArticleDraft},
	ArticlePublished: {ArticleArchived, ArticleDraft},
	ArticleArchived:  {ArticleDraft},
}

// ErrArticleTransition is returned by SetArticleState for a move the
// lifecycle does not allow; the wrapped message names the allowed ones.
var ErrArticleTransition = errors.New("article state change not allowed")

// ErrArticleInvalid is returned for an article that cannot be stored as
// given; the wrapped message says what to change.
var ErrArticleInvalid = errors.New("invalid article")

// ArticleMoves returns the states an article in state from may move to.
func ArticleMoves(from string) []string { return slices.Clone(articleMoves[from]) }

// Article is a knowledge base article. Body is Markdown, stored and
// returned as written; nothing in the hub renders it.
type Article struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Body  string `json:"body"`
	State string `json:"state"`
	// Checks are the health checks whose failure the article addresses.
	Checks []string `json:"checks"`
	// Fixes are the catalog fixes the article recommends.
	Fixes        []string  `json:"fixes"`
	SourceTicket string    `json:"source_ticket,omitempty"`
	CreatedBy    string    `json:"created_by"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	UpdatedBy    string    `json:"updated_by"`
	// Site keeps the article to one site; "" shares it with every site.
	Site string `json:"site,omitempty"`
}

// ArticleEdit is the editable part of an article.
type ArticleEdit struct {
	Title  string
	Body   string
	Checks []string
	Fixes  []string
}

// ArticleFilter selects articles, most recently updated first. Empty
// States means every state.
type ArticleFilter struct {
	States []string
	Limit  int
}

// ArticleQuery is a knowledge base search.
type ArticleQuery struct {
	// Text is what the user typed; any text is safe, it is reduced to
	// words before it reaches the full-text engine.
	Text string
	// Checks are failing health checks; articles linked to any of them
	// match even without a text hit and rank above those without a link.
	Checks []string
	// States limits the result; empty means every state. Tier 0 (the
	// agent's Get help) asks for published only.
	States []string
	Limit  int
}

// ArticleHit is one search result.
type ArticleHit struct {
	Article
	// Snippet is an excerpt of the body around the matched words, which
	// are wrapped in ** (Markdown bold).
	Snippet string `json:"snippet"`
	// MatchedChecks are the query's checks the article is linked to.
	MatchedChecks []string `json:"matched_checks,omitempty"`
}

const articleCols = `id, title, body, state, checks, fixes, source_ticket, created_by, created_at, updated_at, updated_by, site`

func scanArticle(sc rowScanner, extra ...any) (Article, error) {
	var a Article
	var checks, fixes string
	var created, updated int64
	var site sql.NullString
	dest := append([]any{&a.ID, &a.Title, &a.Body, &a.State, &checks, &fixes, &a.SourceTicket, &a.CreatedBy, &created, &updated, &a.UpdatedBy, &site}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return a, err
	}
	a.Site = site.String
	a.Checks, a.Fixes = splitList(checks), splitList(fixes)
	a.CreatedAt, a.UpdatedAt = fromNS(created), fromNS(updated)
	return a, nil
}

func splitList(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// cleanList trims, drops empty and duplicate names and checks that each
// name can live in a comma list.
func cleanList(what string, names []string) ([]string, error) {
	out := []string{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" || slices.Contains(out, n) {
			continue
		}
		if len(n) > 100 || strings.ContainsFunc(n, func(r rune) bool { return r == ',' || unicode.IsSpace(r) || unicode.IsControl(r) }) {
			return nil, fmt.Errorf("%w: %s name %q must be at most 100 characters without commas or spaces", ErrArticleInvalid, what, n)
		}
		out = append(out, n)
	}
	return out, nil
}

func (e *ArticleEdit) clean() error {
	e.Title = strings.TrimSpace(e.Title)
	if e.Title == "" {
		return fmt.Errorf("%w: give the article a title", ErrArticleInvalid)
	}
	if len(e.Title) > 300 {
		return fmt.Errorf("%w: shorten the title to at most 300 bytes", ErrArticleInvalid)
	}
	if len(e.Body) > 1<<20 {
		return fmt.Errorf("%w: shorten the body to at most 1 MiB", ErrArticleInvalid)
	}
	var err error
	if e.Checks, err = cleanList("check", e.Checks); err != nil {
		return err
	}
	e.Fixes, err = cleanList("fix", e.Fixes)
	return err
}

// CreateArticle stores a new article in state draft (or the state a is
// given, for imports) and returns it as stored. a.ID must be set;
// ErrExists when it is taken.
func (s *Store) CreateArticle(ctx context.Context, a Article) (Article, error) {
	if a.ID == "" {
		return a, fmt.Errorf("%w: give the article an id", ErrArticleInvalid)
	}
	if a.State == "" {
		a.State = ArticleDraft
	}
	if !slices.Contains(ArticleStates, a.State) {
		return a, fmt.Errorf("%w: state %q is not one of %s", ErrArticleInvalid, a.State, strings.Join(ArticleStates, ", "))
	}
	e := ArticleEdit{Title: a.Title, Body: a.Body, Checks: a.Checks, Fixes: a.Fixes}
	if err := e.clean(); err != nil {
		return a, err
	}
	a.Title, a.Body, a.Checks, a.Fixes = e.Title, e.Body, e.Checks, e.Fixes
	if a.CreatedAt.IsZero() {
		a.CreatedAt = time.Now()
	}
	a.CreatedAt = fromNS(a.CreatedAt.UnixNano())
	a.UpdatedAt, a.UpdatedBy = a.CreatedAt, a.CreatedBy
	if err := checkRecordSite(ctx, a.Site); err != nil {
		return a, fmt.Errorf("create article: %w", err)
	}
	_, err := s.w.ExecContext(ctx, s.q(`INSERT INTO articles (`+articleCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		a.ID, a.Title, a.Body, a.State, strings.Join(a.Checks, ","), strings.Join(a.Fixes, ","), a.SourceTicket,
		a.CreatedBy, a.CreatedAt.UnixNano(), a.UpdatedAt.UnixNano(), a.UpdatedBy, nullSite(a.Site))
	if isUniqueViolation(err) {
		return a, fmt.Errorf("article %s: %w", a.ID, ErrExists)
	}
	if err != nil {
		return a, fmt.Errorf("create article: %w", err)
	}
	return a, nil
}

// UpdateArticle replaces an article's title, body, checks and fixes; its
// state is unchanged. With onlyIn, the article must be in one of those
// states (a caller's permission may depend on it), else
// ErrArticleTransition. ErrNotFound for an unknown id.
func (s *Store) UpdateArticle(ctx context.Context, id string, e ArticleEdit, by string, at time.Time, onlyIn ...string) (Article, error) {
	if err := e.clean(); err != nil {
		return Article{}, err
	}
	var a Article
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		cur, err := s.getArticle(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := writableSite(ctx, "article "+id, cur.Site); err != nil {
			return err
		}
		if len(onlyIn) > 0 && !slices.Contains(onlyIn, cur.State) {
			return fmt.Errorf("%w: article %s is %s now; reload it and ask someone allowed to change %s articles", ErrArticleTransition, id, cur.State, cur.State)
		}
		args := []any{e.Title, e.Body, strings.Join(e.Checks, ","), strings.Join(e.Fixes, ","), at.UnixNano(), by, id, cur.State}
		res, err := tx.ExecContext(ctx, s.q(`UPDATE articles SET title = ?, body = ?, checks = ?, fixes = ?, updated_at = ?, updated_by = ? WHERE id = ? AND state = ?`), args...)
		if err != nil {
			return fmt.Errorf("update article %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: article %s changed meanwhile; reload it and try again", ErrArticleTransition, id)
		}
		a, err = s.getArticle(ctx, tx, id)
		return err
	})
	return a, err
}

// SetArticleState moves an article along its lifecycle (see ArticleMoves)
// and returns it with the state it had before. With onlyFrom, the article
// must be in one of those states. ErrArticleTransition for a move that is
// not allowed, ErrNotFound for an unknown id.
func (s *Store) SetArticleState(ctx context.Context, id, state, by string, at time.Time, onlyFrom ...string) (a Article, from string, err error) {
	if !slices.Contains(ArticleStates, state) {
		return a, "", fmt.Errorf("%w: state %q is not one of %s", ErrArticleInvalid, state, strings.Join(ArticleStates, ", "))
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		cur, err := s.getArticle(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := writableSite(ctx, "article "+id, cur.Site); err != nil {
			return err
		}
		from = cur.State
		if len(onlyFrom) > 0 && !slices.Contains(onlyFrom, from) {
			return fmt.Errorf("%w: article %s is %s now; reload it and ask someone allowed to move %s articles", ErrArticleTransition, id, from, from)
		}
		if !slices.Contains(articleMoves[from], state) {
			return fmt.Errorf("%w: article %s is %s and can only go to %s", ErrArticleTransition, id, from, strings.Join(articleMoves[from], " or "))
		}
		// The state guard keeps a concurrent change from being overwritten.
		res, err := tx.ExecContext(ctx, s.q(`UPDATE articles SET state = ?, updated_at = ?, updated_by = ? WHERE id = ? AND state = ?`),
			state, at.UnixNano(), by, id, from)
		if err != nil {
			return fmt.Errorf("set article %s state: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: article %s changed meanwhile; reload it and try again", ErrArticleTransition, id)
		}
		a, err = s.getArticle(ctx, tx, id)
		return err
	})
	return a, from, err
}

// GetArticle returns one article; ErrNotFound for an unknown id.
func (s *Store) GetArticle(ctx context.Context, id string) (Article, error) {
	return s.getArticle(ctx, s.r, id)
}

func (s *Store) getArticle(ctx context.Context, db execer, id string) (Article, error) {
	inSite, siteArgs := sharedSuffix(ctx, "site")
	a, err := scanArticle(db.QueryRowContext(ctx, s.q(`SELECT `+articleCols+` FROM articles WHERE id = ?`+inSite), append([]any{id}, siteArgs...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("article %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("get article %s: %w", id, err)
	}
	return a, nil
}

// stateIn returns " AND col IN (?, ...)" for a non-empty list of states.
func stateIn(col string, states []string, args *[]any) string {
	if len(states) == 0 {
		return ""
	}
	ph := make([]string, len(states))
	for i, st := range states {
		ph[i] = "?"
		*args = append(*args, st)
	}
	return " AND " + col + " IN (" + strings.Join(ph, ", ") + ")"
}

func clampLimit(n int) int {
	if n <= 0 || n > 500 {
		return 500
	}
	return n
}

// ListArticles returns articles, most recently updated first.
func (s *Store) ListArticles(ctx context.Context, f ArticleFilter) ([]Article, error) {
	var args []any
	where := stateIn("state", f.States, &args)
	inSite, siteArgs := sharedSuffix(ctx, "site")
	where += inSite
	args = append(args, siteArgs...)
	args = append(args, clampLimit(f.Limit))
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+articleCols+` FROM articles WHERE 1 = 1`+where+` ORDER BY updated_at DESC, id LIMIT ?`), args...)
	if err != nil {
		return nil, fmt.Errorf("list articles: %w", err)
	}
	defer rows.Close()
	out := []Article{}
	for rows.Next() {
		a, err := scanArticle(rows)
		if err != nil {
			return nil, fmt.Errorf("list articles: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list articles: %w", err)
	}
	return out, nil
}

// searchWords reduces free text to at most 32 lower-case words of letters
// and digits. Only these reach the full-text engines, so no query syntax
// (quotes, NEAR, *, -, column filters, tsquery operators) can get through.
func searchWords(text string) []string {
	var words []string
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if r := []rune(w); len(r) > 64 {
			w = string(r[:64])
		}
		if !slices.Contains(words, w) {
			words = append(words, w)
		}
		if len(words) == 32 {
			break
		}
	}
	return words
}

// SearchArticles finds articles whose title or body contains any of the
// query's words or that are linked to any of its checks. Articles linked
// to more of the checks come first; then the better text match; then the
// most recently updated. An empty query (no words, no checks) finds
// nothing.
func (s *Store) SearchArticles(ctx context.Context, q ArticleQuery) ([]ArticleHit, error) {
	words := searchWords(q.Text)
	checks, err := cleanList("check", q.Checks)
	if err != nil {
		return nil, err
	}
	if len(checks) > diag.MaxSearchChecks {
		return nil, fmt.Errorf("%w: search with at most %d checks, the failing ones", ErrArticleInvalid, diag.MaxSearchChecks)
	}
	if len(words) == 0 && len(checks) == 0 {
		return []ArticleHit{}, nil
	}
	limit := q.Limit
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	pos := "instr"
	if s.dialect == DialectPostgres {
		pos = "strpos"
	}
	// Exact membership in the comma list, without LIKE wildcards.
	var checkArgs []any
	var terms []string
	for _, c := range checks {
		terms = append(terms, "(CASE WHEN "+pos+"(',' || a.checks || ',', ?) > 0 THEN 1 ELSE 0 END)")
		checkArgs = append(checkArgs, ","+c+",")
	}
	boost := "0"
	if len(terms) > 0 {
		boost = strings.Join(terms, " + ")
	}

	var query string
	var args []any
	switch {
	case s.dialect == DialectPostgres && len(words) > 0:
		// Words are letters and digits only, so joining them with | is a
		// valid tsquery.
		args = append(args, checkArgs...)
		args = append(args, strings.Join(words, " | "))
		args = append(args, checkArgs...)
		where := stateIn("a.state", q.States, &args)
		inSite, siteArgs := sharedSuffix(ctx, "a.site")
		where += inSite
		args = append(args, siteArgs...)
		args = append(args, limit)
		query = `SELECT ` + prefixed("m.", articleCols) + `, m.boost, m.rank,
				ts_headline('simple', m.body, m.tq, 'StartSel=**, StopSel=**, MaxWords=30, MinWords=12, MaxFragments=1')
			FROM (SELECT a.*, tq, ` + boost + ` AS boost, ts_rank(a.tsv, tq) AS rank
				FROM articles a, to_tsquery('simple', ?) tq
				WHERE (a.tsv @@ tq OR ` + boost + ` > 0)` + where + `
				ORDER BY boost DESC, rank DESC, a.updated_at DESC, a.id LIMIT ?) m
			ORDER BY m.boost DESC, m.rank DESC, m.updated_at DESC, m.id`
	case len(words) > 0:
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = `"` + w + `"`
		}
		args = append(args, strings.Join(quoted, " OR "))
		args = append(args, checkArgs...)
		args = append(args, checkArgs...)
		where := stateIn("a.state", q.States, &args)
		inSite, siteArgs := sharedSuffix(ctx, "a.site")
		where += inSite
		args = append(args, siteArgs...)
		args = append(args, limit)
		// bm25 is lower for better matches; title counts ten times body.
		query = `WITH hits AS (
				SELECT id, bm25(articles_fts, 0.0, 10.0, 1.0) AS score, snippet(articles_fts, 2, '**', '**', '…', 24) AS snip
				FROM articles_fts WHERE articles_fts MATCH ?)
			SELECT ` + prefixed("a.", articleCols) + `, ` + boost + ` AS boost, -COALESCE(h.score, 0), COALESCE(h.snip, '')
			FROM articles a LEFT JOIN hits h ON h.id = a.id
			WHERE (h.id IS NOT NULL OR ` + boost + ` > 0)` + where + `
			ORDER BY boost DESC, COALESCE(h.score, 0) ASC, a.updated_at DESC, a.id LIMIT ?`
	default:
		args = append(args, checkArgs...)
		args = append(args, checkArgs...)
		where := stateIn("a.state", q.States, &args)
		inSite, siteArgs := sharedSuffix(ctx, "a.site")
		where += inSite
		args = append(args, siteArgs...)
		args = append(args, limit)
		query = `SELECT ` + prefixed("a.", articleCols) + `, ` + boost + ` AS boost, 0.0, ''
			FROM articles a WHERE ` + boost + ` > 0` + where + `
			ORDER BY boost DESC, a.updated_at DESC, a.id LIMIT ?`
	}
	rows, err := s.r.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("search articles: %w", err)
	}
	defer rows.Close()
	out := []ArticleHit{}
	for rows.Next() {
		var h ArticleHit
		var boostN int
		var rank float64
		if h.Article, err = scanArticle(rows, &boostN, &rank, &h.Snippet); err != nil {
			return nil, fmt.Errorf("search articles: %w", err)
		}
		for _, c := range checks {
			if slices.Contains(h.Checks, c) {
				h.MatchedChecks = append(h.MatchedChecks, c)
			}
		}
		if h.Snippet == "" || !strings.Contains(h.Snippet, "**") && len(words) == 0 {
			h.Snippet = leadOf(h.Body, 200)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search articles: %w", err)
	}
	return out, nil
}

// prefixed qualifies each column of a comma list with p.
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = p + parts[i]
	}
	return strings.Join(parts, ", ")
}

// leadOf is the start of s, at most n runes, cut at a space when it can be.
func leadOf(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	cut := string(r[:n])
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	}
	return cut + "…"
}
