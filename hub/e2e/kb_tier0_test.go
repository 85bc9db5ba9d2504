package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestKBTier0 follows a knowledge-base article to the end user with real
// processes: a published article reaches `tierline-agent kb` through the
// agent's link (kb_query/kb_results), a draft with the same words does
// not, and with the hub stopped the agent answers from its saved copy and
// says so.
func TestKBTier0(t *testing.T) {
	h := startHub(t)
	a := enroll(t, h.tokenCreate())
	a.run()
	eventually(t, "the agent online", 30*time.Second, func() bool {
		var d device
		h.get("/api/v1/devices/"+a.id, &d)
		return d.Online
	})

	article := func(title, body string) string {
		var art struct {
			ID string `json:"id"`
		}
		code := h.do("POST", "/api/v1/articles", h.token,
			strings.NewReader(`{"title":"`+title+`","body":"`+body+`","checks":[],"fixes":["flush-dns"]}`), &art)
		if code != 201 && code != 200 || art.ID == "" {
			t.Fatalf("create article %q: status %d", title, code)
		}
		return art.ID
	}
	setState := func(id, state string) {
		if code := h.do("POST", "/api/v1/articles/"+id+"/state", h.token, strings.NewReader(`{"state":"`+state+`"}`), nil); code != 200 {
			t.Fatalf("article %s to %s: status %d", id, state, code)
		}
	}
	pub := article("Wobblefrog printer jams on tray 2", "Open tray 2 and remove the wobblefrog paper.")
	setState(pub, "reviewed")
	setState(pub, "published")
	draft := article("Wobblefrog draft not for users", "Internal notes about the wobblefrog.")

	kb := func() string {
		return must(t, "", "tierline-agent", "kb", "--state", a.state, "wobblefrog")
	}
	// The agent gives the hub 3 s to answer before it falls back to its
	// saved copy, so a slow first answer is asked again.
	var out string
	eventually(t, "the published article from the hub", 60*time.Second, func() bool {
		out = kb()
		return strings.Contains(out, "article "+pub) && !strings.Contains(out, "cannot be reached")
	})
	if !strings.Contains(out, "Wobblefrog printer jams on tray 2") {
		t.Fatalf("the published article is not shown:\n%s", out)
	}
	if strings.Contains(out, "draft not for users") || strings.Contains(out, draft) {
		t.Fatalf("a draft reached the end user:\n%s", out)
	}
	if strings.Contains(out, "saved") {
		t.Fatalf("online answer says it is from the saved copy:\n%s", out)
	}

	// Hub down: the agent answers from STATE/kb-cache.json.
	h.proc.stop()
	eventually(t, "the agent to notice the hub is gone", 30*time.Second, func() bool {
		return strings.Contains(kb(), "cannot be reached")
	})
	out = kb()
	if !strings.Contains(out, "Wobblefrog printer jams on tray 2") || strings.Contains(out, "draft not for users") {
		t.Fatalf("offline answer:\n%s", out)
	}
}
