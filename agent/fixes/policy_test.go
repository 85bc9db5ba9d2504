package fixes

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParsePolicy(t *testing.T) {
	p, err := ParsePolicy([]byte(`{"max_tier": 2, "disabled": ["reset-network", "reset-network"], "allow_services": ["nginx", "nginx@web.service"], "technician_consent": false}`), "p.json")
	if err != nil {
		t.Fatal(err)
	}
	want := Policy{MaxTier: 2, Disabled: []string{"reset-network"}, AllowServices: []string{"nginx", "nginx@web.service"}, Source: "p.json"}
	if d := cmp.Diff(want, p); d != "" {
		t.Fatalf("policy (-want +got):\n%s", d)
	}
	p, err = ParsePolicy([]byte(`{}`), "p.json")
	if err != nil || p.MaxTier != 3 || !p.TechnicianConsent {
		t.Fatalf("empty policy: %+v %v", p, err)
	}
	for _, tc := range []struct{ in, want string }{
		{`{"max_tier": 4}`, "max_tier 4 is outside 0..3"},
		{`{"max_tier": -1}`, "outside"},
		{`{"max_tier": "3"}`, "not a valid policy"},
		{`{"disabled": ["run-script"]}`, `"run-script" is not a fix`},
		{`{"allow_services": ["nginx; rm -rf /"]}`, "not a service name"},
		{`{"allow_services": ["../../etc/passwd"]}`, "not a service name"},
		{`{"allow_services": [""]}`, "not a service name"},
		{`{"max_teir": 2}`, `unknown field "max_teir"`},
		{`{"max_tier": 2} {}`, "trailing data"},
		{`[]`, "not a valid policy"},
		{``, "not a valid policy"},
		{`{"technician_consent": "yes"}`, "not a valid policy"},
	} {
		if _, err := ParsePolicy([]byte(tc.in), "p.json"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestLoadPolicy(t *testing.T) {
	dir := t.TempDir()
	p, err := LoadPolicy(filepath.Join(dir, "absent.json"))
	if err != nil || p.Source != "" || p.MaxTier != 3 {
		t.Fatalf("absent file: %+v %v", p, err)
	}
	bad := filepath.Join(dir, "policy.json")
	os.WriteFile(bad, []byte(`{"disabled": ["nope"]}`), 0o600)
	_, err = LoadPolicy(bad)
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), `"nope"`) || !strings.Contains(err.Error(), "start the agent again") {
		t.Fatalf("err %v: must name the file, the problem and what to do", err)
	}
}

func TestSupportedAppliesPolicy(t *testing.T) {
	p := DefaultPolicy()
	p.MaxTier = 1
	p.Disabled = []string{"flush-dns"}
	got := Supported("linux", p)
	for _, id := range got {
		if id == "flush-dns" || id == "restart-service" || id == "end-process" {
			t.Fatalf("supported %v includes a disabled or above-tier fix", got)
		}
	}
	if len(got) == 0 || got[0] != "renew-dhcp" {
		t.Fatalf("supported %v", got)
	}
}

func FuzzParsePolicy(f *testing.F) {
	for _, s := range []string{`{}`, `{"max_tier": 3, "disabled": ["reset-network"], "allow_services": ["nginx"], "technician_consent": true}`,
		`{"max_tier": 9}`, `{"disabled": [1]}`, `null`, `{"allow_services": ["a\u0000b"]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePolicy(data, "fuzz.json")
		if err != nil {
			return
		}
		if p.MaxTier < 0 || p.MaxTier > 3 {
			t.Fatalf("accepted max_tier %d", p.MaxTier)
		}
		for _, s := range p.AllowServices {
			if s == "" || strings.ContainsAny(s, " /;\x00\n") {
				t.Fatalf("accepted service %q", s)
			}
		}
	})
}
