package health

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/tierline/tierline/shared/diag"
)

// TestProxyReal points the machine-wide settings at a real listener and a
// real closed port on loopback.
func TestProxyReal(t *testing.T) {
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
	closed := closedTCPAddr(t)
	root := t.TempDir()
	write := func(p, content string) {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("etc/apt/apt.conf.d/95proxy", "Acquire::http::Proxy \"http://"+ln.Addr().String()+"/\";\n")
	env := Env{Getenv: func(k string) string {
		if k == "https_proxy" {
			return "http://" + ln.Addr().String()
		}
		return ""
	}}
	c := defaults(t)
	c.Root = root
	if got := checkProxies(context.Background(), c, env); got.Status != diag.StatusOK ||
		!hasEvidence(got, "https_proxy in the agent's environment", "answers") || !hasEvidence(got, "Acquire::http::Proxy in /etc/apt/apt.conf.d/95proxy", "answers") {
		t.Fatalf("live proxy: %+v", got)
	}
	write("etc/environment", "LANG=C.UTF-8\nhttp_proxy=http://"+closed+"\n")
	got := checkProxies(context.Background(), c, env)
	if got.Status != diag.StatusFailing || !hasEvidence(got, "http_proxy in /etc/environment", "connection refused") {
		t.Fatalf("dead proxy: %+v", got)
	}
}

func closedTCPAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
