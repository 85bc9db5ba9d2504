// Package e2e drives the built tierline-hub and tierline-agent binaries as
// separate processes, the way an admin and a fleet run them.
package e2e

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tierline-e2e-bin-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	// The agents' DNS check asks only a loopback resolver (a working one,
	// where the tests may listen on port 53): tests send nothing off the
	// machine.
	resolv := filepath.Join(dir, "resolv.conf")
	ns, stopDNS := startLoopbackDNS()
	defer stopDNS()
	if err := os.WriteFile(resolv, []byte("nameserver "+ns+"\n"), 0o644); err != nil {
		panic(err)
	}
	os.Setenv("TIERLINE_RESOLV_CONF", resolv)
	for _, p := range []struct{ out, pkg string }{
		{"tierline-hub", "github.com/tierline/tierline/hub/cmd/tierline-hub"},
		{"tierline-agent", "github.com/tierline/tierline/agent/cmd/tierline-agent"},
		{"tierline-tray", "github.com/tierline/tierline/agent/cmd/tierline-tray"},           // tierline-agent gethelp runs it
		{"oidc-provider", "github.com/tierline/tierline/hub/sso/ssotest/cmd/oidc-provider"}, // single sign-on's provider
	} {
		cmd := exec.Command("go", "build", "-race", "-o", filepath.Join(dir, p.out), p.pkg)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n", p.pkg, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	stopDNS()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running binary whose output is kept for failure reports.
type proc struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
	err  error
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func start(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, done: make(chan struct{})}
	p.cmd = exec.Command(filepath.Join(binDir, name), args...)
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.signal(syscall.SIGKILL)
		<-p.done
		if t.Failed() {
			t.Logf("--- output of %s %s:\n%s", name, strings.Join(args, " "), tail(p.output(), 6000))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func (p *proc) signal(sig syscall.Signal) {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(sig)
	}
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Fatalf("%s did not exit within %s", p.name, timeout)
	}
	if p.cmd.ProcessState == nil {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop() int {
	p.signal(syscall.SIGTERM)
	return p.wait(30 * time.Second)
}

// run runs a binary to completion and returns stdout, stderr and exit code.
func run(t *testing.T, stdin string, name string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, name), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %s: %v", name, err)
	}
	return stdout.String(), stderr.String(), code
}

// must runs a binary that must succeed and returns its trimmed stdout.
func must(t *testing.T, stdin string, name string, args ...string) string {
	t.Helper()
	out, errOut, code := run(t, stdin, name, args...)
	if code != 0 {
		t.Fatalf("%s %s: exit %d\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), code, out, errOut)
	}
	return strings.TrimSpace(out)
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// hub is a running tierline-hub with an admin API token.
type hub struct {
	t      *testing.T
	data   string
	addr   string
	proc   *proc
	token  string // admin API token
	client *http.Client
	extra  []string
}

func startHub(t *testing.T, extra ...string) *hub {
	t.Helper()
	h := &hub{t: t, data: t.TempDir(), addr: freePort(t), extra: extra}
	h.start()
	h.token = must(t, "", "tierline-hub", "apitoken", "create", "--data", h.data, "--user", "admin")
	return h
}

func (h *hub) start() {
	h.t.Helper()
	args := append([]string{"serve", "--data", h.data, "--listen", h.addr, "--log-level", "debug"}, h.extra...)
	h.proc = start(h.t, "tierline-hub", args...)
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(h.proc.output(), "listening on") {
		select {
		case <-h.proc.done:
			h.t.Fatalf("hub exited during start:\n%s", h.proc.output())
		default:
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("hub did not start listening:\n%s", h.proc.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if h.client == nil {
		pem, err := os.ReadFile(filepath.Join(h.data, "ca.pem"))
		if err != nil {
			h.t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		h.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	}
}

func (h *hub) url() string { return "https://" + h.addr }

// cli runs an admin verb (two command words, then arguments) on this
// hub's data directory.
func (h *hub) cli(verb, sub string, args ...string) string {
	h.t.Helper()
	return must(h.t, "", "tierline-hub", append([]string{verb, sub, "--data", h.data}, args...)...)
}

// tokenCreate prints a new enrollment token.
func (h *hub) tokenCreate(flags ...string) string {
	h.t.Helper()
	return must(h.t, "", "tierline-hub", append([]string{"token", "create", "--data", h.data}, flags...)...)
}

// get calls the API and decodes the JSON answer into v; it returns the status.
func (h *hub) get(path string, v any) int {
	h.t.Helper()
	return h.do("GET", path, h.token, nil, v)
}

// raw GETs path from the API and returns the body and its Content-Type,
// failing the test unless the answer is 200.
func (h *hub) raw(path string) ([]byte, string) {
	h.t.Helper()
	req, _ := http.NewRequest("GET", h.url()+path, nil)
	req.Header.Set("Authorization", "Bearer "+h.token)
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	return body, resp.Header.Get("Content-Type")
}

func (h *hub) do(method, path, token string, body io.Reader, v any) int {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.url()+path, body)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(raw, v); err != nil {
			h.t.Fatalf("%s %s: status %d, body is not JSON: %v\n%s", method, path, resp.StatusCode, err, raw)
		}
	}
	return resp.StatusCode
}

// agent is an enrolled tierline-agent state directory.
type agent struct {
	t     *testing.T
	state string
	id    string
	proc  *proc
}

func enroll(t *testing.T, token string) *agent {
	t.Helper()
	a := &agent{t: t, state: filepath.Join(t.TempDir(), "agent")}
	must(t, "", "tierline-agent", "enroll", "--token", token, "--state", a.state)
	raw, err := os.ReadFile(filepath.Join(a.state, "identity.json"))
	if err != nil {
		t.Fatalf("enrolled agent has no identity.json: %v", err)
	}
	var id struct {
		DeviceID string `json:"device_id"`
	}
	if err := json.Unmarshal(raw, &id); err != nil || id.DeviceID == "" {
		t.Fatalf("identity.json has no device_id: %v %s", err, raw)
	}
	a.id = id.DeviceID
	return a
}

func (a *agent) run(flags ...string) *proc {
	a.t.Helper()
	args := append([]string{"run", "--state", a.state, "--interval", "200ms", "--backoff-base", "100ms", "--backoff-max", "1s", "--log-level", "debug"}, flags...)
	a.proc = start(a.t, "tierline-agent", args...)
	return a.proc
}

// eventually polls cond until it holds or the deadline passes. It waits
// for a condition; it never asserts on how long something took.
func eventually(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type device struct {
	ID       string     `json:"id"`
	Hostname string     `json:"hostname"`
	OS       string     `json:"os"`
	Online   bool       `json:"online"`
	LastSeq  uint64     `json:"last_seq"`
	Revoked  *time.Time `json:"revoked_at"`
	Summary  *struct {
		MemPct float64 `json:"mem_pct"`
	} `json:"summary"`
	Latest *struct {
		Memory struct {
			Total uint64 `json:"total"`
		} `json:"memory"`
	} `json:"latest"`
	Inventory *struct {
		Hostname string `json:"hostname"`
		OS       struct {
			Name string `json:"name"`
		} `json:"os"`
	} `json:"inventory"`
	Health []struct {
		Name   string    `json:"name"`
		Status string    `json:"status"`
		Time   time.Time `json:"time"`
	} `json:"health"`
}

// checkTime returns when the named health check last ran, or zero.
func (d device) checkTime(name string) time.Time {
	for _, c := range d.Health {
		if c.Name == name {
			return c.Time
		}
	}
	return time.Time{}
}

// check returns the status of the named health check, or "".
func (d device) check(name string) string {
	for _, c := range d.Health {
		if c.Name == name {
			return c.Status
		}
	}
	return ""
}

type point struct {
	Time time.Time `json:"time"`
	Seq  uint64    `json:"seq"`
}

func (h *hub) telemetry(id string, since time.Time) []point {
	h.t.Helper()
	var resp struct {
		Points []point `json:"points"`
	}
	q := "?since=" + since.UTC().Format(time.RFC3339Nano) + "&until=" + time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano) + "&limit=100000"
	if code := h.get("/api/v1/devices/"+id+"/telemetry"+q, &resp); code != http.StatusOK {
		h.t.Fatalf("telemetry: status %d", code)
	}
	return resp.Points
}
