package collect

import (
	"os"
	"testing"
)

func FuzzParsers(f *testing.F) {
	for _, p := range []string{"testdata/stat/simple", "testdata/stat/parens", "testdata/logind/session-3"} {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Add(utmpRecord(7, "pts/0", "bob", "h", 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseProcStat(b)
		parseUptime(b)
		ParseUtmp(b)
		ParseLogindSession(b)
	})
}
