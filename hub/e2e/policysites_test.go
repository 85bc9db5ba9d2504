package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestPolicyPerSite: real hub and agents of two sites in one group. A
// policy kept to site alpha reaches alpha's agent only; beta's keeps the
// group's shared one until it is moved to alpha; an admin limited to beta
// cannot change the shared policy.
func TestPolicyPerSite(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	a := enroll(t, h.tokenCreate("--site", "alpha"))
	b := enroll(t, h.tokenCreate("--site", "beta"))
	for _, ag := range []*agent{a, b} {
		ag.run("--check-interval", "1h")
		if code := h.do("POST", "/api/v1/devices/"+ag.id+"/group", h.token, strings.NewReader(`{"group":"lab"}`), nil); code != http.StatusOK {
			t.Fatalf("set group: %d", code)
		}
	}
	put := func(path, doc string, token string) (int64, int) {
		var saved struct {
			Version int64 `json:"version"`
		}
		code := h.do("PUT", path, token, strings.NewReader(doc), &saved)
		return saved.Version, code
	}
	applies := func(ag *agent, name string, version int64) {
		t.Helper()
		var dp devicePolicy
		eventually(t, fmt.Sprintf("%s applying version %d", name, version), 60*time.Second, func() bool {
			return h.get("/api/v1/devices/"+ag.id+"/policy", &dp) == http.StatusOK && dp.Current && dp.Applied != nil && dp.Applied.Version == version
		})
	}
	if v, code := put("/api/v1/policies/lab", `{"dns_names":["shared.example"]}`, h.token); code != http.StatusOK || v != 1 {
		t.Fatalf("shared policy: %d v%d", code, v)
	}
	applies(a, "alpha's agent", 1)
	applies(b, "beta's agent", 1)

	if v, code := put("/api/v1/policies/lab?site=alpha", `{"dns_names":["alpha.example"]}`, h.token); code != http.StatusOK || v != 2 {
		t.Fatalf("alpha's policy: %d v%d", code, v)
	}
	applies(a, "alpha's agent", 2)
	var dp devicePolicy
	if h.get("/api/v1/devices/"+b.id+"/policy", &dp); !dp.Current || dp.Version != 1 || dp.Applied == nil || dp.Applied.Version != 1 {
		t.Errorf("beta's agent after alpha's policy: %+v", dp)
	}

	betaAdmin := strings.TrimSpace(must(t, "", "tierline-hub", "apitoken", "create", "--data", h.data, "--user", "admin", "--sites", "beta"))
	if _, code := put("/api/v1/policies/lab", `{}`, betaAdmin); code != http.StatusForbidden {
		t.Errorf("an admin of beta changed the shared policy: %d", code)
	}
	if v, code := put("/api/v1/policies/lab?site=beta", `{"dns_names":["beta.example"]}`, betaAdmin); code != http.StatusOK || v != 3 {
		t.Fatalf("beta's policy by an admin of beta: %d v%d", code, v)
	}
	applies(b, "beta's agent", 3)

	// Moved to alpha, beta's device gets alpha's policy at once.
	if code := h.do("POST", "/api/v1/devices/"+b.id+"/site", h.token, strings.NewReader(`{"site":"alpha"}`), nil); code != http.StatusOK {
		t.Fatalf("move to alpha: %d", code)
	}
	applies(b, "the moved agent", 2)
}
