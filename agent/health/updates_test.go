package health

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/shared/diag"
)

func TestGradeUpdates(t *testing.T) {
	c := defaults(t)
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		file   string
		maxAge time.Duration
		status diag.Status
		in     string // in the summary
		ev     string // in the evidence
	}{
		{"apt-debian12-behind.json", 0, diag.StatusWarning, "waiting for 26 days", "limit=14 days"},
		{"apt-debian12-behind.json", 12 * 24 * time.Hour, diag.StatusFailing, "need to be installed", "libgcrypt20-dev, libssl3, ..."},
		{"apt-debian12-behind.json", 30 * 24 * time.Hour, diag.StatusOK, "78 security updates waiting, for 26 days", "118 updates (78 security) from apt"},
		{"apt-debian12-behind.json", 20 * 24 * time.Hour, diag.StatusWarning, "should be installed soon", "APT::Periodic::Unattended-Upgrade is off"},
		{"windows-recent.json", 0, diag.StatusOK, "2 security updates waiting, for 8 days", "all (local setting (level 4))"},
		{"macos-unknown-age.json", 0, diag.StatusOK, "for how long is not known", "last updated=not known"},
		{"dnf-no-security.json", 0, diag.StatusOK, "No security updates", "2 updates (0 security) from dnf"},
	}
	for _, tt := range tests {
		b, err := os.ReadFile(filepath.Join("testdata", "updates", tt.file))
		if err != nil {
			t.Fatal(err)
		}
		var st diag.UpdateStatus
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatal(err)
		}
		cc := *c
		if tt.maxAge > 0 {
			cc.SecurityUpdateMaxAge = tt.maxAge
		}
		r := GradeUpdates(&cc, st, now)
		var evs []string
		for _, e := range r.Evidence {
			evs = append(evs, e.Label+"="+e.Value)
		}
		if r.Status != tt.status || !strings.Contains(r.Summary, tt.in) || !strings.Contains(strings.Join(evs, "; "), tt.ev) || r.Fix != "" {
			t.Errorf("%s (limit %s): %s %q fix %q, evidence %v; want %s with %q and %q", tt.file, cc.SecurityUpdateMaxAge, r.Status, r.Summary, r.Fix, evs, tt.status, tt.in, tt.ev)
		}
	}
}

func TestCheckUpdatesBeforeInventory(t *testing.T) {
	c := defaults(t)
	if r := checkUpdates(context.Background(), c, Env{Now: time.Now}); r.Status != diag.StatusUnknown {
		t.Errorf("without an update source: %s", r.Status)
	}
	none := func() (*diag.UpdateStatus, bool) { return nil, false }
	if r := checkUpdates(context.Background(), c, Env{Now: time.Now, Updates: none}); r.Status != diag.StatusUnknown {
		t.Errorf("before the first inventory: %s", r.Status)
	}
}
