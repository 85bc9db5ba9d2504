//go:build linux

// Package machine tests the agent on a real Debian machine with systemd
// (booted with systemd-nspawn, scripts/testmachine/nspawn): the agent
// installed from its .deb, enrolled to a hub in the test's network
// namespace, faults injected for real inside the machine, and what a
// technician sees asserted through the hub's API. The tests skip, saying
// why, when not run as root or without systemd-nspawn and debootstrap.
package machine

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tierline/tierline/scripts/testmachine/nspawn"
	"github.com/tierline/tierline/shared/diag"
)

var (
	// skipReason is why these tests cannot run here, "" when they can.
	skipReason string
	root       string // the machine's cached root
	agentDeb   string // the tierline-agent .deb, as `make installers` builds it
	hubBin     string // the tierline-hub linux/amd64 binary built with it
)

func TestMain(m *testing.M) {
	os.Exit(setup(m))
}

func setup(m *testing.M) int {
	if skipReason = nspawn.Unavailable(); skipReason != "" {
		return m.Run()
	}
	suite := time.Now()
	ctx := context.Background()
	var err error
	if root, err = nspawn.EnsureRoot(ctx, nspawn.DefaultCacheDir(), os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "test machine root:", err)
		return 1
	}
	dist, err := os.MkdirTemp("", "tierline-machine-dist-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dist)
	// The packages the way `make installers` builds them, this
	// architecture's .deb only.
	start := time.Now()
	cmd := exec.Command("go", "run", "./scripts/installers", "--version", "0.0.0-machinetest", "--ldflags", "-s -w",
		"--out", dist, "--skip", "rpm,msi,tar", "--arch", runtime.GOARCH)
	cmd.Dir = repoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build the .deb: %v\n%s", err, out)
		return 1
	}
	debs, _ := filepath.Glob(filepath.Join(dist, "tierline-agent_*_"+runtime.GOARCH+".deb"))
	if len(debs) != 1 {
		fmt.Fprintf(os.Stderr, "build the .deb: want one tierline-agent .deb for %s in %s, found %v\n", runtime.GOARCH, dist, debs)
		return 1
	}
	agentDeb = debs[0]
	hubBin = filepath.Join(dist, "bin", "tierline-hub-linux-"+runtime.GOARCH)
	fmt.Fprintf(os.Stderr, "machine tests: packages built in %s\n", time.Since(start).Round(time.Millisecond))
	code := m.Run()
	fmt.Fprintf(os.Stderr, "machine tests: whole suite %s\n", time.Since(suite).Round(time.Millisecond))
	return code
}

func repoRoot() string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		panic(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// need skips the test when machines cannot be booted here.
func need(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skipf("skipping the real-machine test: %s", skipReason)
	}
}

var seq atomic.Int32

// pc is a booted machine with the agent installed from its .deb and
// connected to the test's hub.
type pc struct {
	t   *testing.T
	net *nspawn.Network
	m   *nspawn.Machine
	hub *hub
	id  string // the device id
}

type pcOptions struct {
	// Env is put in the agent's service as Environment= (a systemd
	// drop-in, as an admin would), for example TIERLINE_WATCH_SERVICES.
	Env map[string]string
	// Before runs in the booted machine before the agent is installed.
	Before func(p *pc)
}

// newPC creates the test's namespace and hub, boots the machine joined to
// it, installs and enrolls the agent, and waits until the hub says the
// device is online. Everything is undone when the test ends, failed or not.
func newPC(t *testing.T, o pcOptions) *pc {
	t.Helper()
	need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	name := fmt.Sprintf("e%d%d", os.Getpid()%100000, seq.Add(1))
	n, err := nspawn.NewNetwork(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("remove the test network: %v", err)
		}
	})
	p := &pc{t: t, net: n}
	p.hub = startHub(t, n)
	start := time.Now()
	p.m, err = nspawn.Boot(ctx, nspawn.Config{Name: "tierline-" + name, Root: root, Network: n})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("machine booted in %s", time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := p.m.Exec(context.Background(), "journalctl", "--no-pager", "-n", "80", "-u", "tierline-agent")
			t.Logf("--- the agent's journal in the machine:\n%s", out)
		}
		switch err := p.m.Stop(); {
		case errors.Is(err, nspawn.ErrKilled):
			t.Logf("stop the machine: %v", err)
		case err != nil:
			t.Errorf("stop the machine: %v", err)
		}
	})
	if o.Before != nil {
		o.Before(p)
	}
	// Installed the way users install it: the enrollment token where the
	// package's postinst looks, the admin's settings in a drop-in, dpkg -i.
	start = time.Now()
	p.write("/etc/tierline/enroll.token", p.hub.cli("token", "create")+"\n", 0o600)
	if len(o.Env) > 0 {
		var b strings.Builder
		b.WriteString("[Service]\n")
		for k, v := range o.Env {
			fmt.Fprintf(&b, "Environment=%s=%s\n", k, v)
		}
		p.write("/etc/systemd/system/tierline-agent.service.d/test.conf", b.String(), 0o644)
	}
	if err := p.m.CopyIn(agentDeb, "/root/tierline-agent.deb", 0o644); err != nil {
		t.Fatal(err)
	}
	out := p.exec("dpkg", "-i", "/root/tierline-agent.deb")
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/root/var/lib/tierline-agent/identity.json", p.m.Leader))
	if err != nil {
		t.Fatalf("the package did not enroll the agent: %v\ndpkg -i said:\n%s", err, out)
	}
	var id struct {
		DeviceID string `json:"device_id"`
	}
	if err := json.Unmarshal(raw, &id); err != nil || id.DeviceID == "" {
		t.Fatalf("identity.json: %v %s", err, raw)
	}
	p.id = id.DeviceID
	eventually(t, "the agent, started by systemd, online at the hub", 60*time.Second, func() bool {
		var d struct {
			Online bool `json:"online"`
		}
		return p.hub.get("/api/v1/devices/"+p.id, &d) == http.StatusOK && d.Online
	})
	t.Logf("agent installed and online in %s", time.Since(start).Round(time.Millisecond))
	return p
}

// exec runs argv in the machine and fails the test if it fails.
func (p *pc) exec(argv ...string) string {
	p.t.Helper()
	out, err := p.m.Exec(context.Background(), argv...)
	if err != nil {
		p.t.Fatal(err)
	}
	return out
}

// try runs argv in the machine and returns its output and error.
func (p *pc) try(argv ...string) (string, error) {
	return p.m.Exec(context.Background(), argv...)
}

func (p *pc) write(path, content string, mode os.FileMode) {
	p.t.Helper()
	if err := p.m.WriteFile(path, []byte(content), mode); err != nil {
		p.t.Fatal(err)
	}
}

// device is what the hub's API says about the machine.
type device struct {
	Online bool               `json:"online"`
	Fixes  []string           `json:"fixes"`
	Health []diag.CheckResult `json:"health"`
}

func (p *pc) device() device {
	p.t.Helper()
	var d device
	if code := p.hub.get("/api/v1/devices/"+p.id, &d); code != http.StatusOK {
		p.t.Fatalf("GET device: %d", code)
	}
	return d
}

// check returns the hub's latest result of the named check.
func (d device) check(name string) (diag.CheckResult, bool) {
	for _, c := range d.Health {
		if c.Name == name {
			return c, true
		}
	}
	return diag.CheckResult{}, false
}

// waitCheck waits until the hub shows the named check with status.
func (p *pc) waitCheck(name string, status diag.Status) diag.CheckResult {
	p.t.Helper()
	// Only a result the agent took from now on counts: the one the hub
	// holds may be from before what the test just did (a fix, a fault).
	return p.waitCheckSince(name, status, time.Now())
}

// waitCheckSince waits for a result of name with status taken at since
// or later (since taken before asking for the check: its answer can come
// back before the test starts waiting).
func (p *pc) waitCheckSince(name string, status diag.Status, since time.Time) diag.CheckResult {
	p.t.Helper()
	var c diag.CheckResult
	eventually(p.t, fmt.Sprintf("check %s %s at the hub", name, status), 90*time.Second, func() bool {
		var ok bool
		c, ok = p.device().check(name)
		return ok && c.Status == status && !c.Time.Before(since)
	})
	return c
}

// catalogFix is one fix of the hub's catalog for this device.
type catalogFix struct {
	ID      string `json:"id"`
	Tier    int    `json:"tier"`
	Allowed bool   `json:"allowed"`
	Refusal string `json:"refusal"`
}

// offered returns the hub's catalog entry for fix on this device.
func (p *pc) offered(fix string) catalogFix {
	p.t.Helper()
	var resp struct {
		Fixes []catalogFix `json:"fixes"`
	}
	if code := p.hub.get("/api/v1/catalog?device="+p.id, &resp); code != http.StatusOK {
		p.t.Fatalf("GET catalog: %d", code)
	}
	for _, f := range resp.Fixes {
		if f.ID == fix {
			return f
		}
	}
	p.t.Fatalf("the hub's catalog for the device has no %s: %+v", fix, resp.Fixes)
	return catalogFix{}
}

// runView is a fix run as the hub's API shows it.
type runView struct {
	ID      string `json:"id"`
	Fix     string `json:"fix"`
	State   string `json:"state"`
	Outcome string `json:"outcome"`
	Code    string `json:"code"`
	Reason  string `json:"reason"`
	Result  *struct {
		Steps []struct {
			Argv     []string `json:"argv"`
			ExitCode int      `json:"exit_code"`
			Output   string   `json:"output"`
		} `json:"steps"`
		Before []diag.CheckResult `json:"before"`
		After  []diag.CheckResult `json:"after"`
	} `json:"result"`
}

// run asks the hub to run fix with params on the machine and waits for
// the result.
func (p *pc) run(fix string, params map[string]string) runView {
	p.t.Helper()
	body, _ := json.Marshal(map[string]any{"fix": fix, "params": params, "consent_obtained": true})
	var resp struct {
		Run   runView `json:"run"`
		Error string  `json:"error"`
	}
	if code := p.hub.do("POST", "/api/v1/devices/"+p.id+"/runs", bytes.NewReader(body), &resp); code != http.StatusCreated && code != http.StatusAccepted && code != http.StatusOK {
		p.t.Fatalf("request %s: status %d %s", fix, code, resp.Error)
	}
	r := resp.Run
	deadline := time.Now().Add(3 * time.Minute)
	for r.State != "done" && r.State != "expired" && r.State != "cancelled" {
		if time.Now().After(deadline) {
			p.t.Fatalf("run %s did not finish: %+v", r.ID, r)
		}
		if code := p.hub.get("/api/v1/runs/"+r.ID+"?wait=10s", &r); code != http.StatusOK {
			p.t.Fatalf("GET run %s: %d", r.ID, code)
		}
	}
	b, _ := json.MarshalIndent(r, "", "  ")
	p.t.Logf("run %s:\n%s", fix, b)
	return r
}

// status returns the status of check name in results, or "".
func status(results []diag.CheckResult, name string) diag.Status {
	for _, c := range results {
		if c.Name == name {
			return c.Status
		}
	}
	return ""
}

// hub is a tierline-hub running in the test's namespace, listening on
// the namespace's veth address.
type hub struct {
	t      *testing.T
	data   string
	url    string
	token  string
	client *http.Client
	mu     sync.Mutex
	out    bytes.Buffer
}

func (h *hub) Write(b []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.out.Write(b)
}

func (h *hub) output() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.out.String()
}

func startHub(t *testing.T, n *nspawn.Network) *hub {
	t.Helper()
	addr := nspawn.HubIP + ":8443"
	h := &hub{t: t, data: t.TempDir(), url: "https://" + addr}
	cmd := n.Command(context.Background(), hubBin, "serve", "--data", h.data, "--listen", addr, "--log-level", "debug")
	cmd.Stdout, cmd.Stderr = h, h
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if t.Failed() {
			out := h.output()
			if len(out) > 6000 {
				out = "…" + out[len(out)-6000:]
			}
			t.Logf("--- the hub's output:\n%s", out)
		}
	})
	eventually(t, "the hub listening", 60*time.Second, func() bool {
		select {
		case <-done:
			t.Fatalf("the hub exited:\n%s", h.output())
		default:
		}
		return strings.Contains(h.output(), "listening on")
	})
	pem, err := os.ReadFile(filepath.Join(h.data, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	h.client = &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, DialContext: n.DialContext}}
	h.token = h.cli("apitoken", "create", "--user", "admin")
	return h
}

// cli runs an admin verb of the hub on its data directory.
func (h *hub) cli(verb, sub string, args ...string) string {
	h.t.Helper()
	out, err := exec.Command(hubBin, append([]string{verb, sub, "--data", h.data}, args...)...).Output()
	if err != nil {
		h.t.Fatalf("tierline-hub %s %s: %v", verb, sub, err)
	}
	return strings.TrimSpace(string(out))
}

func (h *hub) get(path string, v any) int {
	h.t.Helper()
	return h.do("GET", path, nil, v)
}

func (h *hub) do(method, path string, body io.Reader, v any) int {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.url+path, body)
	req.Header.Set("Authorization", "Bearer "+h.token)
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(raw, v); err != nil {
			h.t.Fatalf("%s %s: status %d, not JSON: %v\n%s", method, path, resp.StatusCode, err, raw)
		}
	}
	return resp.StatusCode
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
