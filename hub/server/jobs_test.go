package server

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestSingleRunnerJobsListed keeps SingleRunnerJobs (what
// tierline_job_passes_total reports and docs/operations.md lists) equal to
// the jobs the hub's code runs under store.WithJobLock; the e2e test
// TestReplicaJobsSingleRunner proves each listed one runs on one replica
// at a time and moves when its holder dies.
func TestSingleRunnerJobsListed(t *testing.T) {
	call := regexp.MustCompile(`WithJobLock\(ctx, "([a-z-]+)"`)
	var found []string
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range call.FindAllStringSubmatch(string(raw), -1) {
			if !slices.Contains(found, m[1]) {
				found = append(found, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(SingleRunnerJobs)
	slices.Sort(found)
	slices.Sort(want)
	if !slices.Equal(found, want) {
		t.Fatalf("jobs under WithJobLock in the code: %v; SingleRunnerJobs: %v (add the new job to the list, docs/operations.md and the e2e test)", found, want)
	}
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range want {
		if !strings.Contains(string(doc), "`"+j+"`") {
			t.Errorf("docs/operations.md does not name the single-runner job `%s`", j)
		}
	}
}
