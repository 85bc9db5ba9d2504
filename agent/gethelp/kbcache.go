package gethelp

import (
	"encoding/json"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tierline/tierline/agent/fsutil"
	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/shared/wire"
)

// KBCache keeps the published articles the agent has seen, so Get help
// can show them when the hub cannot be reached: STATE/kb-cache.json,
// bounded to maxCachedArticles articles of at most maxCachedBody bytes.
type KBCache struct {
	path string
	log  *slog.Logger

	mu       sync.Mutex
	articles map[string]cachedArticle
	saved    time.Time // when the file was last written
	writes   int       // how many times it was written (for the tests)
}

type cachedArticle struct {
	wire.KBArticle
	Seen time.Time `json:"seen"`
}

const maxCachedArticles, maxCachedBody = 200, 16 << 10

// OpenKBCache reads the cache kept at path; an unreadable file is ignored.
func OpenKBCache(path string, log *slog.Logger) *KBCache {
	c := &KBCache{path: path, log: log, articles: map[string]cachedArticle{}}
	if b, err := os.ReadFile(path); err == nil {
		var list []cachedArticle
		if err := json.Unmarshal(b, &list); err != nil {
			log.Warn("ignoring an unreadable knowledge-base cache; it fills again from the hub", "file", path, "err", err)
		}
		for _, a := range list {
			if a.ID != "" && len(c.articles) < maxCachedArticles {
				c.articles[a.ID] = a
			}
		}
	}
	return c
}

// Remember stores the hub's latest answer. The hub sends published
// articles only; an article the hub no longer returns for a query stays
// until it is pushed out by newer ones. The file is written when an
// article comes, goes or changes; when only the times they were last
// seen changed, at most once every kbSeenSave.
func (c *KBCache) Remember(list []wire.KBArticle) {
	if len(list) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now().UTC()
	changed := false
	for _, a := range list {
		a.Body = localipc.Cut(a.Body, maxCachedBody)
		if old, ok := c.articles[a.ID]; !ok || !sameArticle(old.KBArticle, a) {
			changed = true
		}
		c.articles[a.ID] = cachedArticle{KBArticle: a, Seen: now}
	}
	all := make([]cachedArticle, 0, len(c.articles))
	for _, a := range c.articles {
		all = append(all, a)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Seen.After(all[j].Seen) })
	if len(all) > maxCachedArticles {
		for _, a := range all[maxCachedArticles:] {
			delete(c.articles, a.ID)
		}
		all = all[:maxCachedArticles]
		changed = true
	}
	if !changed && now.Sub(c.saved) < kbSeenSave {
		return
	}
	b, err := json.Marshal(all)
	if err == nil {
		err = c.write(b)
	}
	if err != nil {
		c.log.Warn("save the knowledge-base cache", "file", c.path, "err", err)
		return
	}
	c.saved = now
	c.writes++
}

// kbSeenSave is how often the cache is saved when only the times its
// articles were last seen changed.
const kbSeenSave = time.Minute

// sameArticle reports whether a and b are the same article as the cache
// keeps it; the snippet depends on the query and does not count.
func sameArticle(a, b wire.KBArticle) bool {
	return a.ID == b.ID && a.Title == b.Title && a.Body == b.Body && slices.Equal(a.Checks, b.Checks) &&
		slices.Equal(a.Fixes, b.Fixes)
}

func (c *KBCache) write(b []byte) error { return fsutil.WriteAtomic(c.path, b, 0o600) }

// Search ranks the saved articles as the hub does, roughly: linked to a
// failing check first, then by how many of the words they contain.
func (c *KBCache) Search(text string, checks []string, limit int) []wire.KBArticle {
	words := strings.Fields(strings.ToLower(text))
	c.mu.Lock()
	defer c.mu.Unlock()
	type scored struct {
		a     wire.KBArticle
		score int
	}
	var hits []scored
	for _, a := range c.articles {
		score := 0
		for _, ch := range a.Checks {
			if slices.Contains(checks, ch) {
				score += 100
			}
		}
		hay := strings.ToLower(a.Title + " " + a.Body)
		for _, w := range words {
			if len(w) > 2 && strings.Contains(hay, w) {
				score += 10
				if strings.Contains(strings.ToLower(a.Title), w) {
					score += 5
				}
			}
		}
		if score > 0 {
			hits = append(hits, scored{a.KBArticle, score})
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].score != hits[j].score {
			return hits[i].score > hits[j].score
		}
		return hits[i].a.Title < hits[j].a.Title
	})
	out := []wire.KBArticle{}
	for _, h := range hits {
		if len(out) == limit {
			break
		}
		out = append(out, h.a)
	}
	return out
}
