package fixes

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/tierline/tierline/shared/wire"
)

func TestParseAptStatusFixture(t *testing.T) {
	f, err := os.Open("testdata/apt-status-install.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type step struct {
		pct  int
		text string
	}
	var got []step
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if p, text, ok := ParseAptStatus(sc.Text()); ok {
			got = append(got, step{p, text})
		}
	}
	want := []step{
		{0, "Downloading: Retrieving file 1 of 1"}, {9, "Downloading: Retrieving file 1 of 1"},
		{0, "Running dpkg"}, {0, "Installing hello (amd64)"}, {16, "Preparing hello (amd64)"}, {33, "Unpacking hello (amd64)"},
		{50, "Preparing to configure hello (amd64)"}, {50, "Running dpkg"}, {50, "Configuring hello (amd64)"},
		{66, "Configuring hello (amd64)"}, {83, "Installed hello (amd64)"}, {100, "Running hooks"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d steps %v, want %d %v", len(got), got, len(want), want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("step %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestParseAptStatusRefuses(t *testing.T) {
	for _, line := range []string{
		"", "pmstatus", "pmstatus:hello:40", "pmstatus:hello:x:Unpacking", "pmstatus:hello:101:x", "pmstatus:hello:-1:x",
		"pmstatus:hello:NaN:x", "pmstatus:hello:40:", "pmstatus:hello:40: \t ", "pmerror:x:40:failed", "Get:1 http://x hello",
	} {
		if p, text, ok := ParseAptStatus(line); ok {
			t.Errorf("ParseAptStatus(%q) = %d, %q, true; want refused", line, p, text)
		}
	}
	if _, text, ok := ParseAptStatus("pmstatus:hello:40:Unpacking hello: part 2\x1b[31m"); !ok || text != "Unpacking hello: part 2 [31m" {
		t.Errorf("text with colons and escapes = %q, %v", text, ok)
	}
}

// FuzzParseAptStatus: no line makes the parser panic, and every step it
// returns is a valid run_progress.
func FuzzParseAptStatus(f *testing.F) {
	f.Add("pmstatus:hello:33.3333:Unpacking hello (amd64)")
	f.Add("dlstatus:1:9.52:Retrieving file 1 of 1")
	f.Add("pmstatus:hello:1e2:x")
	f.Add("pmstatus:hello:40:" + strings.Repeat("é", 300))
	f.Add("pmstatus:x:0:\xff\xfe")
	f.Fuzz(func(t *testing.T, line string) {
		p, text, ok := ParseAptStatus(line)
		if !ok {
			return
		}
		if err := (wire.RunProgress{RunID: "r1", Percent: p, Text: text}).Validate(); err != nil {
			t.Fatalf("ParseAptStatus(%q) = %d, %q: %v", line, p, text, err)
		}
	})
}
