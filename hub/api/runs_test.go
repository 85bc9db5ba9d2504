package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/api"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/wire"
)

// validParams holds parameters each fix accepts.
var validParams = map[string]string{
	catalog.ClearCredentials: `{"target":"fileserver.corp.example"}`,
	catalog.RestartService:   `{"service":"cups"}`,
	catalog.EndProcess:       `{"pid":12345}`,
}

func runBody(fix string) string {
	p := validParams[fix]
	if p == "" {
		p = "{}"
	}
	return fmt.Sprintf(`{"fix":%q,"params":%s}`, fix, p)
}

// maxTier is the highest fix tier each role may run, written out here
// rather than taken from the code under test.
var maxTier = map[store.Role]int{store.RoleTier1: 1, store.RoleTier2: 2, store.RoleTier3: 3, store.RoleAdmin: 3}

// TestRunRoleMatrix: every run route, as every role, for a fix of every
// tier in the catalog. A role may run a fix only up to its tier
// (tier1: 0-1, tier2: 0-2, tier3 and admin: all); the refusal names the
// tier, and nothing is queued.
func TestRunRoleMatrix(t *testing.T) {
	f := setup(t)
	tiers := map[int]bool{}
	for _, fix := range catalog.All() {
		if fix.ID == catalog.InstallSoftware {
			continue // needs a published entry: TestInstallSoftwareRuns
		}
		tiers[fix.Tier] = true
		for _, role := range store.Roles {
			allowed := maxTier[role] >= fix.Tier
			// One device.
			rec := f.call(t, "POST", "/api/v1/devices/"+f.device+"/runs", f.tokens[role], runBody(fix.ID))
			if allowed && rec.Code != http.StatusAccepted {
				t.Errorf("%s runs %s (tier %d): %d %s, want 202", role, fix.ID, fix.Tier, rec.Code, rec.Body.String())
			}
			if !allowed && (rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), fmt.Sprintf("tier %d fix", fix.Tier))) {
				t.Errorf("%s runs %s (tier %d): %d %s, want 403 naming the tier", role, fix.ID, fix.Tier, rec.Code, rec.Body.String())
			}
			var created struct {
				Run store.Run `json:"run"`
			}
			if allowed {
				json.Unmarshal(rec.Body.Bytes(), &created)
				// Reading and cancelling: any technician may read; the
				// requester or a higher role may cancel.
				for _, reader := range store.Roles {
					if rec := f.call(t, "GET", "/api/v1/runs/"+created.Run.ID, f.tokens[reader], ""); rec.Code != http.StatusOK {
						t.Errorf("%s reads %s's run: %d", reader, role, rec.Code)
					}
				}
				if rec := f.call(t, "GET", "/api/v1/runs/"+created.Run.ID+"/bundle", f.tokens[store.RoleTier1], ""); rec.Code != http.StatusForbidden {
					t.Errorf("tier1 reads a bundle: %d, want 403", rec.Code)
				}
				if rec := f.call(t, "GET", "/api/v1/runs/"+created.Run.ID+"/bundle", f.tokens[store.RoleTier2], ""); rec.Code != http.StatusNotFound {
					t.Errorf("tier2 reads a missing bundle: %d, want 404", rec.Code)
				}
				if role != store.RoleAdmin {
					if rec := f.call(t, "POST", "/api/v1/runs/"+created.Run.ID+"/cancel", f.tokens[store.RoleTier1], ""); role != store.RoleTier1 && rec.Code != http.StatusForbidden {
						t.Errorf("tier1 cancels %s's run: %d, want 403", role, rec.Code)
					}
				}
			}
			// Batch of one group: tier2 and up; each fix's tier still applies.
			rec = f.call(t, "POST", "/api/v1/batches", f.tokens[role], strings.TrimSuffix(runBody(fix.ID), "}")+`,"group":"lab"}`)
			switch {
			case role.Rank() < store.RoleTier2.Rank():
				if rec.Code != http.StatusForbidden {
					t.Errorf("%s batch of %s: %d, want 403", role, fix.ID, rec.Code)
				}
			case !allowed:
				if rec.Code != http.StatusForbidden {
					t.Errorf("%s batch of %s (tier %d): %d, want 403", role, fix.ID, fix.Tier, rec.Code)
				}
			default:
				// The group is empty: nothing to run, but not forbidden.
				if rec.Code != http.StatusUnprocessableEntity && rec.Code != http.StatusAccepted {
					t.Errorf("%s batch of %s: %d %s", role, fix.ID, rec.Code, rec.Body.String())
				}
			}
			// Every device only for admins.
			rec = f.call(t, "POST", "/api/v1/batches", f.tokens[role], strings.TrimSuffix(runBody(fix.ID), "}")+`,"all":true}`)
			if wantOK := role == store.RoleAdmin; wantOK != (rec.Code == http.StatusAccepted) {
				t.Errorf("%s runs %s on all devices: %d %s", role, fix.ID, rec.Code, rec.Body.String())
			}
		}
	}
	for _, tier := range []int{0, 1, 2} {
		if !tiers[tier] {
			t.Errorf("the catalog has no tier %d fix; the matrix does not cover it", tier)
		}
	}
	// Every refused request was audited.
	rec := f.call(t, "GET", "/api/v1/audit?action=run.deny", f.tokens[store.RoleAdmin], "")
	if !strings.Contains(rec.Body.String(), "run.deny") {
		t.Errorf("no run.deny events in the audit log: %s", rec.Body.String())
	}
}

func TestRunRequestValidation(t *testing.T) {
	tf := setupTickets(t)
	f := tf.fixture
	tk := tf.file(t, "q1", "no websites load")
	tier3 := f.tokens[store.RoleTier3]
	path := "/api/v1/devices/" + f.device + "/runs"
	for _, tt := range []struct {
		body string
		code int
		want string
	}{
		{`{"fix":"rm-rf"}`, 400, "not in the fix catalog"},
		{`{"fix":"flush-dns; reboot"}`, 400, "not in the fix catalog"},
		{`{"fix":"restart-service"}`, 400, `"service\": required`},
		{`{"fix":"restart-service","params":{"service":"cups; rm -rf /"}}`, 400, "does not match"},
		{`{"fix":"restart-service","params":{"service":"../../etc/passwd"}}`, 400, "does not match"},
		{`{"fix":"restart-service","params":{"service":"cups","extra":"x"}}`, 400, "not a parameter"},
		{`{"fix":"clear-credentials","params":{"target":"` + strings.Repeat("a", 300) + `"}}`, 400, "at most"},
		{`{"fix":"clear-credentials","params":{"target":"a\u0000b"}}`, 400, "control character"},
		{`{"fix":"end-process","params":{"pid":1}}`, 400, "outside"},
		{`{"fix":"end-process","params":{"pid":"12; kill"}}`, 400, "not a whole number"},
		{`{"fix":"end-process","params":{"pid":12,"name":"x"}}`, 400, "exactly one"},
		{`{"fix":"end-process","params":{"pid":{"a":1}}}`, 400, "string, number or boolean"},
		{`{"fix":"schedule-reboot","params":{"delay_minutes":0}}`, 400, "outside"},
		{`{"fix":"flush-dns","expires_in":"1y"}`, 400, "expires_in"},
		{`{"fix":"flush-dns","expires_in":"1s"}`, 400, "expires_in"},
		{`{"fix":"flush-dns","group":"lab"}`, 400, "batches"},
		{`{"fix":"flush-dns","bogus":1}`, 400, "unknown field"},
		{`{"fix":"flush-dns","ticket":"` + strings.Repeat("t", 65) + `"}`, 400, "ticket"},
		{`{"fix":"flush-dns","ticket":"T-1"}`, 404, "no ticket"},
		{`{"fix":"end-process","params":{"pid":4242},"expires_in":"30m","ticket":"` + tk.ID + `"}`, 202, `"state": "queued"`},
		{`{"fix":"schedule-reboot"}`, 202, "Please save your work"},
	} {
		rec := f.call(t, "POST", path, tier3, tt.body)
		if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.want) {
			t.Errorf("%s: %d %s, want %d containing %q", tt.body, rec.Code, rec.Body.String(), tt.code, tt.want)
		}
	}
	if rec := f.call(t, "POST", "/api/v1/devices/0123456789abcdef0123456789abcdef/runs", tier3, runBody("flush-dns")); rec.Code != http.StatusNotFound {
		t.Errorf("unknown device: %d", rec.Code)
	}
	for _, q := range []string{"/api/v1/runs/..%2f..%2fetc", "/api/v1/runs/" + strings.Repeat("a", 65), "/api/v1/runs/abc?wait=1h", "/api/v1/runs?state=weird", "/api/v1/runs?limit=0"} {
		if rec := f.call(t, "GET", q, tier3, ""); rec.Code != http.StatusBadRequest && rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d %s", q, rec.Code, rec.Body.String())
		}
	}
	// Queued runs are listed, newest first, and filtered by ticket.
	rec := f.call(t, "GET", "/api/v1/runs?ticket="+tk.ID, tier3, "")
	var list struct{ Runs []store.Run }
	json.Unmarshal(rec.Body.Bytes(), &list)
	if len(list.Runs) != 1 || list.Runs[0].Fix != "end-process" || list.Runs[0].Params["pid"] != "4242" || list.Runs[0].RequestedBy != "u-tier3" {
		t.Errorf("runs of the ticket: %s", rec.Body.String())
	}
}

func TestCatalogShowsWhatTheCallerAndDeviceAllow(t *testing.T) {
	f := setup(t)
	// The agent said it offers only two fixes (its policy disables the rest).
	err := f.store.SetPresence(context.Background(), []store.Presence{{ID: f.device, Online: true, At: time.Now(),
		Hello: store.DeviceHello{OS: "linux", Fixes: []string{catalog.FlushDNS, catalog.EndProcess}}}})
	if err != nil {
		t.Fatal(err)
	}
	rec := f.call(t, "GET", "/api/v1/catalog?device="+f.device, f.tokens[store.RoleTier1], "")
	var got struct {
		Fixes    []api.CatalogFix
		YourTier int `json:"your_tier"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{}
	for _, fx := range got.Fixes {
		if fx.Allowed {
			allowed[fx.ID] = true
		} else if fx.Refusal == "" {
			t.Errorf("%s refused without a reason", fx.ID)
		}
	}
	if got.YourTier != 1 || len(allowed) != 1 || !allowed[catalog.FlushDNS] {
		t.Errorf("tier1 on a device offering flush-dns and end-process may run %v (tier %d), want flush-dns only", allowed, got.YourTier)
	}
	rec = f.call(t, "POST", "/api/v1/devices/"+f.device+"/runs", f.tokens[store.RoleTier3], runBody(catalog.ClearTemp))
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "does not offer clear-temp") {
		t.Errorf("a fix the agent does not offer: %d %s", rec.Code, rec.Body.String())
	}
}

func TestRunResultAndWait(t *testing.T) {
	f := setup(t)
	rec := f.call(t, "POST", "/api/v1/devices/"+f.device+"/runs", f.tokens[store.RoleTier1], runBody(catalog.FlushDNS))
	var created struct {
		Run store.Run `json:"run"`
	}
	json.Unmarshal(rec.Body.Bytes(), &created)
	// The agent's result arrives through ingest while a client waits.
	go func() {
		time.Sleep(50 * time.Millisecond)
		f.store.Ingest(context.Background(), []store.IngestItem{{DeviceID: f.device, Seq: 1, Kind: store.KindRunResult, Received: time.Now(),
			RunResult: &wire.RunResult{RunID: created.Run.ID, Fix: catalog.FlushDNS, Outcome: wire.OutcomeFixed, Reason: "DNS resolves again"}}})
		f.notify(created.Run.ID)
	}()
	rec = f.call(t, "GET", "/api/v1/runs/"+created.Run.ID+"?wait=10s", f.tokens[store.RoleTier1], "")
	var run store.Run
	json.Unmarshal(rec.Body.Bytes(), &run)
	if run.State != store.RunDone || run.Outcome != wire.OutcomeFixed || run.Result == nil || run.Result.Reason != "DNS resolves again" {
		t.Fatalf("waited for the result: %s", rec.Body.String())
	}
	if rec := f.call(t, "POST", "/api/v1/runs/"+created.Run.ID+"/cancel", f.tokens[store.RoleTier1], ""); rec.Code != http.StatusConflict {
		t.Errorf("cancel a finished run: %d", rec.Code)
	}
}

// TestCreateRunAndWait: a request with wait answers with the run and its
// result once the agent's result is stored, 200; a wait that runs out
// answers 202 with the run still pending; a bad wait is refused before
// anything is stored.
func TestCreateRunAndWait(t *testing.T) {
	f := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	path := "/api/v1/devices/" + f.device + "/runs"
	if rec := f.call(t, "POST", path+"?wait=1h", f.tokens[store.RoleTier1], runBody(catalog.FlushDNS)); rec.Code != http.StatusBadRequest {
		t.Fatalf("wait=1h: %d %s", rec.Code, rec.Body.String())
	}
	if runs, _ := f.store.ListRuns(ctx, store.RunFilter{DeviceID: f.device}); len(runs) != 0 {
		t.Fatalf("a refused request stored runs: %+v", runs)
	}
	// The agent's result arrives through ingest once the run is stored.
	go func() {
		var runs []store.Run
		for len(runs) == 0 {
			if ctx.Err() != nil {
				return
			}
			runs, _ = f.store.ListRuns(ctx, store.RunFilter{DeviceID: f.device})
		}
		f.store.Ingest(ctx, []store.IngestItem{{DeviceID: f.device, Seq: 1, Kind: store.KindRunResult, Received: time.Now(),
			RunResult: &wire.RunResult{RunID: runs[0].ID, Fix: catalog.FlushDNS, Outcome: wire.OutcomeFixed, Reason: "DNS resolves again"}}})
		f.notify(runs[0].ID)
	}()
	rec := f.call(t, "POST", path+"?wait=10s", f.tokens[store.RoleTier1], runBody(catalog.FlushDNS))
	var got struct {
		Run store.Run `json:"run"`
	}
	json.Unmarshal(rec.Body.Bytes(), &got)
	if rec.Code != http.StatusOK || got.Run.State != store.RunDone || got.Run.Result == nil || got.Run.Result.Reason != "DNS resolves again" {
		t.Fatalf("waited for the result: %d %s", rec.Code, rec.Body.String())
	}
	// No result comes: the wait runs out and the run is still queued.
	rec = f.call(t, "POST", path+"?wait=10ms", f.tokens[store.RoleTier1], runBody(catalog.FlushDNS))
	json.Unmarshal(rec.Body.Bytes(), &got)
	if rec.Code != http.StatusAccepted || got.Run.State != store.RunQueued || rec.Header().Get("Location") != "/api/v1/runs/"+got.Run.ID {
		t.Fatalf("a wait that ran out: %d %s", rec.Code, rec.Body.String())
	}
}
