package health

import (
	"testing"

	"github.com/tierline/tierline/shared/diag"
)

func TestPackagesOf(t *testing.T) {
	sw := []diag.Software{{Name: "Firefox", Version: "128.0"}, {Name: "curl", Version: "7.88.1"}, {Name: "zlib1g", Version: "1:1.2.13"}}
	p := PackagesOf(sw)
	sw[0].Version = "changed" // the caller's list is not held
	for name, want := range map[string]string{"firefox": "128.0", "FIREFOX": "128.0", "curl": "7.88.1", "zlib1g": "1:1.2.13"} {
		if v, ok := p.Version(name); !ok || v != want {
			t.Errorf("Version(%q) = %q %v, want %q", name, v, ok, want)
		}
	}
	if _, ok := p.Version("vim"); ok {
		t.Error("vim is not installed")
	}
	if _, ok := (Packages{}).Version("curl"); ok {
		t.Error("an empty list has curl")
	}
}
