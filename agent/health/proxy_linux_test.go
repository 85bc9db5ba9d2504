package health

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/testnet"
)

// TestProxyReal points the machine-wide settings at a real listener and a
// real closed port on loopback; the check, remembering the files it read,
// sees a file added, one changed in place and one removed.
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
	closed := testnet.ClosedAddr(t)
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
	pf := &proxyFiles{}
	if got := checkProxies(context.Background(), c, env, pf); got.Status != diag.StatusOK ||
		!hasEvidence(got, "https_proxy in the agent's environment", "answers") || !hasEvidence(got, "Acquire::http::Proxy in /etc/apt/apt.conf.d/95proxy", "answers") {
		t.Fatalf("live proxy: %+v", got)
	}
	write("etc/environment", "LANG=C.UTF-8\nhttp_proxy=http://"+closed+"\n")
	got := checkProxies(context.Background(), c, env, pf)
	if got.Status != diag.StatusFailing || !hasEvidence(got, "http_proxy in /etc/environment", "connection refused") {
		t.Fatalf("dead proxy: %+v", got)
	}

	// /etc/environment changed in place to the live proxy, apt's file
	// removed.
	fixed := "LANG=C.UTF-8\nhttps_proxy=http://" + ln.Addr().String() + "\n"
	write("etc/environment", fixed)
	if err := os.Remove(filepath.Join(root, "etc/apt/apt.conf.d/95proxy")); err != nil {
		t.Fatal(err)
	}
	got = checkProxies(context.Background(), c, env, pf)
	if got.Status != diag.StatusOK || !hasEvidence(got, "https_proxy in /etc/environment", "answers") ||
		hasEvidence(got, "http_proxy in /etc/environment", "") || hasEvidence(got, "Acquire::http::Proxy in /etc/apt/apt.conf.d/95proxy", "") {
		t.Fatalf("after /etc/environment changed and apt's file went: %+v", got)
	}
}
