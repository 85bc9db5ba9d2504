package health

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/tierline/tierline/agent/netstate/dnstest"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

// serveDNS answers A queries for hub.tierline.test with 127.0.0.1 on a
// loopback UDP port, and everything else with NXDOMAIN.
func serveDNS(t *testing.T) (port int) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go dnstest.Serve(pc, func(q dnsmessage.Question) (dnsmessage.RCode, *[4]byte) {
		if q.Name.String() != "hub.tierline.test." {
			return dnsmessage.RCodeNameError, nil
		}
		return dnsmessage.RCodeSuccess, &[4]byte{127, 0, 0, 1}
	})
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// closedUDPPort returns a loopback UDP port with nothing listening.
func closedUDPPort(t *testing.T) int {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	return port
}

func writeResolvConf(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func runCheck(t *testing.T, cfg Config, name string) diag.CheckResult {
	t.Helper()
	r, err := NewRunner(cfg, Env{})
	if err != nil {
		t.Fatal(err)
	}
	res := r.Run(context.Background(), name)
	if len(res) != 1 {
		t.Fatalf("no result for %s", name)
	}
	return res[0]
}

// TestDNSResolutionBreaks resolves the hub's name through a real DNS server
// on loopback, then points resolv.conf at a dead server and sees the check
// fail with the evidence and the flush-dns fix.
func TestDNSResolutionBreaks(t *testing.T) {
	rc := writeResolvConf(t, "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
	cfg := Config{HubAddr: "hub.tierline.test:8443", ResolvConf: rc, DNSPort: serveDNS(t), DialTimeout: 2 * time.Second}
	got := runCheck(t, cfg, "dns-resolution")
	if got.Status != diag.StatusOK {
		t.Fatalf("working DNS: %+v", got)
	}
	if !hasEvidence(got, "hub.tierline.test", "127.0.0.1") {
		t.Errorf("working DNS evidence: %+v", got.Evidence)
	}

	// The dead server is on this computer: restarting it is the fix (a
	// cache flush cannot revive it).
	cfg.DNSPort = closedUDPPort(t)
	got = runCheck(t, cfg, "dns-resolution")
	if got.Status != diag.StatusFailing || got.Fix != catalog.RestartResolver {
		t.Fatalf("dead DNS server: %+v", got)
	}
	if !hasEvidence(got, "name servers", "127.0.0.1") || !hasEvidence(got, "hub.tierline.test", "failed") {
		t.Errorf("dead DNS evidence: %+v", got.Evidence)
	}

	// No name server at all: nothing to flush, DHCP gives one.
	cfg.ResolvConf = writeResolvConf(t, "# emptied by a broken VPN client\n")
	got = runCheck(t, cfg, "dns-resolution")
	if got.Status != diag.StatusFailing || got.Fix != catalog.RenewDHCP {
		t.Errorf("no name server: %+v", got)
	}
}

// TestHubReachableBreaks connects to a real listener on loopback, closes
// it, and sees the check fail and blame the hub, not the network.
func TestHubReachableBreaks(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	cfg := Config{HubAddr: ln.Addr().String()}
	if got := runCheck(t, cfg, "hub-reachable"); got.Status != diag.StatusOK || !hasEvidence(got, ln.Addr().String(), "connected") {
		t.Fatalf("listening hub: %+v", got)
	}
	ln.Close()
	got := runCheck(t, cfg, "hub-reachable")
	// The hub's machine answered with a refusal: the help desk's server is
	// down, and no network fix is offered for it.
	if got.Status != diag.StatusFailing || got.Fix != "" || !hasEvidence(got, ln.Addr().String(), "refused") ||
		!strings.Contains(got.Summary, "help desk's server is not answering") {
		t.Errorf("closed hub: %+v", got)
	}
}

// TestDiskAlmostFullBreaks mounts a 1 MiB tmpfs, fills it to the last
// byte and sees disk-almost-full fail on it with clear-temp named. It needs
// the privilege to mount; it is skipped without it.
func TestDiskAlmostFullBreaks(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=1m,nr_inodes=256"); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v); run as root to exercise a really full disk", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	cfg := Config{DiskPaths: []string{dir}}
	if got := runCheck(t, cfg, "disk-almost-full"); got.Status != diag.StatusOK {
		t.Fatalf("empty tmpfs: %+v", got)
	}
	f, err := os.Create(filepath.Join(dir, "fill"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill: %v", err)
			}
			break
		}
	}
	f.Close()
	got := runCheck(t, cfg, "disk-almost-full")
	if got.Status != diag.StatusFailing || got.Fix != catalog.ClearTemp {
		t.Fatalf("full tmpfs: %+v", got)
	}
	if !hasEvidence(got, dir, "100.0% used") {
		t.Errorf("evidence: %+v", got.Evidence)
	}
}
