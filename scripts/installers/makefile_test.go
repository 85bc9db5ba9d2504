package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestAgentFlagsMatchMakefile: the packages' agent is built with the same
// tags and compiler flags as `make build`'s, which `make bench` measures.
func TestAgentFlagsMatchMakefile(t *testing.T) {
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"AGENT_TAGS": AgentTags, "AGENT_GCFLAGS": strings.Join(AgentGCFlags, " ")} {
		m := regexp.MustCompile(`(?m)^` + name + ` := (.*)$`).FindSubmatch(mk)
		if m == nil {
			t.Errorf("the Makefile sets no %s", name)
			continue
		}
		if got := strings.TrimSpace(string(m[1])); got != want {
			t.Errorf("Makefile %s = %q; the installers build with %q", name, got, want)
		}
	}
}
