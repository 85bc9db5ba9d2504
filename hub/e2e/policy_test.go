package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

type devicePolicy struct {
	Applied *struct {
		Group    string   `json:"group"`
		Version  int64    `json:"version"`
		Error    string   `json:"error"`
		Narrowed []string `json:"narrowed"`
	} `json:"applied"`
	Group   string `json:"group"`
	Version int64  `json:"version"`
	Current bool   `json:"current"`
}

type healthResult struct {
	Name    string `json:"name"`
	Status  string `json:"status"`
	Summary string `json:"summary"`
	Fix     string `json:"fix"`
}

// TestPolicyFromHub: an admin saves a group's policy with a declarative
// file check; the real agent applies it, reports the version, and the
// check's result shows on the device: failing, then ok once the file
// appears. The machine's local policy file narrows what the hub's policy
// tries to widen, and the device's policy view says so.
func TestPolicyFromHub(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	a := enroll(t, h.tokenCreate())
	// The machine's own limits, which the hub cannot widen.
	if err := os.WriteFile(filepath.Join(a.state, "policy.json"), []byte(`{"max_tier": 1, "forbid_check_kinds": ["http"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "vpn.conf")
	a.run("--check-interval", "1h")
	var d device
	eventually(t, "the device online", 60*time.Second, func() bool {
		return h.get("/api/v1/devices/"+a.id, &d) == http.StatusOK && d.Online
	})
	if code := h.do("POST", "/api/v1/devices/"+a.id+"/group", h.token, strings.NewReader(`{"group":"lab"}`), nil); code != http.StatusOK {
		t.Fatalf("set group: %d", code)
	}

	doc := `{"max_tier": 3, "check_every": "10s",
		"checks": [
			{"name": "vpn-config", "title": "VPN client configured", "fix": "restart-service", "file": {"path": "` + marker + `", "match": "^remote "}},
			{"name": "portal-up", "title": "Portal answers", "http": {"url": "http://127.0.0.1:9/"}}
		]}`
	var saved struct {
		Version int64 `json:"version"`
	}
	if code := h.do("PUT", "/api/v1/policies/lab", h.token, strings.NewReader(doc), &saved); code != http.StatusOK || saved.Version != 1 {
		t.Fatalf("put policy: %d %+v", code, saved)
	}

	var dp devicePolicy
	eventually(t, "the agent applying version 1", 60*time.Second, func() bool {
		return h.get("/api/v1/devices/"+a.id+"/policy", &dp) == http.StatusOK && dp.Current && dp.Applied != nil && dp.Applied.Version == 1
	})
	notes := strings.Join(dp.Applied.Narrowed, "\n")
	for _, want := range []string{"max_tier: the hub's policy allows fixes up to tier 3", "portal-up is a http check, a kind the local policy",
		"vpn-config offers restart-service, which the device policy"} {
		if !strings.Contains(notes, want) {
			t.Errorf("narrowed notes lack %q:\n%s", want, notes)
		}
	}

	var full struct {
		Fixes  []string       `json:"fixes"`
		Health []healthResult `json:"health"`
	}
	result := func(name string) (healthResult, bool) {
		if h.get("/api/v1/devices/"+a.id, &full) != http.StatusOK {
			return healthResult{}, false
		}
		for _, c := range full.Health {
			if c.Name == name {
				return c, true
			}
		}
		return healthResult{}, false
	}
	var vpn healthResult
	eventually(t, "vpn-config failing on the device", 60*time.Second, func() bool {
		c, ok := result("vpn-config")
		vpn = c
		return ok && c.Status == "failing"
	})
	if !strings.Contains(vpn.Summary, "VPN client configured: the file is missing") || vpn.Fix != "" {
		t.Errorf("vpn-config: %+v (the fix above the local tier must not be offered)", vpn)
	}
	if _, ok := result("portal-up"); ok {
		t.Errorf("portal-up ran although the local policy forbids http checks")
	}
	if slices.Contains(full.Fixes, "restart-service") || !slices.Contains(full.Fixes, "flush-dns") {
		t.Errorf("fixes offered %v: want tier 0-1 only", full.Fixes)
	}

	if err := os.WriteFile(marker, []byte("remote vpn.example 1194\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Scheduled runs reuse a declarative check's result for its interval
	// (5 minutes by default); a technician asking for it runs it now.
	if code := h.do("POST", "/api/v1/devices/"+a.id+"/checks", h.token, strings.NewReader(`{"names":["vpn-config"]}`), nil); code != http.StatusAccepted {
		t.Fatalf("request checks: %d", code)
	}
	eventually(t, "vpn-config ok once the file is there", 60*time.Second, func() bool {
		c, ok := result("vpn-config")
		return ok && c.Status == "ok"
	})

	// A new version reaches the connected agent; an agent restarted
	// applies the cached one before the hub answers, and reports the same.
	if code := h.do("PUT", "/api/v1/policies/lab", h.token, strings.NewReader(`{"max_tier": 0}`), nil); code != http.StatusOK {
		t.Fatalf("second put: %d", code)
	}
	eventually(t, "version 2 applied", 60*time.Second, func() bool {
		return h.get("/api/v1/devices/"+a.id+"/policy", &dp) == http.StatusOK && dp.Current && dp.Applied.Version == 2
	})
	eventually(t, "vpn-config gone with version 2", 60*time.Second, func() bool {
		_, ok := result("vpn-config")
		return !ok && slices.Contains(full.Fixes, "flush-dns") && !slices.Contains(full.Fixes, "reset-network")
	})
	cache, err := os.ReadFile(filepath.Join(a.state, "hub-policy.json"))
	if err != nil || !strings.Contains(string(cache), `"version":2`) {
		t.Fatalf("cached policy: %v %s", err, cache)
	}
}
