package hubpolicy

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/fixes"
	"github.com/tierline/tierline/agent/health"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/policy"
	"github.com/tierline/tierline/shared/wire"
)

func decode(t *testing.T, doc string) *policy.Document {
	t.Helper()
	d, err := policy.Decode([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return &d
}

// A hostile hub tries to widen every rule of the local policy file; each
// attempt is narrowed to the local rule, and the reason is noted.
func TestHostilePolicyIsNarrowed(t *testing.T) {
	local, err := fixes.ParsePolicy([]byte(`{"max_tier": 1, "disabled": ["reset-network"], "technician_consent": false,
		"restart_watched_services": false, "forbid_services": ["sshd"], "consent_required": ["clear-temp"],
		"forbid_check_kinds": ["http", "file"]}`), "/etc/tierline/policy.json")
	if err != nil {
		t.Fatal(err)
	}
	hostile := decode(t, `{"max_tier": 3, "technician_consent": true, "restart_watched_services": true,
		"watched_services": ["sshd", "nginx"], "disabled_fixes": ["flush-dns"],
		"checks": [
			{"name": "steal", "title": "Read a secret", "file": {"path": "/etc/shadow", "match": "^root:\\$"}},
			{"name": "probe", "title": "Probe the LAN", "http": {"url": "http://192.168.1.1/"}},
			{"name": "proc", "title": "Backup running", "fix": "end-process", "process": {"name": "backupd"}},
			{"name": "port", "title": "Port", "fix": "flush-dns", "tcp": {"host": "localhost", "port": 1}}
		]}`)
	a := Narrow(local, wire.PolicyUpdate{Group: "lab", Version: 4, Policy: hostile})
	eff := a.Fixes
	if eff.MaxTier != 1 || eff.TechnicianConsent || !eff.ForbidWatched {
		t.Fatalf("widened: max_tier %d, technician_consent %v, forbid watched %v", eff.MaxTier, eff.TechnicianConsent, eff.ForbidWatched)
	}
	if !slices.Contains(eff.Disabled, "reset-network") || !slices.Contains(eff.Disabled, "flush-dns") {
		t.Fatalf("disabled %v: want the local and the hub's", eff.Disabled)
	}
	if !slices.Contains(eff.ConsentRequired, "clear-temp") {
		t.Fatalf("consent_required lost: %v", eff.ConsentRequired)
	}
	for _, s := range []string{"sshd", "nginx"} {
		if slices.Contains(fixes.AllowedServices("linux", eff), s) {
			t.Errorf("restart-service may restart %s: %v", s, fixes.AllowedServices("linux", eff))
		}
	}
	var names []string
	for _, c := range a.Checks {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"proc", "port"}) {
		t.Fatalf("checks that run: %v, want proc and port (file and http forbidden)", names)
	}
	for _, c := range a.Checks {
		if c.Fix != "" {
			t.Errorf("check %s still offers %s, which the effective policy refuses", c.Name, c.Fix)
		}
	}
	notes := strings.Join(a.Narrowed, "\n")
	for _, want := range []string{
		"max_tier: the hub's policy allows fixes up to tier 3; the local policy (/etc/tierline/policy.json) allows up to tier 1",
		"technician_consent:", "restart_watched_services:", "sshd is watched, but the local policy",
		`steal is a file check, a kind the local policy (/etc/tierline/policy.json) forbids (rule "forbid_check_kinds")`,
		"probe is a http check", "proc offers end-process", `port offers flush-dns, which the device policy`,
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	// The refusals the runner gives name the narrowed source.
	f, _ := catalog.Get(catalog.EndProcess)
	if why := fixes.PolicyRefusal(eff, f); !strings.Contains(why, "allows fixes up to tier 1") || !strings.Contains(why, "narrowed by the hub's policy lab v4") {
		t.Errorf("refusal %q", why)
	}
	st := a.Status("linux")
	if st.Version != 4 || len(st.Narrowed) == 0 || slices.Contains(st.Fixes, catalog.EndProcess) || slices.Contains(st.Fixes, catalog.FlushDNS) {
		t.Errorf("status %+v", st)
	}
	if err := st.Validate(); err != nil {
		t.Fatal(err)
	}
}

// A hub policy inside the local limits applies as it is, with no notes.
func TestPolicyWithinLimitsApplies(t *testing.T) {
	local := fixes.DefaultPolicy()
	local.Watched = []string{"cups"}
	d := decode(t, `{"max_tier": 1, "technician_consent": false, "restart_watched_services": false,
		"watched_services": ["nginx"], "dns_names": ["intranet.example"], "targets": ["127.0.0.1:9"], "check_every": "20s",
		"thresholds": {"disk_warn_pct": 70, "disk_fail_pct": 80}}`)
	a := Narrow(local, wire.PolicyUpdate{Group: "g", Version: 1, Policy: d})
	if len(a.Narrowed) != 0 {
		t.Fatalf("notes: %v", a.Narrowed)
	}
	if a.Fixes.MaxTier != 1 || a.Fixes.TechnicianConsent || !a.Fixes.ForbidWatched || !slices.Equal(a.Fixes.Watched, []string{"cups", "nginx"}) {
		t.Fatalf("effective %+v", a.Fixes)
	}
	hc := a.HealthConfig(health.Config{DNSNames: []string{"own.example"}, WatchedServices: []string{"cups"}})
	if !slices.Equal(hc.DNSNames, []string{"own.example", "intranet.example"}) || !slices.Equal(hc.Targets, []string{"127.0.0.1:9"}) ||
		!slices.Equal(hc.WatchedServices, []string{"cups", "nginx"}) || hc.DiskWarnPct != 70 || hc.DiskFailPct != 80 {
		t.Fatalf("health config %+v", hc)
	}
	if err := hc.CheckAndSetDefaults(); err != nil {
		t.Fatal(err)
	}
	if a.CheckEvery(time.Minute) != 20*time.Second {
		t.Fatal("check_every not applied")
	}
	// No hub policy: the local one as it is.
	none := Narrow(local, wire.PolicyUpdate{})
	if none.Version != 0 || none.Doc != nil || none.Fixes.MaxTier != local.MaxTier {
		t.Fatalf("no policy: %+v", none)
	}
}

func TestCacheSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	u := wire.PolicyUpdate{Group: "g", Version: 3, Policy: decode(t, `{"max_tier": 2, "checks": [{"name": "c", "title": "C", "dns": {"name": "localhost"}}]}`)}
	if err := SaveCache(dir, u); err != nil {
		t.Fatal(err)
	}
	got, err := LoadCache(dir)
	if err != nil || got.Version != 3 || got.Policy == nil || len(got.Policy.Checks) != 1 {
		t.Fatalf("load: %+v %v", got, err)
	}
	// A damaged cache is refused with the file named, never half applied.
	if err := os.WriteFile(filepath.Join(dir, CacheFile), []byte(`{"group":"g","version":3,"policy":{"max_tier":9}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCache(dir); err == nil || !strings.Contains(err.Error(), "max_tier") || !strings.Contains(err.Error(), CacheFile) {
		t.Fatalf("damaged cache: %v", err)
	}
	if err := SaveCache(dir, wire.PolicyUpdate{}); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadCache(dir); err != nil || got.Version != 0 {
		t.Fatalf("after removal: %+v %v", got, err)
	}
}

// The narrowed declarative checks run as health checks.
func TestNarrowedChecksRun(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("file paths")
	}
	dir := t.TempDir()
	d := decode(t, `{"checks": [{"name": "marker", "title": "Marker present", "severity": "warning", "fix": "clear-temp", "file": {"path": "`+dir+`/marker"}}]}`)
	a := Narrow(fixes.DefaultPolicy(), wire.PolicyUpdate{Group: "g", Version: 1, Policy: d})
	r := health.NewRunnerOf(time.Second, health.Declared(health.Config{}, health.Env{}, a.Checks)...)
	res := r.Run(context.Background())
	if len(res) != 1 || res[0].Name != "marker" || res[0].Status != diag.StatusWarning || res[0].Fix != "clear-temp" {
		t.Fatalf("before: %+v", res)
	}
	if err := os.WriteFile(filepath.Join(dir, "marker"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if res = r.Run(health.Fresh(context.Background())); res[0].Status != diag.StatusOK || res[0].Fix != "" {
		t.Fatalf("after: %+v", res)
	}
}
