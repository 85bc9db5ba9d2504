package api_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var (
	codeSpan    = regexp.MustCompile("`([^`]*)`")
	placeholder = regexp.MustCompile(`\{[^}]*\}`)
	methodOnly  = regexp.MustCompile(`^(GET|POST|PUT|PATCH|DELETE)$`)
	methodPath  = regexp.MustCompile(`^(GET|POST|PUT|PATCH|DELETE) (\S+)`)
)

// readmeRoute is one API route the README's table names, with the role
// its row gives ("" when the row's role cell is not a single role).
type readmeRoute struct{ route, role string }

// readmeAPIRoutes reads the "### API" table of README.md: each row's first
// cell names routes in code spans, as `METHOD /api/v1/path ...`, `.../last`
// (the previous route with its last segment replaced, same method), or a
// bare `METHOD` (joined to the next route named, or to the previous one
// when none follows). Placeholders are compared as {}.
func readmeAPIRoutes(t *testing.T) []readmeRoute {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	start := strings.Index(text, "\n### API\n")
	if start < 0 {
		t.Fatal("README.md has no ### API section")
	}
	text = text[start+1:]
	if end := strings.Index(text[4:], "\n#"); end >= 0 {
		text = text[:end+4]
	}
	var out []readmeRoute
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.ReplaceAll(line, `\|`, "¦"), " | ")
		role := strings.TrimSpace(strings.Trim(cells[len(cells)-1], "| "))
		if !slices.Contains([]string{"none", "tier1", "tier2", "tier3", "admin"}, role) {
			role = ""
		}
		var pending []string
		var last, lastMethod string
		add := func(method, path string) {
			path = placeholder.ReplaceAllString(path, "{}")
			path, _, _ = strings.Cut(path, "?")
			path, _, _ = strings.Cut(path, "[")
			out = append(out, readmeRoute{method + " " + path, role})
			last, lastMethod = path, method
		}
		for _, m := range codeSpan.FindAllStringSubmatch(cells[0], -1) {
			span := placeholder.ReplaceAllString(strings.TrimSpace(m[1]), "{}")
			switch {
			case methodOnly.MatchString(span):
				pending = append(pending, span)
			case methodPath.MatchString(span):
				mp := methodPath.FindStringSubmatch(span)
				for _, p := range pending {
					add(p, mp[2])
				}
				pending = nil
				add(mp[1], mp[2])
			case strings.HasPrefix(span, ".../") && last != "":
				rest, _, _ := strings.Cut(strings.TrimPrefix(span, ".../"), " ")
				add(lastMethod, last[:strings.LastIndex(last, "/")+1]+rest)
			}
		}
		for _, p := range pending { // `GET /x`; `PUT` (...): the PUT is /x's
			if last != "" {
				add(p, last)
			}
		}
	}
	return out
}

// TestREADMEListsEveryRoute compares the router's routes with the README's
// API table, both ways: a route without a row, or a row naming a route the
// hub does not serve, fails; a row with one role must give each of its
// routes' roles.
func TestREADMEListsEveryRoute(t *testing.T) {
	f := setup(t)
	documented := map[string]string{}
	for _, r := range readmeAPIRoutes(t) {
		if !strings.Contains(r.route, " /api/") {
			continue // /healthz, /readyz, /metrics: the server's, not the API's
		}
		documented[r.route] = r.role
	}
	if len(documented) < 50 {
		t.Fatalf("read only %d API routes from README.md: the table's format changed?", len(documented))
	}
	served := map[string]bool{}
	for _, rt := range f.api.Routes() {
		route := placeholder.ReplaceAllString(rt.Pattern, "{}")
		served[route] = true
		role, ok := documented[route]
		switch {
		case !ok:
			t.Errorf("README.md's API table has no row for %s (role %s)", rt.Pattern, rt.Role)
		case role != "" && role != string(rt.Role):
			t.Errorf("README.md gives %s the role %s; the router needs %s", rt.Pattern, role, rt.Role)
		}
	}
	for route := range documented {
		if !served[route] {
			t.Errorf("README.md's API table names %s, which the hub does not serve", route)
		}
	}
}
