package selfhelp

import (
	"net/http"
	"strings"
	"testing"
)

// The page lists the agent's request templates and files a request with
// its answers; answers without a template, or with keys that are not a
// template's, are refused before they reach the agent.
func TestRequestTemplatesThroughThePage(t *testing.T) {
	socket, ag := startAgent(t)
	s := startPage(t, socket)
	c, csrf := login(t, s)
	a := do(t, c, "GET", base(s)+"/api/templates", "", nil)
	if a.code != http.StatusOK || !strings.Contains(a.body, `"name":"A new monitor"`) || !strings.Contains(a.body, `"cached":true`) {
		t.Fatalf("templates: %d %s", a.code, a.body)
	}
	for body, want := range map[string]string{
		`{"answers":{"size":"24 inch"}}`:                        "say in a few words",
		`{"text":"x","answers":{"size":"24 inch"}}`:             "answers need the request form",
		`{"template":"tpl-1","answers":{"Size!":"24 inch"}}`:    "not kebab-case",
		`{"template":"tpl-1","answers":{"size":"x"},"extra":1}`: "not valid JSON for this route",
	} {
		if a := do(t, c, "POST", base(s)+"/api/help", body, post(s, csrf)); a.code != http.StatusBadRequest || !strings.Contains(a.body, want) {
			t.Errorf("help %s: %d %s, want 400 saying %q", body, a.code, a.body, want)
		}
	}
	ag.mu.Lock()
	n := len(ag.help)
	ag.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d refused requests reached the agent", n)
	}
	if a := do(t, c, "POST", base(s)+"/api/help", `{"template":"tpl-1","answers":{"size":"24 inch"}}`, post(s, csrf)); a.code != http.StatusOK {
		t.Fatalf("help from a template: %d %s", a.code, a.body)
	}
	ag.mu.Lock()
	defer ag.mu.Unlock()
	if len(ag.help) != 1 || ag.help[0]["template"] != "tpl-1" || ag.help[0]["answers"].(map[string]any)["size"] != "24 inch" {
		t.Fatalf("the agent was asked %+v", ag.help)
	}
}
