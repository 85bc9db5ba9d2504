package policy

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

const fullPolicy = `{
  "thresholds": {"disk_warn_pct": 80, "disk_fail_pct": 90, "clock_warn": "30s", "clock_fail": "2m"},
  "check_every": "30s",
  "dns_names": ["intranet.corp.example"],
  "targets": ["vpn.corp.example:443"],
  "watched_services": ["openvpn"],
  "restart_watched_services": true,
  "disabled_fixes": ["reset-network"],
  "max_tier": 2,
  "technician_consent": false,
  "consent_required": ["clear-temp"],
  "checks": [
    {"name": "vpn-config", "title": "VPN client configured", "fix": "restart-service",
     "file": {"path": "/etc/openvpn/client.conf", "max_age": "720h", "min_size": 10, "match": "^remote "}},
    {"name": "proxy-set", "title": "Proxy set", "registry": {"key": "SOFTWARE\\Corp\\Proxy", "value": "Server", "equals": "proxy:3128"}},
    {"name": "mdm-enrolled", "title": "MDM enrolled", "severity": "warning", "plist": {"path": "/Library/Preferences/com.corp.mdm.plist", "key": "Enrolled"}},
    {"name": "backup-running", "title": "Backup agent running", "process": {"name": "backupd"}},
    {"name": "sshd-stopped", "title": "SSH server off", "service": {"name": "sshd", "state": "stopped"}},
    {"name": "intranet-resolves", "title": "Intranet name resolves", "dns": {"name": "intranet.corp.example"}},
    {"name": "erp-port", "title": "ERP answers", "tcp": {"host": "erp.corp.example", "port": 5432, "timeout": "2s"}},
    {"name": "portal-up", "title": "Portal answers", "http": {"url": "https://portal.corp.example/health", "status": 204}},
    {"name": "agent-pkg", "title": "VPN client 2.6 or later", "package": {"name": "openvpn", "min_version": "2.6"}}
  ]
}`

func TestDecodeFull(t *testing.T) {
	d, err := Decode([]byte(fullPolicy))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Checks) != 9 || d.CheckEvery.D() != 30*time.Second || *d.MaxTier != 2 || d.Thresholds.ClockFail.D() != 2*time.Minute {
		t.Fatalf("decoded %+v", d)
	}
	for i, c := range d.Checks {
		if c.Kind() != Kinds[i] {
			t.Errorf("check %d kind %q, want %q", i, c.Kind(), Kinds[i])
		}
	}
	// What decodes encodes to what decodes the same.
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	d2, err := Decode(b)
	if err != nil {
		t.Fatalf("re-decode %s: %v", b, err)
	}
	b2, _ := json.Marshal(d2)
	if string(b) != string(b2) {
		t.Fatalf("round trip changed:\n%s\n%s", b, b2)
	}
}

func TestDecodeErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct{ doc, path, msg string }{
		{`{"max_tier": 7}`, "max_tier", "outside 0..3"},
		{`{"check_every": "1s"}`, "check_every", "outside 10s..1h"},
		{`{"check_every": 5}`, "(policy)", "duration"},
		{`{"thresholds": {"disk_warn_pct": 99, "disk_fail_pct": 90}}`, "thresholds.disk_warn_pct", "before failing"},
		{`{"thresholds": {"disk_warn_pct": 80}}`, "thresholds.disk_warn_pct", "together"},
		{`{"dns_names": ["bad name"]}`, "dns_names[0]", "not a DNS name"},
		{`{"targets": ["host"]}`, "targets[0]", "host:port"},
		{`{"targets": ["host:99999"]}`, "targets[0]", "1..65535"},
		{`{"watched_services": ["a;rm -rf /"]}`, "watched_services[0]", "service name"},
		{`{"disabled_fixes": ["run-script"]}`, "disabled_fixes[0]", "not a catalog fix"},
		{`{"consent_required": ["x"]}`, "consent_required[0]", "not a catalog fix"},
		{`{"unknown": 1}`, "(policy)", "unknown field"},
		{`{} {}`, "(policy)", "trailing"},
		{`{"checks": [{"name": "Bad Name", "title": "t", "dns": {"name": "a.b"}}]}`, "checks[0].name", "not a check name"},
		{`{"checks": [{"name": "disk-almost-full", "title": "t", "dns": {"name": "a.b"}}]}`, "checks[0].name", "built-in"},
		{`{"checks": [{"name": "a", "dns": {"name": "a.b"}}]}`, "checks[0].title", "required"},
		{`{"checks": [{"name": "a", "title": "t"}]}`, "checks[0]", "exactly one of"},
		{`{"checks": [{"name": "a", "title": "t", "dns": {"name": "a.b"}, "tcp": {"host": "a", "port": 1}}]}`, "checks[0]", "exactly one of"},
		{`{"checks": [{"name": "a", "title": "t", "dns": {"name": "a.b"}}, {"name": "a", "title": "t", "dns": {"name": "a.b"}}]}`, "checks[1].name", "unique"},
		{`{"checks": [{"name": "a", "title": "t", "severity": "ok", "dns": {"name": "a.b"}}]}`, "checks[0].severity", "failing"},
		{`{"checks": [{"name": "a", "title": "t", "fix": "run-script", "dns": {"name": "a.b"}}]}`, "checks[0].fix", "not a catalog fix"},
		{`{"checks": [{"name": "a", "title": "t", "os": ["plan9"], "dns": {"name": "a.b"}}]}`, "checks[0].os[0]", "linux"},
		{`{"checks": [{"name": "a", "title": "t", "file": {"path": "etc/x"}}]}`, "checks[0].file.path", "absolute"},
		{`{"checks": [{"name": "a", "title": "t", "file": {"path": "/etc/../x"}}]}`, "checks[0].file.path", ".."},
		{`{"checks": [{"name": "a", "title": "t", "file": {"path": "/x", "match": "("}}]}`, "checks[0].file.match", "regular expression"},
		{`{"checks": [{"name": "a", "title": "t", "file": {"path": "/x", "absent": true, "min_size": 3}}]}`, "checks[0].file.absent", "absent"},
		{`{"checks": [{"name": "a", "title": "t", "registry": {"key": "HKLM\\X"}}]}`, "checks[0].registry.key", "under HKEY_LOCAL_MACHINE"},
		{`{"checks": [{"name": "a", "title": "t", "os": ["linux"], "registry": {"key": "SOFTWARE\\X"}}]}`, "checks[0].registry", "windows only"},
		{`{"checks": [{"name": "a", "title": "t", "plist": {"path": "/x.plist"}}]}`, "checks[0].plist.key", "required"},
		{`{"checks": [{"name": "a", "title": "t", "process": {"name": "a|b"}}]}`, "checks[0].process.name", "name"},
		{`{"checks": [{"name": "a", "title": "t", "service": {"name": "x", "state": "paused"}}]}`, "checks[0].service.state", "running"},
		{`{"checks": [{"name": "a", "title": "t", "dns": {"name": "127.0.0.1"}}]}`, "checks[0].dns.name", "not a DNS name"},
		{`{"checks": [{"name": "a", "title": "t", "tcp": {"host": "h", "port": 0}}]}`, "checks[0].tcp.port", "1..65535"},
		{`{"checks": [{"name": "a", "title": "t", "tcp": {"host": "h", "port": 1, "timeout": "1m"}}]}`, "checks[0].tcp.timeout", "outside"},
		{`{"checks": [{"name": "a", "title": "t", "http": {"url": "file:///etc/passwd"}}]}`, "checks[0].http.url", "only http"},
		{`{"checks": [{"name": "a", "title": "t", "http": {"url": "http://u:p@h/"}}]}`, "checks[0].http.url", "credentials"},
		{`{"checks": [{"name": "a", "title": "t", "http": {"url": "http://h/", "status": 700}}]}`, "checks[0].http.status", "100..599"},
		{`{"checks": [{"name": "a", "title": "t", "package": {"name": ""}}]}`, "checks[0].package.name", "required"},
	} {
		_, err := Decode([]byte(tc.doc))
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%s: got %v, want a ValidationError", tc.doc, err)
			continue
		}
		found := false
		for _, p := range ve.Problems {
			if p.Path == tc.path && strings.Contains(p.Message, tc.msg) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: problems %v, want %s: …%s…", tc.doc, ve.Problems, tc.path, tc.msg)
		}
	}
}

func TestDecodeLimits(t *testing.T) {
	big := `{"dns_names": ["` + strings.Repeat("a", MaxSize) + `"]}`
	if _, err := Decode([]byte(big)); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Fatalf("oversized policy: %v", err)
	}
	var checks []string
	for i := 0; i <= MaxChecks; i++ {
		checks = append(checks, `{"name":"c`+strings.Repeat("x", i%5)+`","title":"t","dns":{"name":"a.b"}}`)
	}
	if _, err := Decode([]byte(`{"checks":[` + strings.Join(checks, ",") + `]}`)); err == nil || !strings.Contains(err.Error(), "at most 100") {
		t.Fatalf("too many checks: %v", err)
	}
}

// FuzzDecodePolicy: no input makes Decode panic; what it accepts validates,
// encodes, and decodes again to the same document.
func FuzzDecodePolicy(f *testing.F) {
	f.Add([]byte(fullPolicy))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"max_tier": 1, "disabled_fixes": ["flush-dns"]}`))
	f.Add([]byte(`{"checks": [{"name": "a", "title": "t", "file": {"path": "/x", "match": "a+"}}]}`))
	f.Add([]byte(`{"checks": [{"name": "a", "title": "t", "tcp": {"host": "h", "port": 1, "timeout": "1s"}}]}`))
	f.Add([]byte(`{"thresholds": {"cpu_warn_for": "5m", "cpu_fail_for": "10m"}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Decode(data)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) == 0 {
				t.Fatalf("error without problems: %v", err)
			}
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("accepted then invalid: %v", err)
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		d2, err := Decode(b)
		if err != nil {
			t.Fatalf("re-decode %s: %v", b, err)
		}
		b2, _ := json.Marshal(d2)
		if string(b) != string(b2) {
			t.Fatalf("round trip changed:\n%s\n%s", b, b2)
		}
	})
}
