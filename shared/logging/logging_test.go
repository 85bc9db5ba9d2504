package logging

import (
	"bytes"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, "warn", "json")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown", "k", "v")
	if out := buf.String(); strings.Contains(out, "hidden") || !strings.Contains(out, `"msg":"shown"`) {
		t.Fatalf("got %q", out)
	}
	for _, c := range []struct{ level, format, want string }{
		{"loud", "text", "--log-level"},
		{"info", "xml", "--log-format"},
	} {
		if _, err := New(&buf, c.level, c.format); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%q, %q) = %v, want an error naming %s", c.level, c.format, err, c.want)
		}
	}
}
