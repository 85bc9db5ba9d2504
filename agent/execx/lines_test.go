package execx

import (
	"context"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestRunOnLineSeesEachLine(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses printf")
	}
	long := strings.Repeat("x", MaxLineLength+10)
	var got []string
	res, err := Run(context.Background(), Cmd{Argv: []string{"printf", "one\ntwo\r\n\n%s\nlast", long},
		OnLine: func(l string) { got = append(got, l) }})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"one", "two", "", long[:MaxLineLength], "last"}
	if !slices.Equal(got, want) {
		t.Fatalf("lines %q, want %q", got, want)
	}
	if !strings.HasPrefix(res.Output, "one\ntwo\r\n") || !strings.HasSuffix(res.Output, "last") {
		t.Fatalf("output not kept whole: %q", res.Output[:20])
	}
}

func TestLineSplitterAcrossWrites(t *testing.T) {
	var got []string
	l := &lineSplitter{w: &capped{max: 100}, fn: func(s string) { got = append(got, s) }}
	for _, w := range []string{"pmst", "atus:a:1:x\npm", "status:b:2:y\n", "tail"} {
		if n, err := l.Write([]byte(w)); n != len(w) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", w, n, err)
		}
	}
	l.flush()
	if want := []string{"pmstatus:a:1:x", "pmstatus:b:2:y", "tail"}; !slices.Equal(got, want) {
		t.Fatalf("lines %q, want %q", got, want)
	}
}
