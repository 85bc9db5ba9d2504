package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

type runView struct {
	ID         string            `json:"id"`
	Fix        string            `json:"fix"`
	Params     map[string]string `json:"params"`
	State      string            `json:"state"`
	Outcome    string            `json:"outcome"`
	Code       string            `json:"code"`
	Reason     string            `json:"reason"`
	Ticket     string            `json:"ticket"`
	FinishedAt *time.Time        `json:"finished_at"`
	BundleName string            `json:"bundle_name"`
	Result     *struct {
		Steps []struct {
			Argv []string `json:"argv"`
		} `json:"steps"`
		Before   []struct{ Name, Status string } `json:"before"`
		After    []struct{ Name, Status string } `json:"after"`
		Replayed bool                            `json:"replayed"`
	} `json:"result"`
}

// requestRun asks for a fix run and returns the status and the run.
func (h *hub) requestRun(token, device, body string) (int, runView) {
	h.t.Helper()
	var resp struct {
		Run       runView `json:"run"`
		Delivered bool    `json:"delivered"`
		Error     string  `json:"error"`
	}
	code := h.do("POST", "/api/v1/devices/"+device+"/runs", token, strings.NewReader(body), &resp)
	if resp.Error != "" {
		resp.Run.Reason = resp.Error
	}
	return code, resp.Run
}

// waitRun long-polls a run until it has finished.
func (h *hub) waitRun(token, id string) runView {
	h.t.Helper()
	var r runView
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if code := h.do("GET", "/api/v1/runs/"+id+"?wait=10s", token, nil, &r); code != 200 {
			h.t.Fatalf("GET run %s: %d", id, code)
		}
		if r.State == "done" || r.State == "expired" || r.State == "cancelled" {
			return r
		}
	}
	h.t.Fatalf("run %s did not finish: %+v", id, r)
	return r
}

// sleeper starts a real process a fix may end.
func sleeper(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "300")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func exited(cmd *exec.Cmd) bool {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return true
	case <-time.After(5 * time.Second):
		return false
	}
}

// TestFixRuns drives fix runs through real hub and agent processes: the
// role checks on the hub, a real process ended by the agent with
// before/after verification, the agent's own policy refusing what the hub
// allowed, the per-device queue for an offline device delivered in order
// when it comes back, a log bundle uploaded and downloaded, a batch, and
// the audit trail.
func TestFixRuns(t *testing.T) {
	h := startHub(t)
	must(t, "tier one password\n", "tierline-hub", "user", "add", "--data", h.data, "--name", "t1", "--role", "tier1")
	must(t, "tier two password\n", "tierline-hub", "user", "add", "--data", h.data, "--name", "t2", "--role", "tier2")
	t1 := must(t, "", "tierline-hub", "apitoken", "create", "--data", h.data, "--user", "t1")
	t2 := must(t, "", "tierline-hub", "apitoken", "create", "--data", h.data, "--user", "t2")

	a := enroll(t, h.tokenCreate())
	// The device's own policy: no network reset, restart-service only for
	// the built-in list.
	if err := os.WriteFile(filepath.Join(a.state, "policy.json"), []byte(`{"disabled":["reset-network"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	a.run()
	var dev struct {
		Online bool     `json:"online"`
		Fixes  []string `json:"fixes"`
	}
	eventually(t, "the device online with its fix list", 30*time.Second, func() bool {
		h.get("/api/v1/devices/"+a.id, &dev)
		return dev.Online && len(dev.Fixes) > 0
	})
	if slices.Contains(dev.Fixes, "reset-network") || !slices.Contains(dev.Fixes, "end-process") {
		t.Fatalf("device offers %v: want end-process and not reset-network (its policy disables it)", dev.Fixes)
	}

	// The catalog as tier1 sees it for this device.
	var cat struct {
		Fixes []struct {
			ID      string `json:"id"`
			Allowed bool   `json:"allowed"`
			Refusal string `json:"refusal"`
		} `json:"fixes"`
	}
	h.do("GET", "/api/v1/catalog?device="+a.id, t1, nil, &cat)
	for _, f := range cat.Fixes {
		switch f.ID {
		case "end-process", "reset-network":
			if f.Allowed {
				t.Errorf("tier1 is offered %s on this device", f.ID)
			}
		case "flush-dns":
			if !f.Allowed {
				t.Errorf("tier1 is not offered flush-dns: %s", f.Refusal)
			}
		}
	}

	// tier1 may not end processes (a tier 2 fix); the hub refuses and
	// nothing reaches the device.
	victim := sleeper(t)
	body := fmt.Sprintf(`{"fix":"end-process","params":{"pid":%d},"consent_obtained":true}`, victim.Process.Pid)
	if code, r := h.requestRun(t1, a.id, body); code != 403 || !strings.Contains(r.Reason, "tier 2") {
		t.Fatalf("tier1 end-process: %d %q, want 403 naming tier 2", code, r.Reason)
	}
	// tier2 may: the agent ends the real process and reports it with the
	// checks it ran before and after.
	code, r := h.requestRun(t2, a.id, body)
	if code != 202 {
		t.Fatalf("tier2 end-process: %d %+v", code, r)
	}
	r = h.waitRun(t2, r.ID)
	if r.Outcome != "succeeded" && r.Outcome != "fixed" {
		t.Fatalf("end-process outcome %s (%s): %s", r.Outcome, r.Code, r.Reason)
	}
	if r.Result == nil || len(r.Result.Before) == 0 || len(r.Result.After) == 0 {
		t.Errorf("end-process result has no before/after verification: %+v", r.Result)
	}
	if !exited(victim) {
		t.Fatalf("the process %d is still running after end-process reported %s", victim.Process.Pid, r.Outcome)
	}

	// The hub allows a tier2 restart-service of any well-formed name, but
	// the agent's allow-list does not: it refuses and says which rule.
	code, r = h.requestRun(t2, a.id, `{"fix":"restart-service","params":{"service":"tierline-not-on-the-list"}}`)
	if code != 202 {
		t.Fatalf("restart-service request: %d %+v", code, r)
	}
	r = h.waitRun(t2, r.ID)
	if r.Outcome != "refused" || r.Code != "policy" || !strings.Contains(r.Reason, "allow") {
		t.Errorf("restart-service of a service off the allow-list: %s/%s %q, want refused/policy", r.Outcome, r.Code, r.Reason)
	}
	// What the device's policy disables is not even sent.
	if code, r := h.requestRun(h.token, a.id, `{"fix":"reset-network","consent_obtained":true}`); code != 422 || !strings.Contains(r.Reason, "does not offer") {
		t.Errorf("reset-network on a device whose policy disables it: %d %q", code, r.Reason)
	}

	// A log bundle: uploaded with the result, downloadable by tier2, not
	// by tier1.
	code, r = h.requestRun(t2, a.id, `{"fix":"collect-logs","params":{"hours":1,"max_mib":1}}`)
	if code != 202 {
		t.Fatalf("collect-logs: %d", code)
	}
	r = h.waitRun(t2, r.ID)
	if r.Outcome != "succeeded" || r.BundleName == "" {
		t.Fatalf("collect-logs: %s %q bundle %q", r.Outcome, r.Reason, r.BundleName)
	}
	if code := h.do("GET", "/api/v1/runs/"+r.ID+"/bundle", t1, nil, nil); code != 403 {
		t.Errorf("tier1 downloads a bundle: %d", code)
	}
	req, _ := newRequest(h, "GET", "/api/v1/runs/"+r.ID+"/bundle", t2)
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	magic := make([]byte, 2)
	resp.Body.Read(magic)
	resp.Body.Close()
	if resp.StatusCode != 200 || magic[0] != 0x1f || magic[1] != 0x8b {
		t.Errorf("bundle download: %d, starts %x; want a gzip file", resp.StatusCode, magic)
	}

	// Offline: runs wait in the device's queue and run in order when it
	// is back.
	a.proc.stop()
	eventually(t, "the device offline", 30*time.Second, func() bool {
		h.get("/api/v1/devices/"+a.id, &dev)
		return !dev.Online
	})
	first, second := sleeper(t), sleeper(t)
	var queued []runView
	for _, v := range []*exec.Cmd{first, second} {
		code, r := h.requestRun(t2, a.id, fmt.Sprintf(`{"fix":"end-process","params":{"pid":%d},"consent_obtained":true}`, v.Process.Pid))
		if code != 202 || r.State != "queued" {
			t.Fatalf("run for an offline device: %d state %q", code, r.State)
		}
		queued = append(queued, r)
	}
	a.run()
	r1, r2 := h.waitRun(t2, queued[0].ID), h.waitRun(t2, queued[1].ID)
	if r1.Outcome != "succeeded" && r1.Outcome != "fixed" || r2.Outcome != "succeeded" && r2.Outcome != "fixed" {
		t.Fatalf("queued runs: %s %q, %s %q", r1.Outcome, r1.Reason, r2.Outcome, r2.Reason)
	}
	if r2.FinishedAt.Before(*r1.FinishedAt) {
		t.Errorf("queued runs finished out of order: %s then %s", r1.FinishedAt, r2.FinishedAt)
	}
	if !exited(first) || !exited(second) {
		t.Errorf("queued end-process runs did not end their processes")
	}

	// A batch on named devices, with progress.
	var batch struct {
		Batch struct {
			ID    string         `json:"id"`
			Total int            `json:"total"`
			State map[string]int `json:"states"`
		} `json:"batch"`
	}
	if code := h.do("POST", "/api/v1/batches", t2, strings.NewReader(`{"fix":"flush-dns","devices":["`+a.id+`"]}`), &batch); code != 202 || batch.Batch.Total != 1 {
		t.Fatalf("batch: %d %+v", code, batch)
	}
	eventually(t, "the batch done", 30*time.Second, func() bool {
		var b struct {
			States map[string]int `json:"states"`
		}
		h.do("GET", "/api/v1/batches/"+batch.Batch.ID, t2, nil, &b)
		return b.States["done"] == 1
	})

	// The audit log has who asked for what, with parameters and results.
	var audit struct {
		Events []struct {
			Actor, Action, Target, Outcome string
			Detail                         map[string]any
		} `json:"events"`
	}
	h.get("/api/v1/audit?limit=500", &audit)
	var requests, results int
	for _, e := range audit.Events {
		switch e.Action {
		case "run.request":
			requests++
			if e.Target != a.id || e.Detail["fix"] == nil {
				t.Errorf("run.request event %+v", e)
			}
		case "run.result":
			results++
		}
	}
	if requests < 5 || results < 6 {
		raw, _ := json.Marshal(audit)
		t.Errorf("audit has %d run requests and %d results, want at least 5 and 6: %s", requests, results, raw)
	}
	if !strings.Contains(a.proc.output(), "end-process") {
		t.Logf("agent output:\n%s", tail(a.proc.output(), 40))
	}
}

func newRequest(h *hub, method, path, token string) (*http.Request, error) {
	req, err := http.NewRequest(method, h.url()+path, nil)
	if err == nil {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req, err
}
