package selfhelp

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tierline/tierline/agent/localipc"
)

// FuzzDecode: whatever body arrives, the decoder either fills the route's
// input or answers with a 4xx and a JSON error in words; it never panics.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"text":"printer jams","category":"printing"}`, `{"fix":"clear-temp","params":{"min_age_hours":"48"}}`,
		`{"text":"x","screenshot":"iVBORw0KGgo="}`, `{`, `[]`, `null`, `{"text":1}`, `{"a":1} {"b":2}`, "\x00", `{"ticket_id":"t","score":5}`} {
		f.Add(s)
	}
	targets := []func() any{
		func() any { return &kbCall{} },
		func() any { return &localipc.RunCall{} },
		func() any { return &helpCall{} },
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, mk := range targets {
			v := mk()
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodPost, "/api/x", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			if decode(w, r, v) {
				if w.Code != http.StatusOK {
					t.Fatalf("decoded but answered %d", w.Code)
				}
				continue
			}
			if w.Code < 400 || w.Code >= 500 {
				t.Fatalf("refused %q with %d", body, w.Code)
			}
			var e struct{ Error string }
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
				t.Fatalf("refusal of %q is not a JSON error: %s", body, w.Body.Bytes())
			}
		}
	})
}
