package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
)

func TestPolicyRoutes(t *testing.T) {
	f := setup(t)
	admin, tech := f.tokens[store.RoleAdmin], f.tokens[store.RoleTier1]

	if rec := f.call(t, "GET", "/api/v1/policies/lab", tech, ""); rec.Code != http.StatusNotFound {
		t.Fatalf("no policy: %d %s", rec.Code, rec.Body)
	}
	if rec := f.call(t, "PUT", "/api/v1/policies/lab", tech, `{}`); rec.Code != http.StatusForbidden {
		t.Fatalf("tier1 put: %d", rec.Code)
	}
	// A bad policy is refused with each problem's field and what is allowed.
	rec := f.call(t, "PUT", "/api/v1/policies/lab", admin, `{"max_tier": 9, "checks": [{"name": "vpn", "title": "VPN", "tcp": {"host": "vpn.example", "port": 70000}}]}`)
	var refused struct {
		Code     string `json:"code"`
		Problems []struct{ Path, Message string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &refused); err != nil || rec.Code != http.StatusBadRequest || refused.Code != "invalid_policy" {
		t.Fatalf("bad policy: %d %s", rec.Code, rec.Body)
	}
	paths := map[string]string{}
	for _, p := range refused.Problems {
		paths[p.Path] = p.Message
	}
	if !strings.Contains(paths["max_tier"], "outside 0..3") || !strings.Contains(paths["checks[0].tcp.port"], "1..65535") {
		t.Fatalf("problems: %+v", refused.Problems)
	}
	if rec := f.call(t, "PUT", "/api/v1/policies/bad%20group", admin, `{}`); rec.Code != http.StatusBadRequest {
		t.Fatalf("bad group: %d", rec.Code)
	}

	doc := `{"max_tier": 1, "dns_names": ["intranet.example"], "checks": [{"name": "vpn-up", "title": "VPN answers", "tcp": {"host": "vpn.example", "port": 443}}]}`
	for want := 1; want <= 2; want++ {
		rec := f.call(t, "PUT", "/api/v1/policies/lab", admin, doc)
		var p store.Policy
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Code != http.StatusOK || p.Version != int64(want) || p.Group != "lab" {
			t.Fatalf("put %d: %d %s", want, rec.Code, rec.Body)
		}
	}
	rec = f.call(t, "GET", "/api/v1/policies/lab", tech, "")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"version": 2`) || !strings.Contains(rec.Body.String(), `"vpn-up"`) {
		t.Fatalf("get: %d %s", rec.Code, rec.Body)
	}
	if rec := f.call(t, "GET", "/api/v1/policies/lab?version=1", tech, ""); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"version": 1`) {
		t.Fatalf("get v1: %d %s", rec.Code, rec.Body)
	}
	if rec := f.call(t, "GET", "/api/v1/policies/lab/versions", tech, ""); !strings.Contains(rec.Body.String(), `"created_by": "u-admin"`) {
		t.Fatalf("versions: %s", rec.Body)
	}
	if rec := f.call(t, "GET", "/api/v1/policies", tech, ""); !strings.Contains(rec.Body.String(), `"group": "lab"`) {
		t.Fatalf("list: %s", rec.Body)
	}
	rec = f.call(t, "GET", "/api/v1/audit?action=policy.", admin, "")
	if !strings.Contains(rec.Body.String(), `"outcome": "refused"`) || strings.Count(rec.Body.String(), `"policy.set"`) != 3 {
		t.Fatalf("audit: %s", rec.Body)
	}

	// Articles may link a policy's declarative checks, not names no one has.
	t2 := f.tokens[store.RoleTier2]
	if rec := f.call(t, "POST", "/api/v1/articles", t2, `{"title":"VPN down","body":"Restart it.","checks":["vpn-up"]}`); rec.Code != http.StatusCreated {
		t.Fatalf("article linking a declarative check: %d %s", rec.Code, rec.Body)
	}
	if rec := f.call(t, "POST", "/api/v1/articles", t2, `{"title":"x","body":"y","checks":["no-such-check"]}`); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "vpn-up") {
		t.Fatalf("article linking an unknown check: %d %s", rec.Code, rec.Body)
	}

	// The device page's view: no report yet, then the current version.
	ctx := context.Background()
	if err := f.store.SetDeviceGroup(ctx, f.device, "lab"); err != nil {
		t.Fatal(err)
	}
	rec = f.call(t, "GET", "/api/v1/devices/"+f.device+"/policy", tech, "")
	if !strings.Contains(rec.Body.String(), `"applied": null`) || !strings.Contains(rec.Body.String(), `"current": false`) {
		t.Fatalf("before a report: %s", rec.Body)
	}
	if err := f.store.SetDevicePolicy(ctx, f.device, store.DevicePolicy{Group: "lab", Version: 2, ReportedAt: time.Now()}, nil); err != nil {
		t.Fatal(err)
	}
	rec = f.call(t, "GET", "/api/v1/devices/"+f.device+"/policy", tech, "")
	if !strings.Contains(rec.Body.String(), `"current": true`) {
		t.Fatalf("after a report: %s", rec.Body)
	}
}
