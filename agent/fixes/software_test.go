package fixes

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/recipes"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/orgdoc"
	"github.com/tierline/tierline/shared/software"
	"github.com/tierline/tierline/shared/wire"
)

func softwareStore(t *testing.T, entries ...software.Entry) *recipes.Store {
	t.Helper()
	dir := t.TempDir()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	if err := recipes.PinKey(dir, pub, "enrollment", time.Now()); err != nil {
		t.Fatal(err)
	}
	s, err := recipes.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	var signed []orgdoc.Signed
	for _, e := range entries {
		d, err := software.Sign(priv, e)
		if err != nil {
			t.Fatal(err)
		}
		signed = append(signed, d)
	}
	if st := s.Apply(wire.Recipes{Docs: signed}); len(st.Refused) > 0 {
		t.Fatalf("refused: %+v", st.Refused)
	}
	return s
}

// TestInstallSoftwareRuns: install-software runs an entry of the signed
// catalog through the runner (at most once, tier 0), with apt's fixed
// argv and environment, then reads the package database; an entry the
// device does not hold is refused before anything runs.
func TestInstallSoftwareRuns(t *testing.T) {
	s := softwareStore(t, software.Entry{ID: "hello", Version: 3, Title: "GNU Hello", Manager: software.Apt, Package: "hello", Pin: "2.10-3"},
		software.Entry{ID: "code", Version: 1, Title: "VS Code", Manager: software.Winget, Package: "Microsoft.VisualStudioCode"})
	r, rec := newTestRunner(t, t.TempDir(), func(c *Config) { c.Software = s })
	ctx := context.Background()
	res := r.Do(ctx, req("sw-1", catalog.InstallSoftware, 0, map[string]string{"entry": "hello"}), nil)
	if res.Outcome != wire.OutcomeSucceeded || !strings.Contains(res.Reason, "software hello version 3") {
		t.Fatalf("install: %s %s %q", res.Outcome, res.Code, res.Reason)
	}
	calls := rec.snapshot()
	if len(calls) != 3 {
		t.Fatalf("calls %+v", calls)
	}
	want := [][]string{{"apt-get", "-q", "update"},
		{"apt-get", "install", "-y", "-q", "--no-install-recommends", "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold", "-o", "APT::Status-Fd=1", "--", "hello=2.10-3"}}
	for i, w := range want {
		if !slices.Equal(calls[i].Argv, w) {
			t.Errorf("step %d: %q, want %q", i, calls[i].Argv, w)
		}
	}
	if a := calls[2].Action; a == nil || a.Name != ActVerifyPackage || a.Args["package"] != "hello" || a.Args["pin"] != "2.10-3" {
		t.Errorf("last step %+v, want the package check", calls[2])
	}
	if again := r.Do(ctx, req("sw-1", catalog.InstallSoftware, 0, map[string]string{"entry": "hello"}), nil); !again.Replayed || len(rec.snapshot()) != 3 {
		t.Fatalf("the same run id installed again: %+v", again)
	}
	for i, c := range []struct {
		entry, code, why string
	}{
		{"not-published", wire.RefuseBadParams, "not in this device's signed software catalog"},
		{"-o", wire.RefuseBadParams, "does not match"},
		{"foo;rm", wire.RefuseBadParams, "does not match"},
		{"../etc", wire.RefuseBadParams, "does not match"},
	} {
		res := r.Do(ctx, req("bad-"+string(rune('a'+i)), catalog.InstallSoftware, 0, map[string]string{"entry": c.entry}), nil)
		if res.Outcome != wire.OutcomeRefused || res.Code != c.code || !strings.Contains(res.Reason, c.why) {
			t.Errorf("%q: %s %s %q, want refused %s %q", c.entry, res.Outcome, res.Code, res.Reason, c.code, c.why)
		}
	}
	// A Windows entry on Linux does not apply.
	if res := r.Do(ctx, req("sw-win", catalog.InstallSoftware, 0, map[string]string{"entry": "code"}), nil); res.Outcome != wire.OutcomeNotApplicable {
		t.Errorf("winget entry on linux: %+v", res)
	}
	if n := len(rec.snapshot()); n != 3 {
		t.Fatalf("refused installs reached the executor: %d calls", n)
	}
	// Without a signed catalog, nothing installs.
	r2, rec2 := newTestRunner(t, t.TempDir(), nil)
	if res := r2.Do(ctx, req("sw-2", catalog.InstallSoftware, 0, map[string]string{"entry": "hello"}), nil); res.Code != wire.RefuseBadParams {
		t.Errorf("no catalog: %+v", res)
	}
	if len(rec2.snapshot()) != 0 {
		t.Error("an install ran without a catalog")
	}
}

// TestSoftwarePlansPerOS: the plan of each manager on its OS, from a
// machine description.
func TestSoftwarePlansPerOS(t *testing.T) {
	s := softwareStore(t,
		software.Entry{ID: "git", Version: 1, Title: "Git", Manager: software.DNF, Package: "git"},
		software.Entry{ID: "visio", Version: 1, Title: "Visio", Manager: software.Winget, Package: "Microsoft.Visio"},
		software.Entry{ID: "wget", Version: 1, Title: "wget", Manager: software.Brew, Package: "wget"})
	for _, c := range []struct {
		id, goos string
		first    []string
	}{
		{"git", "linux", []string{"dnf", "install", "-y", "-q", "--setopt=install_weak_deps=False", "--", "git"}},
		{"visio", "windows", []string{"winget", "install", "--exact", "--id", "Microsoft.Visio"}},
		{"wget", "darwin", []string{"/usr/bin/sudo", "-n", "-H", "-u", "alice", "--", "/opt/homebrew/bin/brew", "install", "--formula", "--", "wget"}},
	} {
		m := machine(c.goos)
		m.ConsoleUser = "alice"
		p, err := SoftwarePlan(s, c.id, m)
		if err != nil {
			t.Fatalf("%s: %v", c.id, err)
		}
		if got := p.Steps[0].Argv; !slices.Equal(got[:min(len(got), len(c.first))], c.first) {
			t.Errorf("%s: %q, want it to start %q", c.id, got, c.first)
		}
		if p.Steps[len(p.Steps)-1].Action.Name != ActVerifyPackage {
			t.Errorf("%s: no package check at the end", c.id)
		}
	}
	m := machine("darwin")
	if _, err := SoftwarePlan(s, "wget", m); err == nil {
		t.Error("brew plan without a user at the screen")
	}
}

func TestDpkgVersion(t *testing.T) {
	status := "Package: a\nStatus: install ok installed\nVersion: 1.0\nDescription: x\n long text\n\n" +
		"Package: gone\nStatus: deinstall ok config-files\nVersion: 2.0\n\n" +
		"Package: last\nVersion: 3:4.5-6\nStatus: install ok installed\n"
	for name, want := range map[string]string{"a": "1.0", "gone": "", "last": "3:4.5-6", "none": ""} {
		if got, err := dpkgVersion(strings.NewReader(status), name); err != nil || got != want {
			t.Errorf("dpkgVersion(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
}

func FuzzDpkgVersion(f *testing.F) {
	f.Add("Package: a\nStatus: install ok installed\nVersion: 1.0\n", "a")
	f.Add("\n\nPackage:\n:\n \n", "")
	f.Fuzz(func(t *testing.T, status, name string) {
		v, err := dpkgVersion(strings.NewReader(status), name)
		if err == nil && v != "" && !strings.Contains(status, v) {
			t.Fatalf("version %q is not in the input", v)
		}
	})
}
