package recipes

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/shared/orgdoc"
	"github.com/tierline/tierline/shared/software"
	"github.com/tierline/tierline/shared/wire"
)

func helloEntry(version int64) software.Entry {
	return software.Entry{ID: "hello", Version: version, Title: "GNU Hello", Manager: software.Apt, Package: "hello"}
}

// TestHostileSoftware plays a hub that pushes software catalog entries:
// only entries the pinned key signed as they stand are kept, listed and
// found to install; an older version is refused even after a withdrawal
// and a restart; a recipe and an entry share the id namespace.
func TestHostileSoftware(t *testing.T) {
	dir := t.TempDir()
	orgPub, orgPriv := newKey(t)
	_, evilPriv := newKey(t)
	if err := PinKey(dir, orgPub, "enrollment", time.Now()); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	good, err := software.Sign(orgPriv, helloEntry(2))
	if err != nil {
		t.Fatal(err)
	}
	foreign, _ := software.Sign(evilPriv, software.Entry{ID: "netcat", Version: 1, Title: "nc", Manager: software.Apt, Package: "netcat-openbsd"})
	// The hub's owner rewrites a signed entry's package: to an option,
	// to a shell word, to a path.
	var tampered []orgdoc.Signed
	for i, pkg := range []string{"-o", "foo;rm", "../evil", "netcat-openbsd"} {
		e := helloEntry(2)
		e.ID, e.Package = []string{"opt", "shell", "path", "other"}[i], pkg
		d := good
		d.Body, _ = json.Marshal(e)
		tampered = append(tampered, d)
	}
	unsigned := good
	unsigned.Sig = make([]byte, len(good.Sig))
	unsigned.Body, _ = json.Marshal(software.Entry{ID: "unsigned", Version: 1, Title: "x", Manager: software.Apt, Package: "unsigned"})

	st := s.Apply(wire.Recipes{Docs: append([]orgdoc.Signed{good, foreign, unsigned}, tampered...)})
	if len(st.Accepted) != 1 || st.Accepted[0].ID != "hello" || st.Accepted[0].Version != 2 {
		t.Fatalf("accepted %+v, want hello v2 only", st.Accepted)
	}
	for id, want := range map[string]string{"netcat": "not by the key pinned", "unsigned": "changed after it was signed",
		"opt": "changed after it was signed", "shell": "changed after it was signed", "path": "changed after it was signed",
		"other": "changed after it was signed"} {
		if got := refusal(st, id); !strings.Contains(got, want) {
			t.Errorf("%s: refusal %q, want %q", id, got, want)
		}
	}
	for _, id := range []string{"netcat", "unsigned", "opt", "shell", "path", "other"} {
		if _, ok := s.Software(id); ok {
			t.Errorf("refused entry %s is found to install", id)
		}
	}
	if e, ok := s.Software("hello"); !ok || e.Package != "hello" {
		t.Fatalf("Software(hello) = %+v, %v", e, ok)
	}
	if _, ok := s.Get("hello"); ok {
		t.Error("a software entry is found as a recipe to run")
	}
	if l := s.SoftwareList(); len(l) != 1 || len(s.List()) != 0 {
		t.Errorf("SoftwareList %+v, List %+v", l, s.List())
	}

	// Withdrawn, then the older version replayed after a restart.
	s.Apply(wire.Recipes{Docs: []orgdoc.Signed{}})
	if _, ok := s.Software("hello"); ok {
		t.Error("a withdrawn entry is still found")
	}
	s, err = Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	old, _ := software.Sign(orgPriv, helloEntry(1))
	st = s.Apply(wire.Recipes{Docs: []orgdoc.Signed{old}})
	if got := refusal(st, "hello"); !strings.Contains(got, "older than version 2") {
		t.Errorf("replayed v1: %q", got)
	}
	// A re-pin to another key drops what the old key signed at once.
	st = s.Apply(wire.Recipes{Docs: []orgdoc.Signed{good}})
	if len(st.Accepted) != 1 {
		t.Fatalf("v2 again: %+v", st)
	}
	if err := PinKey(dir, mustPub(t), "local", time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Software("hello"); ok {
		t.Error("an entry signed by the old key is still found after a local re-pin")
	}
}

func mustPub(t *testing.T) []byte {
	pub, _ := newKey(t)
	return pub
}
