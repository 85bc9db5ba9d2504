package fixes

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/testwait"
	"github.com/tierline/tierline/shared/wire"
)

func TestRefusalsInOrder(t *testing.T) {
	pol := DefaultPolicy()
	pol.Disabled = []string{catalog.ResetNetwork}
	pol.MaxTier = 2
	pol.AllowServices = []string{"nginx"}
	pol.Source = "/etc/test-policy.json"
	past := time.Now().Add(-time.Minute)
	tests := []struct {
		name      string
		req       wire.RunRequest
		decodeErr error
		outcome   string
		code      string
		reason    string
	}{
		{"unknown fix", req("r1", "run-script", 3, nil), nil, wire.OutcomeRefused, wire.RefuseUnknownFix, "not in this agent's fix catalog"},
		{"unknown fix beats bad body", req("r2", "rm -rf /", 3, nil), errors.New("bad"), wire.OutcomeRefused, wire.RefuseUnknownFix, "not in"},
		{"malformed body", req("r3", catalog.FlushDNS, 3, nil), errors.New("params: not a string"), wire.OutcomeRefused, wire.RefuseBadParams, "malformed"},
		{"tier", req("r4", catalog.RestartService, 1, map[string]string{"service": "cups"}), nil, wire.OutcomeRefused, wire.RefuseTier, "needs tier 2"},
		{"tier beats policy", req("r5", catalog.ResetNetwork, 0, nil), nil, wire.OutcomeRefused, wire.RefuseTier, "tier"},
		{"policy disabled", req("r6", catalog.ResetNetwork, 3, nil), nil, wire.OutcomeRefused, wire.RefusePolicy, `/etc/test-policy.json) disables reset-network (rule "disabled")`},
		{"policy beats params", req("r7", catalog.ResetNetwork, 3, map[string]string{"x": "y"}), nil, wire.OutcomeRefused, wire.RefusePolicy, "disabled"},
		{"bad params", req("r8", catalog.ClearTemp, 0, map[string]string{"min_age_hours": "0"}), nil, wire.OutcomeRefused, wire.RefuseBadParams, `parameter "min_age_hours": 0 is outside 1..8760`},
		{"unknown param", req("r9", catalog.ClearTemp, 0, map[string]string{"path": "../../etc/passwd"}), nil, wire.OutcomeRefused, wire.RefuseBadParams, "not a parameter"},
		{"shell in param", req("r10", catalog.RestartService, 2, map[string]string{"service": "cups; reboot"}), nil, wire.OutcomeRefused, wire.RefuseBadParams, "does not match"},
		{"allow-list", req("r11", catalog.RestartService, 2, map[string]string{"service": "sshd"}), nil, wire.OutcomeRefused, wire.RefusePolicy, `rule "allow_services"`},
		{"expired", wire.RunRequest{RunID: "r12", Fix: catalog.FlushDNS, Tier: 1, Expires: past}, nil, wire.OutcomeRefused, wire.RefuseExpired, "expired"},
		{"expired beats consent", wire.RunRequest{RunID: "r13", Fix: catalog.ClearCredentials, Tier: 1, Params: map[string]string{"target": "x"}, Expires: past}, nil, wire.OutcomeRefused, wire.RefuseExpired, "expired"},
		{"consent nobody to ask", req("r14", catalog.ClearCredentials, 1, map[string]string{"target": "x"}), nil, wire.OutcomeRefused, wire.RefuseConsent, "nobody at the device could be asked"},
		{"end pid 1", req("r15", catalog.EndProcess, 2, map[string]string{"pid": "1"}), nil, wire.OutcomeRefused, wire.RefuseBadParams, "outside 2.."},
		{"end self", wire.RunRequest{RunID: "r16", Fix: catalog.EndProcess, Tier: 2, Params: map[string]string{"pid": "4242"}, ConsentObtained: true}, nil, wire.OutcomeRefused, wire.RefusePolicy, "the agent itself"},
		{"not applicable", req("r17", catalog.FlushDNS, 0, nil), nil, wire.OutcomeNotApplicable, "", "neither resolvectl"},
		{"allowed service", req("r18", catalog.RestartService, 2, map[string]string{"service": "nginx"}), nil, wire.OutcomeSucceeded, "", ""},
		{"technician consent", wire.RunRequest{RunID: "r19", Fix: catalog.ClearCredentials, Tier: 1, Params: map[string]string{"target": "x"}, ConsentObtained: true}, nil, wire.OutcomeSucceeded, "", ""},
	}
	r, rec := newTestRunner(t, t.TempDir(), func(c *Config) {
		c.Policy = &pol
		c.Machine = func() Machine {
			m := machine("linux")
			m.Has = func(p string) bool { return p != "resolvectl" && p != "nscd" }
			return m
		}
	})
	for _, tc := range tests {
		got := r.Do(context.Background(), tc.req, tc.decodeErr)
		if got.Outcome != tc.outcome || got.Code != tc.code || !strings.Contains(got.Reason, tc.reason) || got.Reason == "" {
			t.Errorf("%s: got %s/%s %q; want %s/%s containing %q", tc.name, got.Outcome, got.Code, got.Reason, tc.outcome, tc.code, tc.reason)
		}
		if got.Outcome != wire.OutcomeSucceeded {
			for _, c := range rec.snapshot() {
				if c.RunID == tc.req.RunID {
					t.Errorf("%s: refused run reached the executor: %+v", tc.name, c)
				}
			}
		}
	}
}

func TestConsentHook(t *testing.T) {
	pol := DefaultPolicy()
	pol.TechnicianConsent = false
	var asked []ConsentRequest
	answer, answerErr := false, error(nil)
	r, rec := newTestRunner(t, t.TempDir(), func(c *Config) {
		c.Policy = &pol
		c.Consent = func(_ context.Context, cr ConsentRequest) (bool, error) {
			asked = append(asked, cr)
			return answer, answerErr
		}
	})
	creds := func(id string) wire.RunRequest {
		return wire.RunRequest{RunID: id, Fix: catalog.ClearCredentials, Tier: 1, Params: map[string]string{"target": "srv"}, ConsentObtained: true, RequestedBy: "ann"}
	}
	got := r.Do(context.Background(), creds("c1"), nil)
	if got.Code != wire.RefuseConsent || got.Reason != "the user declined clear-credentials" {
		t.Fatalf("declined: %+v", got)
	}
	answerErr = errors.New("no user is logged in")
	got = r.Do(context.Background(), creds("c2"), nil)
	if got.Code != wire.RefuseConsent || !strings.Contains(got.Reason, "no user is logged in") {
		t.Fatalf("cannot ask: %+v", got)
	}
	answer, answerErr = true, nil
	got = r.Do(context.Background(), creds("c3"), nil)
	if got.Outcome != wire.OutcomeSucceeded || len(rec.snapshot()) != 2 {
		t.Fatalf("accepted: %+v", got)
	}
	if len(asked) != 3 || asked[0].RequestedBy != "ann" || asked[0].UserText == "" {
		t.Fatalf("asked %+v", asked)
	}
	// Without a hook and with the policy refusing technician consent, the
	// reason names the rule.
	r2, _ := newTestRunner(t, t.TempDir(), func(c *Config) { c.Policy = &pol })
	got = r2.Do(context.Background(), creds("c4"), nil)
	if got.Code != wire.RefuseConsent || !strings.Contains(got.Reason, `rule "technician_consent"`) {
		t.Fatalf("policy consent: %+v", got)
	}
}

func TestExpiryUsesHubClock(t *testing.T) {
	// This device's clock is an hour slow; the hub's request expires in a
	// minute of hub time. Judged by the local clock it would not have
	// expired; judged by the hub's it has not either when the offset is
	// known. An hour-fast clock must not refuse a fresh request.
	hubNow := time.Now()
	for _, tc := range []struct {
		name    string
		offset  time.Duration
		expires time.Time
		want    string
	}{
		{"fast device, fresh request", -time.Hour, hubNow.Add(time.Minute), wire.OutcomeSucceeded},
		{"slow device, stale request", time.Hour, hubNow.Add(-time.Minute), wire.OutcomeRefused},
	} {
		r, _ := newTestRunner(t, t.TempDir(), func(c *Config) {
			c.Now = func() time.Time { return hubNow.Add(-tc.offset) }
			c.HubOffset = func() (time.Duration, bool) { return tc.offset, true }
		})
		got := r.Do(context.Background(), wire.RunRequest{RunID: "e1", Fix: catalog.ClearTemp, Expires: tc.expires}, nil)
		if got.Outcome != tc.want {
			t.Errorf("%s: %+v", tc.name, got)
		}
	}
}

func TestOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name          string
		before, after diag.Status
		exit          int
		want          string
	}{
		{"fixed", diag.StatusFailing, diag.StatusOK, 0, wire.OutcomeFixed},
		{"not fixed", diag.StatusWarning, diag.StatusWarning, 0, wire.OutcomeNotFixed},
		{"nothing wrong", diag.StatusOK, diag.StatusOK, 0, wire.OutcomeSucceeded},
		{"unknown checks", diag.StatusUnknown, diag.StatusUnknown, 0, wire.OutcomeSucceeded},
		// A problem before that cannot be judged after (no fresh sample)
		// is not called fixed.
		{"unjudged after", diag.StatusFailing, diag.StatusUnknown, 0, wire.OutcomeSucceeded},
		{"command failed", diag.StatusFailing, diag.StatusOK, 1, wire.OutcomeFailed},
	} {
		v := &verifier{before: tc.before, after: tc.after}
		settled := time.Duration(0)
		r, rec := newTestRunner(t, t.TempDir(), func(c *Config) {
			c.Verify = v.verify
			c.Sleep = func(_ context.Context, d time.Duration) error { settled = d; return nil }
		})
		rec.exit = func([]string) int { return tc.exit }
		start := time.Now()
		got := r.Do(context.Background(), req("o1", catalog.RenewDHCP, 0, map[string]string{"interface": "eth0"}), nil)
		if got.Outcome != tc.want || got.Reason == "" {
			t.Errorf("%s: %s %q", tc.name, got.Outcome, got.Reason)
		}
		if tc.name == "unjudged after" && !strings.Contains(got.Reason, "whether it helped is not known") {
			t.Errorf("%s: reason %q", tc.name, got.Reason)
		}
		// The checks before judge the machine as it is; those after, the
		// machine after the steps ended.
		if tc.exit == 0 && (len(v.afters) != 2 || !v.afters[0].IsZero() || v.afters[1].Before(start)) {
			t.Errorf("%s: verified after %v", tc.name, v.afters)
		}
		if len(got.Before) != 2 || tc.exit == 0 && (len(got.After) != 2 || settled != 3*time.Second) {
			t.Errorf("%s: before %d after %d settle %s", tc.name, len(got.Before), len(got.After), settled)
		}
		if len(got.Steps) != 1 || got.Steps[0].Argv[0] != "nmcli" || got.Steps[0].ExitCode != tc.exit {
			t.Errorf("%s: steps %+v", tc.name, got.Steps)
		}
	}
}

func TestStepExitCodes(t *testing.T) {
	// systemctl's "no such unit" is not applicable, not a failure.
	r, rec := newTestRunner(t, t.TempDir(), nil)
	rec.exit = func(argv []string) int { return 5 }
	got := r.Do(context.Background(), req("x1", catalog.RestartService, 2, map[string]string{"service": "cups"}), nil)
	if got.Outcome != wire.OutcomeNotApplicable || !strings.Contains(got.Reason, "no unit cups") {
		t.Fatalf("%+v", got)
	}
	// An optional step may fail; the required one decides.
	rec.exit = func(argv []string) int {
		if argv[0] == "cancel" {
			return 1
		}
		return 0
	}
	got = r.Do(context.Background(), wire.RunRequest{RunID: "x2", Fix: catalog.RestartPrintSpooler, ConsentObtained: true}, nil)
	if got.Outcome != wire.OutcomeSucceeded || len(got.Steps) != 2 || got.Steps[1].Argv[0] != "cancel" || got.Steps[1].ExitCode != 1 {
		t.Fatalf("%+v", got)
	}
}

func TestTimeoutStopsTheFix(t *testing.T) {
	r, rec := newTestRunner(t, t.TempDir(), nil)
	rec.delay = time.Hour
	// Stand in for the catalog timeout with a short parent deadline: the
	// step is cancelled and the run reported failed.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	got := r.Do(ctx, req("t1", catalog.SyncClock, 1, nil), nil)
	if got.Outcome != wire.OutcomeFailed || !strings.Contains(got.Reason, "stopped") {
		t.Fatalf("%+v", got)
	}
	if rerun := r.Do(context.Background(), req("t1", catalog.SyncClock, 1, nil), nil); !rerun.Replayed {
		t.Fatalf("a stopped run ran again: %+v", rerun)
	}
}

func TestOutputBounded(t *testing.T) {
	o := &boundedOutput{max: 10}
	o.write("héllo wörld, more")
	if o.String() != "héllo wö" || !o.truncated {
		t.Fatalf("%q %v", o.String(), o.truncated)
	}
}

func TestQueueOverflowRefusesBusy(t *testing.T) {
	var mu sync.Mutex
	results := map[string]wire.RunResult{}
	release := make(chan struct{})
	verifying := make(chan struct{})
	var once sync.Once
	r, _ := newTestRunner(t, t.TempDir(), func(c *Config) {
		c.QueueSize = 4
		c.Deliver = func(res wire.RunResult) {
			mu.Lock()
			results[res.RunID] = res
			mu.Unlock()
		}
		c.Verify = func(ctx context.Context, after time.Time, names ...string) []diag.CheckResult {
			once.Do(func() { close(verifying) })
			<-release // hold the first run until the queue has overflowed
			return nil
		}
	})
	r.Start(context.Background())
	defer r.Stop()
	r.Submit(req("q0", catalog.FlushDNS, 0, nil), nil)
	select { // q0 is running, blocked in Verify: the queue is empty
	case <-verifying:
	case <-time.After(testwait.Bound):
		t.Fatal("q0 never reached its verification")
	}
	for _, id := range []string{"q1", "q2", "q3", "q4", "q5", "q6"} {
		r.Submit(req(id, catalog.FlushDNS, 0, nil), nil)
	}
	mu.Lock()
	if len(results) != 2 || results["q5"].Code != wire.RefuseBusy || results["q6"].Code != wire.RefuseBusy {
		t.Fatalf("busy refusals %+v", results)
	}
	mu.Unlock()
	close(release)
	testwait.Until(t, "all seven runs answered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(results) == 7
	})
	mu.Lock()
	defer mu.Unlock()
	for _, id := range []string{"q0", "q1", "q2", "q3", "q4"} {
		if results[id].Outcome != wire.OutcomeSucceeded {
			t.Errorf("%s: %+v", id, results[id])
		}
	}
	// A busy refusal is not journaled: the run can be sent again.
	if _, found, _ := r.cfg.Journal.Get("q5"); found {
		t.Error("busy refusal journaled")
	}
}
