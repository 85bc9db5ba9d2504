package health

import (
	"context"
	"go/parser"
	"go/token"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/policy"
)

func declaredChecks(t *testing.T, doc string, env Env) *Runner {
	t.Helper()
	d, err := policy.Decode([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return NewRunnerOf(5*time.Second, Declared(Config{}, env, d.Checks)...)
}

func byName(rs []diag.CheckResult) map[string]diag.CheckResult {
	m := map[string]diag.CheckResult{}
	for _, r := range rs {
		m[r.Name] = r
	}
	return m
}

func wantStatus(t *testing.T, rs map[string]diag.CheckResult, name string, st diag.Status, summary string) {
	t.Helper()
	r, ok := rs[name]
	if !ok {
		t.Fatalf("no result for %s", name)
	}
	if r.Status != st || !strings.Contains(r.Summary, summary) {
		t.Errorf("%s: %s %q (%s), want %s …%s…", name, r.Status, r.Summary, evidenceText(r), st, summary)
	}
}

func TestDeclaredFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.conf")
	doc := `{"checks": [
		{"name": "conf", "title": "App configured", "fix": "clear-temp", "file": {"path": "` + p + `", "min_size": 4, "max_age": "1h", "match": "^server = "}},
		{"name": "no-lock", "title": "No stale lock", "severity": "warning", "file": {"path": "` + p + `.lock", "absent": true}},
		{"name": "small", "title": "Log small", "file": {"path": "` + p + `", "max_size": 10}},
		{"name": "dev", "title": "Device", "file": {"path": "/dev/zero", "match": "x"}}
	]}`
	r := declaredChecks(t, doc, Env{})
	rs := byName(r.Run(context.Background()))
	wantStatus(t, rs, "conf", diag.StatusFailing, "App configured: the file is missing")
	if rs["conf"].Fix != "clear-temp" {
		t.Errorf("fix %q", rs["conf"].Fix)
	}
	wantStatus(t, rs, "no-lock", diag.StatusOK, "absent")
	wantStatus(t, rs, "dev", diag.StatusFailing, "not a regular file")

	os.WriteFile(p, []byte("port = 1\n"), 0o600)
	rs = byName(r.Run(Fresh(context.Background())))
	wantStatus(t, rs, "conf", diag.StatusFailing, "does not match")
	if strings.Contains(evidenceText(rs["conf"]), "port = 1") {
		t.Errorf("evidence shows the file's content: %s", evidenceText(rs["conf"]))
	}
	os.WriteFile(p, []byte("server = vpn.example\n"), 0o600)
	os.WriteFile(p+".lock", nil, 0o600)
	rs = byName(r.Run(Fresh(context.Background())))
	wantStatus(t, rs, "conf", diag.StatusOK, "as expected")
	if rs["conf"].Fix != "" {
		t.Errorf("ok with a fix: %+v", rs["conf"])
	}
	wantStatus(t, rs, "no-lock", diag.StatusWarning, "exists and should not")
	wantStatus(t, rs, "small", diag.StatusFailing, "larger than 10 bytes")
	// Unchanged, the content is judged from memory; changed to the same
	// size, the modification time tells.
	rs = byName(r.Run(Fresh(context.Background())))
	wantStatus(t, rs, "conf", diag.StatusOK, "as expected")
	os.WriteFile(p, []byte("client = vpn.example\n"), 0o600)
	later := time.Now().Add(time.Second)
	os.Chtimes(p, later, later)
	rs = byName(r.Run(Fresh(context.Background())))
	wantStatus(t, rs, "conf", diag.StatusFailing, "does not match")
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(p, old, old)
	rs = byName(r.Run(Fresh(context.Background())))
	wantStatus(t, rs, "conf", diag.StatusFailing, "older than 1h0m0s")
}

func TestDeclaredPlist(t *testing.T) {
	p := filepath.Join(t.TempDir(), "com.corp.mdm.plist")
	os.WriteFile(p, []byte(`<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict><key>Enrolled</key><true/><key>Server</key><dict><key>Host</key><string>mdm.corp.example</string></dict></dict></plist>`), 0o600)
	d := &declared{cfg: &Config{}, env: Env{Now: time.Now}}
	for _, tc := range []struct {
		key, equals string
		st          diag.Status
		summary     string
	}{
		{"Enrolled", "true", diag.StatusOK, "the key is set"},
		{"Server/Host", "mdm.corp.example", diag.StatusOK, "the key is set"},
		{"Server/Host", "other", diag.StatusFailing, "the key differs"},
		{"Missing", "", diag.StatusFailing, "the key is missing"},
	} {
		c := policy.Check{Name: "mdm", Title: "MDM", Plist: &policy.PlistCheck{Path: p, Key: tc.key}}
		if tc.equals != "" {
			c.Plist.Equals = &tc.equals
		}
		res := d.run(context.Background(), c)
		if res.Status != tc.st || !strings.Contains(res.Summary, tc.summary) {
			t.Errorf("%s=%s: %s %q", tc.key, tc.equals, res.Status, res.Summary)
		}
	}
	res := d.run(context.Background(), policy.Check{Name: "mdm", Title: "MDM", Plist: &policy.PlistCheck{Path: p + ".x", Key: "a"}})
	if res.Status != diag.StatusFailing || !strings.Contains(res.Summary, "missing") {
		t.Errorf("missing plist: %+v", res)
	}
}

func TestDeclaredProcessNetworkPackage(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	var methods []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		methods = append(methods, r.Method)
		switch r.URL.Path {
		case "/health":
			w.WriteHeader(http.StatusNoContent)
		case "/moved":
			http.Redirect(w, r, "/login", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	self, _ := os.Executable()
	doc := `{"checks": [
		{"name": "me", "title": "Test running", "process": {"name": "` + filepath.Base(self) + `"}},
		{"name": "ghost", "title": "Ghost running", "process": {"name": "no-such-process-xyz"}},
		{"name": "no-ghost", "title": "No ghost", "process": {"name": "no-such-process-xyz", "absent": true}},
		{"name": "port-open", "title": "Port answers", "tcp": {"host": "127.0.0.1", "port": ` + strconv.Itoa(port) + `, "timeout": "2s"}},
		{"name": "port-closed", "title": "Port answers", "tcp": {"host": "127.0.0.1", "port": ` + strconv.Itoa(closedPort) + `, "timeout": "2s"}},
		{"name": "local-name", "title": "localhost resolves", "dns": {"name": "localhost"}},
		{"name": "web", "title": "Portal", "http": {"url": "` + srv.URL + `/health", "status": 204}},
		{"name": "web-moved", "title": "Portal", "http": {"url": "` + srv.URL + `/moved"}},
		{"name": "web-missing", "title": "Portal", "http": {"url": "` + srv.URL + `/x", "status": 200}},
		{"name": "pkg", "title": "OpenVPN 2.6+", "package": {"name": "openvpn", "min_version": "2.6"}},
		{"name": "pkg-old", "title": "OpenVPN 2.7+", "package": {"name": "openvpn", "min_version": "2.7~rc1"}},
		{"name": "pkg-none", "title": "Telnet absent", "package": {"name": "telnet", "absent": true}}
	]}`
	inv := &diag.Inventory{Software: []diag.Software{{Name: "OpenVPN", Version: "2.6.3-1"}}}
	r := declaredChecks(t, doc, Env{Packages: func() (Packages, bool) { return PackagesOf(inv.Software), true }})
	rs := byName(r.Run(context.Background()))
	wantStatus(t, rs, "me", diag.StatusOK, "running")
	wantStatus(t, rs, "ghost", diag.StatusFailing, "not running")
	wantStatus(t, rs, "no-ghost", diag.StatusOK, "not running")
	wantStatus(t, rs, "port-open", diag.StatusOK, "the port answers")
	wantStatus(t, rs, "port-closed", diag.StatusFailing, "does not answer")
	wantStatus(t, rs, "local-name", diag.StatusOK, "resolves")
	wantStatus(t, rs, "web", diag.StatusOK, "answered 204")
	wantStatus(t, rs, "web-moved", diag.StatusFailing, "answered 302, not 200")
	if !strings.Contains(evidenceText(rs["web-moved"]), "redirects to: /login") {
		t.Errorf("redirect evidence: %s", evidenceText(rs["web-moved"]))
	}
	wantStatus(t, rs, "web-missing", diag.StatusFailing, "answered 404")
	wantStatus(t, rs, "pkg", diag.StatusOK, "version 2.6.3-1 installed")
	wantStatus(t, rs, "pkg-old", diag.StatusFailing, "older than 2.7~rc1")
	wantStatus(t, rs, "pkg-none", diag.StatusOK, "not installed")
	for _, m := range methods {
		if m != http.MethodHead {
			t.Errorf("HTTP check sent %s, want HEAD only", m)
		}
	}
	// Before the first inventory, package checks cannot tell.
	r = declaredChecks(t, doc, Env{Packages: func() (Packages, bool) { return Packages{}, false }})
	wantStatus(t, byName(r.Run(context.Background(), "pkg")), "pkg", diag.StatusUnknown, "not known yet")
}

// Scheduled runs reuse a network check's result within its interval;
// runs asked for run it again.
func TestDeclaredInterval(t *testing.T) {
	var requests atomic.Int32 // the checks run side by side
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { requests.Add(1) }))
	defer srv.Close()
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	doc := `{"checks": [{"name": "web", "title": "Portal", "http": {"url": "` + srv.URL + `"}},
		{"name": "web-often", "title": "Portal", "every": "1m", "http": {"url": "` + srv.URL + `"}}]}`
	d, err := policy.Decode([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	r := NewRunnerOf(5*time.Second, Declared(Config{}, Env{Now: clock}, d.Checks)...)
	first := byName(r.Run(context.Background()))
	if requests.Load() != 2 || first["web"].Status != diag.StatusOK {
		t.Fatalf("first run: %d requests, %+v", requests.Load(), first)
	}
	now = now.Add(2 * time.Minute)
	again := byName(r.Run(context.Background()))
	if requests.Load() != 3 || !again["web"].Time.Equal(first["web"].Time) || !again["web-often"].Time.Equal(now) {
		t.Fatalf("within 5m: %d requests (want 3: only web-often again), web at %s", requests.Load(), again["web"].Time)
	}
	r.Run(Fresh(context.Background()))
	if requests.Load() != 5 {
		t.Fatalf("a fresh run: %d requests, want 5", requests.Load())
	}
	now = now.Add(6 * time.Minute)
	r.Run(context.Background())
	if requests.Load() != 7 {
		t.Fatalf("after the interval: %d requests, want 7", requests.Load())
	}
	r.Run(context.Background(), "web")
	if requests.Load() != 8 {
		t.Fatalf("asked by name: %d requests, want 8", requests.Load())
	}
}

// Declarative checks start no programs of their own: their files import
// neither os/exec nor agent/execx (service checks ask agent/svcmgr, the
// agent's one way to the service manager, as service-stopped does).
func TestDeclaredRunsNoPrograms(t *testing.T) {
	files, err := filepath.Glob("declared*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("declared files: %v %v", files, err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			if p := strings.Trim(imp.Path.Value, `"`); p == "os/exec" || strings.HasSuffix(p, "/agent/execx") || p == "syscall" {
				t.Errorf("%s imports %s: declarative checks run no programs", f, p)
			}
		}
	}
}
