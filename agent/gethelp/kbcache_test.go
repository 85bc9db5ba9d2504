package gethelp

import (
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/tierline/tierline/shared/wire"
)

// TestKBCacheWritesOnChange: the same answer twice saves the cache once;
// a changed article saves it again, and the saved copy has the change.
func TestKBCacheWritesOnChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kb-cache.json")
	c := OpenKBCache(path, slog.New(slog.DiscardHandler))
	a := wire.KBArticle{ID: "kb-1", Title: "Printer jams", Body: "Open the tray."}
	c.Remember([]wire.KBArticle{a})
	c.Remember([]wire.KBArticle{a})
	if c.writes != 1 {
		t.Fatalf("two identical answers wrote the cache %d times, want 1", c.writes)
	}
	a.Body = "Open the tray and remove the paper."
	c.Remember([]wire.KBArticle{a})
	if c.writes != 2 {
		t.Fatalf("a changed article wrote the cache %d times in all, want 2", c.writes)
	}
	again := OpenKBCache(path, slog.New(slog.DiscardHandler))
	if got := again.Search("printer", nil, 10); len(got) != 1 || got[0].Body != a.Body {
		t.Fatalf("saved cache: %+v", got)
	}
}
