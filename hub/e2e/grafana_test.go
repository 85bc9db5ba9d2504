package e2e

import (
	"encoding/json"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
)

var (
	promSelector = regexp.MustCompile(`\b(tierline_[a-z0-9_]+)(\{[^}]*\})?`)
	promMatcher  = regexp.MustCompile(`([a-z_]+)\s*(=~|=)\s*"([^"]*)"`)
	promSample   = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? `)
	promLabel    = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// dashboardQueries returns every query of the Grafana dashboard the repo ships.
func dashboardQueries(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("../../docs/grafana/tierline-hub.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("docs/grafana/tierline-hub.json: %v", err)
	}
	var out []string
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			out = append(out, tg.Expr)
		}
	}
	return out
}

// Every metric the shipped dashboard queries is on a fresh hub's /metrics,
// before any event, with a series for each label value it selects:
// counters and histograms are exported from the start at zero.
func TestGrafanaDashboardMetricsExportedByFreshHub(t *testing.T) {
	queries := dashboardQueries(t)
	if len(queries) < 15 {
		t.Fatalf("the dashboard has only %d queries", len(queries))
	}
	h := startHub(t)
	resp, err := h.client.Get(h.url() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	series := map[string][]map[string]string{} // sample name -> label sets
	for _, line := range strings.Split(string(body), "\n") {
		m := promSample.FindStringSubmatch(line)
		if m == nil || strings.HasPrefix(line, "#") {
			continue
		}
		labels := map[string]string{}
		for _, l := range promLabel.FindAllStringSubmatch(m[2], -1) {
			labels[l[1]] = l[2]
		}
		series[m[1]] = append(series[m[1]], labels)
	}
	for _, q := range queries {
		for _, sel := range promSelector.FindAllStringSubmatch(q, -1) {
			name, matchers := sel[1], promMatcher.FindAllStringSubmatch(sel[2], -1)
			sets, ok := series[name]
			if !ok {
				t.Errorf("the dashboard queries %s, which a fresh hub's /metrics does not export (query %q)", name, q)
				continue
			}
			found := false
			for _, labels := range sets {
				match := true
				for _, m := range matchers {
					v, present := labels[m[1]]
					switch m[2] {
					case "=":
						match = match && present && v == m[3]
					case "=~":
						match = match && present && regexp.MustCompile("^(?:"+m[3]+")$").MatchString(v)
					}
				}
				found = found || match
			}
			if !found {
				t.Errorf("the dashboard selects %s%s; a fresh hub exports no such series (query %q)", name, sel[2], q)
			}
		}
	}
}
