package diag

import (
	"os"
	"regexp"
	"slices"
	"testing"
)

// TestCheckNamesMatchAgent reads the agent's check registrations from
// source (shared must not import agent) and compares them with CheckNames.
func TestCheckNamesMatchAgent(t *testing.T) {
	src, err := os.ReadFile("../../agent/health/health.go")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range regexp.MustCompile(`Func\("([a-z0-9-]+)"`).FindAllStringSubmatch(string(src), -1) {
		got = append(got, m[1])
	}
	want := slices.Clone(CheckNames)
	slices.Sort(got)
	slices.Sort(want)
	if len(got) == 0 || !slices.Equal(got, want) {
		t.Fatalf("agent/health registers %v; diag.CheckNames is %v: update CheckNames", got, want)
	}
}
