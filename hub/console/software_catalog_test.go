package console

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/recipes"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/software"
)

// TestRecipesPageListsSoftware: a published software catalog entry is on
// the Recipes page, marked software, with its manager, package and
// version rule; its title (signed, but still the organisation's text) is
// escaped.
func TestRecipesPageListsSoftware(t *testing.T) {
	tc := newTestConsole(t)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	doc, err := software.Sign(priv, software.Entry{ID: "libreoffice", Version: 2, Title: `Office <b>suite</b>`, Manager: software.Apt,
		Package: "libreoffice", MinVersion: "4:7.4"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := doc.Encode()
	if _, err := recipes.Publish(context.Background(), tc.st, raw, []string{"*"}, "admin", time.Now()); err != nil {
		t.Fatal(err)
	}
	res, page := tc.get(t, tc.login(t, store.RoleTier1), "/recipes")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /recipes: %d", res.StatusCode)
	}
	i := strings.Index(page, `data-recipe="libreoffice"`)
	if i < 0 {
		t.Fatalf("no row for the software entry:\n%s", page)
	}
	row := page[i:]
	row = row[:strings.Index(row, "</tr>")]
	for _, want := range []string{"software</span>", "apt libreoffice", "version 4:7.4 or later", "Office &lt;b&gt;suite&lt;/b&gt;", ">2<"} {
		if !strings.Contains(row, want) {
			t.Errorf("software row lacks %q:\n%s", want, row)
		}
	}
}
