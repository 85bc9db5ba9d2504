package health

import (
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tierline/tierline/shared/diag"
)

func TestProxyParsers(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile("testdata/proxy/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		name string
		got  []proxySetting
		want []proxySetting
	}{
		{"winhttp-set", parseWinHTTPProxy(read("winhttp-set.txt")), []proxySetting{
			{"WinHTTP", "http", "proxy.corp.example:8080"}, {"WinHTTP", "https", "proxy.corp.example:8443"}}},
		{"winhttp-direct", parseWinHTTPProxy(read("winhttp-direct.txt")), nil},
		{"scutil", parseScutilProxy(read("scutil-proxy.txt")), []proxySetting{
			{"system proxy settings", "HTTPProxy", "10.20.0.5:3128"}, {"system proxy settings", "SOCKSProxy", "socks.corp.example:1080"}}},
		{"scutil-none", parseScutilProxy(read("scutil-none.txt")), nil},
		{"environment", parseEnvProxies("/etc/environment", []byte("PATH=/usr/bin\nhttp_proxy=\"http://bob:secret@10.0.0.9:3128/\"\n# https_proxy=x:1\nexport HTTPS_PROXY=socks5://10.0.0.10\nno_proxy=localhost\n")),
			[]proxySetting{{"/etc/environment", "http_proxy", "10.0.0.9:3128"}, {"/etc/environment", "HTTPS_PROXY", "10.0.0.10:1080"}}},
		{"apt", parseAptProxies("/etc/apt/apt.conf.d/95proxy", []byte("// cache\nAcquire::http::Proxy \"http://apt-cache:3142\";\nAcquire::https::Proxy \"DIRECT\";\nAcquire::Retries \"3\";\n")),
			[]proxySetting{{"/etc/apt/apt.conf.d/95proxy", "Acquire::http::Proxy", "apt-cache:3142"}}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestGradeProxies(t *testing.T) {
	if got := gradeProxies(nil, nil); got.Status != diag.StatusOK {
		t.Errorf("no proxy: %+v", got)
	}
	settings := []proxySetting{{"/etc/environment", "http_proxy", "proxy.old.example:3128"}, {"WinHTTP", "proxy", "10.0.0.9:8080"}}
	got := gradeProxies(settings, map[string]error{
		"proxy.old.example:3128": &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "proxy.old.example", IsNotFound: true}},
		"10.0.0.9:8080":          &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED},
	})
	if got.Status != diag.StatusFailing || !strings.Contains(got.Summary, "proxy.old.example:3128, 10.0.0.9:8080") ||
		!hasEvidence(got, "http_proxy in /etc/environment", "no such name") || !hasEvidence(got, "proxy in WinHTTP", "connection refused") {
		t.Errorf("dead proxies: %+v", got)
	}
	got = gradeProxies(settings[1:], map[string]error{"10.0.0.9:8080": &net.OpError{Op: "dial", Err: errors.New("i/o timeout")}})
	if got.Status != diag.StatusFailing || !hasEvidence(got, "proxy in WinHTTP", "does not answer") {
		t.Errorf("silent proxy: %+v", got)
	}
}
