package selfhelp

import (
	"strings"
	"testing"
)

// TestHelpLimitIsShown: the agent refuses a help request over the user's
// limit; the page's API answers 429 with the agent's words, which say when
// the user can ask again (app.js shows the error as the result).
func TestHelpLimitIsShown(t *testing.T) {
	socket, a := startAgent(t)
	s := startPage(t, socket)
	c, csrf := login(t, s)
	r := do(t, c, "POST", base(s)+"/api/help", `{"text":"ask again","category":"slow"}`, post(s, csrf))
	if r.code != 429 || !strings.Contains(r.body, "You can ask again at 10:42 (in 12 minutes)") {
		t.Fatalf("help over the limit: %d %s", r.code, r.body)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.help) != 0 {
		t.Fatalf("%d requests filed", len(a.help))
	}
}
