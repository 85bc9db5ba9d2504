package fixes

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/wire"
)

// TestWatchedServicesRestartable: a service the admin watches may be
// restarted by restart-service without being on any allow-list, unless the
// policy file says "restart_watched_services": false.
func TestWatchedServicesRestartable(t *testing.T) {
	restart := func(id, svc string) wire.RunRequest {
		return req(id, catalog.RestartService, 2, map[string]string{"service": svc})
	}
	forbid, err := ParsePolicy([]byte(`{"restart_watched_services": false}`), "/etc/p.json")
	if err != nil || !forbid.ForbidWatched {
		t.Fatalf("parse restart_watched_services: %+v %v", forbid, err)
	}
	allow, err := ParsePolicy([]byte(`{"restart_watched_services": true}`), "/etc/p.json")
	if err != nil || allow.ForbidWatched {
		t.Fatalf("parse restart_watched_services true: %+v %v", allow, err)
	}
	for _, tc := range []struct {
		name    string
		pol     Policy
		svc     string
		outcome string
		reason  string
	}{
		{"watched", DefaultPolicy(), "crashy", wire.OutcomeSucceeded, ""},
		{"watched, unit suffix", DefaultPolicy(), "crashy.service", wire.OutcomeSucceeded, ""},
		{"watched, explicitly allowed", allow, "crashy", wire.OutcomeSucceeded, ""},
		{"not watched", DefaultPolicy(), "sshd", wire.OutcomeRefused, "the watched services [crashy web@1]"},
		{"policy forbids watched", forbid, "crashy", wire.OutcomeRefused, `not the watched services (rule "restart_watched_services": false)`},
		{"disabled fix beats watched", Policy{MaxTier: 3, Disabled: []string{catalog.RestartService}, TechnicianConsent: true}, "crashy", wire.OutcomeRefused, `disables restart-service`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pol := tc.pol
			pol.Watched = []string{"crashy", "web@1"}
			r, rec := newTestRunner(t, t.TempDir(), func(c *Config) { c.Policy = &pol })
			got := r.Do(context.Background(), restart("w1", tc.svc), nil)
			if got.Outcome != tc.outcome || !strings.Contains(got.Reason, tc.reason) {
				t.Fatalf("got %s %q; want %s containing %q", got.Outcome, got.Reason, tc.outcome, tc.reason)
			}
			if ran := len(rec.snapshot()) > 0; ran != (tc.outcome == wire.OutcomeSucceeded) {
				t.Fatalf("executor ran: %v, outcome %s", ran, got.Outcome)
			}
		})
	}
	// The listing (`tierline-agent fixes`) shows the watched services on
	// the allow-list, and leaves them off when the policy forbids them.
	pol := DefaultPolicy()
	pol.Watched = []string{"crashy"}
	if l := List(pol, machine("linux")); !slices.Contains(l.AllowServices, "crashy") {
		t.Fatalf("listing allow-list %v lacks the watched service", l.AllowServices)
	}
	forbid.Watched = []string{"crashy"}
	if l := List(forbid, machine("linux")); slices.Contains(l.AllowServices, "crashy") {
		t.Fatalf("listing allow-list %v has a watched service the policy forbids", l.AllowServices)
	}
}
