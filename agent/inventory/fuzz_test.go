package inventory

import (
	"bytes"
	"os"
	"testing"
)

func FuzzParseDpkgStatus(f *testing.F) {
	b, _ := os.ReadFile("testdata/dpkg/status")
	f.Add(b)
	f.Add([]byte("Package: x\nStatus: install ok installed\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sw, err := ParseDpkgStatus(bytes.NewReader(b))
		if err == nil {
			for _, s := range sw {
				if s.Name == "" {
					t.Errorf("package without a name: %+v", s)
				}
			}
		}
	})
}
