package software_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tierline/tierline/shared/orgdoc"
	"github.com/tierline/tierline/shared/recipe"
	"github.com/tierline/tierline/shared/software"
)

func key(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func hello() software.Entry {
	return software.Entry{ID: "hello", Version: 1, Title: "GNU Hello", Description: "Says hello.", Manager: software.Apt,
		Package: "hello", MinVersion: "2.10"}
}

func TestCheckName(t *testing.T) {
	for _, c := range []struct {
		manager, name string
		ok            bool
	}{
		{software.Apt, "hello", true},
		{software.Apt, "libreoffice-calc", true},
		{software.Apt, "g++", true},
		{software.Apt, "python3.11", true},
		{software.Apt, "-o", false},
		{software.Apt, "--allow-unauthenticated", false},
		{software.Apt, "foo;rm", false},
		{software.Apt, "foo rm", false},
		{software.Apt, "../etc/passwd", false},
		{software.Apt, "/tmp/evil.deb", false},
		{software.Apt, "./evil.deb", false},
		{software.Apt, "a..b", false},
		{software.Apt, "Hello", false}, // Debian names are lower case
		{software.Apt, "h", false},     // at least two characters
		{software.Apt, "hello=1.0", false},
		{software.Apt, "hello*", false},
		{software.Apt, "foo$(id)", false},
		{software.Apt, "foo`id`", false},
		{software.Apt, "foo\nbar", false},
		{software.DNF, "NetworkManager", true},
		{software.DNF, "-y", false},
		{software.DNF, "kernel*", false},
		{software.Winget, "Microsoft.VisualStudioCode", true},
		{software.Winget, "9WZDNCRFJ3PZ", true},
		{software.Winget, "--override", false},
		{software.Winget, `C:\evil.exe`, false},
		{software.Brew, "python@3.12", true},
		{software.Brew, "user/tap/formula", false},
		{software.Brew, "--HEAD", false},
		{"pip", "requests", false},
	} {
		err := software.CheckName(c.manager, c.name)
		if (err == nil) != c.ok {
			t.Errorf("CheckName(%s, %q) = %v, want ok=%v", c.manager, c.name, err, c.ok)
		}
	}
}

func TestValidateRefuses(t *testing.T) {
	for name, mut := range map[string]func(*software.Entry){
		"bad id":             func(e *software.Entry) { e.ID = "Hello World" },
		"version 0":          func(e *software.Entry) { e.Version = 0 },
		"no title":           func(e *software.Entry) { e.Title = "" },
		"control in title":   func(e *software.Entry) { e.Title = "a\x1b[31m" },
		"unknown manager":    func(e *software.Entry) { e.Manager = "pip" },
		"option as package":  func(e *software.Entry) { e.Package = "-o" },
		"shell in package":   func(e *software.Entry) { e.Package = "foo;rm" },
		"path as package":    func(e *software.Entry) { e.Package = "../x" },
		"option as pin":      func(e *software.Entry) { e.Pin = "--force" },
		"shell in pin":       func(e *software.Entry) { e.Pin = "1.0;rm -rf /" },
		"pin below minimum":  func(e *software.Entry) { e.Pin = "2.0" },
		"brew with a pin":    func(e *software.Entry) { e.Manager, e.Pin, e.MinVersion = software.Brew, "1.0", "" },
		"bad min_version":    func(e *software.Entry) { e.MinVersion = "latest" },
		"space in package":   func(e *software.Entry) { e.Package = "hello world" },
		"upper case package": func(e *software.Entry) { e.Package = "Hello" },
	} {
		e := hello()
		mut(&e)
		err := e.Validate()
		var oe *orgdoc.Error
		if err == nil || !errors.As(err, &oe) {
			t.Errorf("%s: Validate = %v, want an orgdoc.Error", name, err)
		}
	}
	if err := hello().Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestPlans pins the argv of every manager: the package is the only
// element the entry gives, always after "--" or as an option's value.
func TestPlans(t *testing.T) {
	pinned := hello()
	pinned.Pin, pinned.MinVersion = "2.10-3", ""
	for _, c := range []struct {
		e    software.Entry
		user string
		want [][]string
	}{
		{hello(), "", [][]string{
			{"apt-get", "-q", "update"},
			{"apt-get", "install", "-y", "-q", "--no-install-recommends", "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold", "-o", "APT::Status-Fd=1", "--", "hello"}}},
		{pinned, "", [][]string{
			{"apt-get", "-q", "update"},
			{"apt-get", "install", "-y", "-q", "--no-install-recommends", "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold", "-o", "APT::Status-Fd=1", "--", "hello=2.10-3"}}},
		{software.Entry{ID: "git", Version: 1, Title: "Git", Manager: software.DNF, Package: "git", Pin: "2.43.0-1.fc40"}, "", [][]string{
			{"dnf", "install", "-y", "-q", "--setopt=install_weak_deps=False", "--", "git-2.43.0-1.fc40"}}},
		{software.Entry{ID: "visio", Version: 1, Title: "Visio", Manager: software.Winget, Package: "Microsoft.Visio", Pin: "16.0.1"}, "", [][]string{
			{"winget", "install", "--exact", "--id", "Microsoft.Visio", "--source", "winget", "--scope", "machine", "--silent",
				"--disable-interactivity", "--accept-package-agreements", "--accept-source-agreements", "--version", "16.0.1"}}},
		{software.Entry{ID: "wget", Version: 1, Title: "wget", Manager: software.Brew, Package: "wget"}, "alice", [][]string{
			{"/usr/bin/sudo", "-n", "-H", "-u", "alice", "--", "/opt/homebrew/bin/brew", "install", "--formula", "--", "wget"}}},
	} {
		cmds, err := software.Plan(c.e, c.user)
		if err != nil {
			t.Fatalf("%s: %v", c.e.ID, err)
		}
		var got [][]string
		for _, cmd := range cmds {
			got = append(got, cmd.Argv)
		}
		if !slices.EqualFunc(got, c.want, slices.Equal[[]string]) {
			t.Errorf("%s plan:\n got %q\nwant %q", c.e.ID, got, c.want)
		}
		if c.e.Manager == software.Apt && !slices.Contains(cmds[1].Env, "DEBIAN_FRONTEND=noninteractive") {
			t.Errorf("apt runs without DEBIAN_FRONTEND=noninteractive: %q", cmds[1].Env)
		}
	}
	brew := software.Entry{ID: "wget", Version: 1, Title: "wget", Manager: software.Brew, Package: "wget"}
	for _, user := range []string{"", "root", "-u", "a b"} {
		if _, err := software.Plan(brew, user); err == nil {
			t.Errorf("brew plan for user %q: no error", user)
		}
	}
	bad := hello()
	bad.Package = "-o"
	if _, err := software.Plan(bad, ""); err == nil {
		t.Error("a plan was made for package -o")
	}
}

func TestSatisfied(t *testing.T) {
	e := hello() // min 2.10
	for v, want := range map[string]bool{"": false, "2.9": false, "2.10": true, "2.10-3": true, "1:1.0": true} {
		if got := e.Satisfied(v); got != want {
			t.Errorf("min 2.10: Satisfied(%q) = %v", v, got)
		}
	}
	e.Pin, e.MinVersion = "2.10-3", ""
	for v, want := range map[string]bool{"2.10-3": true, "2.10-4": false, "2.10": false} {
		if got := e.Satisfied(v); got != want {
			t.Errorf("pin 2.10-3: Satisfied(%q) = %v", v, got)
		}
	}
}

func TestOpenRefuses(t *testing.T) {
	pub, priv := key(t)
	_, otherPriv := key(t)
	good, err := software.Sign(priv, hello())
	if err != nil {
		t.Fatal(err)
	}
	if e, err := software.Open(good, pub); err != nil || e.Package != "hello" {
		t.Fatalf("Open(good) = %+v, %v", e, err)
	}
	foreign, _ := software.Sign(otherPriv, hello())

	tampered := good
	e := hello()
	e.Package = "netcat-openbsd"
	tampered.Body, _ = json.Marshal(e)

	injected := good
	e = hello()
	e.Package = "-o"
	injected.Body, _ = json.Marshal(e)

	kindSwap := good
	kindSwap.Kind = orgdoc.KindRecipe

	// A signed recipe passed off as a software entry: the kind is
	// signed, so the body cannot be read as another kind.
	r := recipe.Recipe{ID: "hello", Version: 1, Title: "x", Tier: 0, OSes: []string{"linux"},
		Steps: []recipe.Step{{Argv: []string{"true"}}}, TimeoutSec: 1}
	asRecipe, err := recipe.Sign(priv, r)
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name string
		doc  orgdoc.Signed
		pub  ed25519.PublicKey
		want string
	}{
		{"another key", foreign, pub, "not by the key pinned"},
		{"tampered", tampered, pub, "changed after it was signed"},
		{"package injected after signing", injected, pub, "changed after it was signed"},
		{"kind swapped", kindSwap, pub, "changed after it was signed"},
		{"a recipe", asRecipe, pub, "expected a software document"},
		{"no key pinned", good, nil, "no organisation signing key is pinned"},
	} {
		_, err := software.Open(c.doc, c.pub)
		var oe *orgdoc.Error
		if err == nil || !errors.As(err, &oe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want an orgdoc.Error saying %q", c.name, err, c.want)
		}
	}
	// Signing refuses an entry that would not pass the agent's checks.
	bad := hello()
	bad.Package = "foo;rm"
	if _, err := software.Sign(priv, bad); err == nil {
		t.Error("Sign accepted package foo;rm")
	}
}

func FuzzEntryDecode(f *testing.F) {
	_, priv := key(f)
	good, _ := software.Sign(priv, hello())
	f.Add([]byte(good.Body))
	f.Add([]byte(`{"id":"x","version":1,"title":"t","manager":"apt","package":"-o"}`))
	f.Add([]byte(`{"id":"x","version":1,"title":"t","manager":"winget","package":"A.B","pin":"1;2"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		doc := orgdoc.Signed{Kind: orgdoc.KindSoftware, Body: body, Key: "0123456789abcdef", Sig: make([]byte, ed25519.SignatureSize)}
		e, err := software.Parse(doc)
		if err != nil {
			return
		}
		cmds, err := software.Plan(e, "alice")
		if err != nil {
			return
		}
		for _, c := range cmds {
			for i, a := range c.Argv {
				if i > 0 && (a == e.Package || strings.HasPrefix(a, e.Package+"=")) && strings.HasPrefix(a, "-") {
					t.Fatalf("package %q became an option in %q", e.Package, c.Argv)
				}
				if strings.ContainsAny(a, ";|&$`\n\x00 ") && !strings.HasPrefix(a, "Dpkg::") {
					t.Fatalf("argv element %q of %q holds a shell or control character", a, c.Argv)
				}
			}
		}
	})
}
