package health

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/tierline/tierline/agent/netstate/dnstest"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

// zone is how a test DNS server answers: a name's addresses, or an RCode
// for names it does not hold. servfail makes it answer SERVFAIL to all.
type zone struct {
	addrs    map[string][4]byte // fully qualified name → IPv4 address
	servfail bool
	// failPublic: SERVFAIL for names outside corp.test, as a company DNS
	// server does when it cannot reach the internet.
	failPublic bool
}

// serveZone runs a DNS server for z on addr (127.0.0.x:port) until the
// test ends.
func serveZone(t *testing.T, addr string, z zone) {
	t.Helper()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go dnstest.Serve(pc, func(q dnsmessage.Question) (dnsmessage.RCode, *[4]byte) {
		name := q.Name.String()
		a, known := z.addrs[name]
		switch {
		case z.servfail, z.failPublic && name != "." && !strings.HasSuffix(name, ".corp.test."):
			return dnsmessage.RCodeServerFailure, nil
		case name == ".":
			return dnsmessage.RCodeSuccess, nil
		case !known:
			return dnsmessage.RCodeNameError, nil
		}
		return dnsmessage.RCodeSuccess, &a
	})
}

// freeUDPPort is a port free on every 127.0.0.x address the tests use.
func freeUDPPort(t *testing.T, hosts ...string) int {
	t.Helper()
	for range 20 {
		port := closedUDPPort(t)
		free := true
		for _, h := range hosts {
			pc, err := net.ListenPacket("udp", net.JoinHostPort(h, strconv.Itoa(port)))
			if err != nil {
				free = false
				break
			}
			pc.Close()
		}
		if free {
			return port
		}
	}
	t.Fatal("no UDP port free on every test address")
	return 0
}

// dnsRoot is a fixture tree with resolv.conf, systemd-resolved's upstream
// file and /etc/hosts.
func dnsRoot(t *testing.T, resolv, upstreams, hosts string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range map[string]string{"etc/resolv.conf": resolv, "run/systemd/resolve/resolv.conf": upstreams, "etc/hosts": hosts} {
		if content == "" {
			continue
		}
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

var corpZone = zone{addrs: map[string][4]byte{
	"hub.corp.test.":      {127, 0, 0, 1},
	"intranet.corp.test.": {127, 0, 0, 2},
	"www.example.org.":    {127, 0, 0, 3},
}}

// TestDNSResolversReal runs dns-resolution against real DNS servers on
// loopback addresses, one fault at a time.
func TestDNSResolversReal(t *testing.T) {
	const stub, up1, up2 = "127.0.0.53", "127.0.0.54", "127.0.0.55"
	port := freeUDPPort(t, stub, up1, up2, "127.0.0.56", closedHost)
	addr := func(h string) string { return net.JoinHostPort(h, strconv.Itoa(port)) }
	serveZone(t, addr(up1), corpZone)
	serveZone(t, addr(up2), zone{servfail: true})
	hub := "hub.corp.test:8443"
	names := []string{"intranet.corp.test", "www.example.org"}
	run := func(root string, hubAddr string, dnsNames []string) diag.CheckResult {
		return runCheck(t, Config{Root: root, HubAddr: hubAddr, DNSNames: dnsNames, DNSPort: port, DialTimeout: time.Second}, "dns-resolution")
	}

	t.Run("no hub: the resolvers are still asked", func(t *testing.T) {
		got := run(dnsRoot(t, "nameserver "+up1+"\n", "", ""), "", nil)
		if got.Status != diag.StatusOK || !hasEvidence(got, "server "+up1, "root zone: answered") {
			t.Errorf("%+v", got)
		}
		got = run(dnsRoot(t, "nameserver "+up2+"\n", "", ""), "", nil)
		if got.Status != diag.StatusFailing || !hasEvidence(got, "server "+up2, "SERVFAIL") {
			t.Errorf("servfail without a hub: %+v", got)
		}
	})

	t.Run("working", func(t *testing.T) {
		got := run(dnsRoot(t, "nameserver "+up1+"\n", "", ""), hub, names)
		if got.Status != diag.StatusOK || !hasEvidence(got, "hub.corp.test", "127.0.0.1") || !hasEvidence(got, "www.example.org", "127.0.0.3") {
			t.Errorf("%+v", got)
		}
	})

	t.Run("dead stub, hub in /etc/hosts", func(t *testing.T) {
		// Nothing listens on the stub address: systemd-resolved is down.
		root := dnsRoot(t, "nameserver "+stub+"\noptions edns0\n", "nameserver "+up1+"\n", "127.0.0.1 localhost\n10.9.8.7 hub.corp.test hub\n")
		got := run(root, hub, names)
		if got.Status != diag.StatusFailing || got.Fix != catalog.RestartResolver ||
			!strings.Contains(got.Summary, "systemd-resolved") || !strings.Contains(got.Summary, "not answering") {
			t.Fatalf("%+v", got)
		}
		if !hasEvidence(got, "server "+stub, "does not answer") || !hasEvidence(got, "upstream "+up1, "127.0.0.1") ||
			!hasEvidence(got, "/etc/hosts", "10.9.8.7") || !hasEvidence(got, "hub.corp.test", "failed") {
			t.Errorf("evidence: %+v", got.Evidence)
		}
	})

	t.Run("stub up, upstream failing", func(t *testing.T) {
		serveZone(t, addr(stub), zone{servfail: true})
		root := dnsRoot(t, "nameserver "+stub+"\n", "nameserver "+closedHost+"\n", "")
		got := run(root, hub, names)
		if got.Status != diag.StatusFailing || got.Fix != catalog.RenewDHCP || !strings.Contains(got.Summary, "forwards to do not answer") {
			t.Errorf("%+v", got)
		}
	})

	t.Run("no names: stub answers the root zone itself, upstream SERVFAIL", func(t *testing.T) {
		// The stub answers the root zone (and fails other names), as
		// systemd-resolved does while the server behind it fails.
		serveZone(t, addr(stub), zone{failPublic: true})
		root := dnsRoot(t, "nameserver "+stub+"\n", "nameserver "+up2+"\n", "")
		got := run(root, "", nil)
		if got.Status != diag.StatusFailing || got.Fix != "" || !strings.Contains(got.Summary, "is running, but gets no answers from the DNS servers behind it") ||
			!hasEvidence(got, "server "+stub, "root zone: answered") || !hasEvidence(got, "upstream "+up2, "SERVFAIL") {
			t.Errorf("%+v", got)
		}
		got = run(dnsRoot(t, "nameserver "+stub+"\n", "nameserver "+up1+"\n", ""), "", nil)
		if got.Status != diag.StatusOK || !hasEvidence(got, "upstream "+up1, "root zone: answered") {
			t.Errorf("upstream working: %+v", got)
		}
	})

	t.Run("company names resolve, public names fail", func(t *testing.T) {
		const corp = "127.0.0.56"
		serveZone(t, net.JoinHostPort(corp, strconv.Itoa(port)), zone{addrs: corpZone.addrs, failPublic: true})
		got := run(dnsRoot(t, "search corp.test\nnameserver "+corp+"\n", "", ""), hub, names)
		if got.Status != diag.StatusFailing || got.Fix != "" || !strings.Contains(got.Summary, "Company names resolve but internet names do not (www.example.org)") {
			t.Errorf("%+v", got)
		}
		if !hasEvidence(got, "intranet.corp.test", "127.0.0.2") || !hasEvidence(got, "www.example.org", "SERVFAIL") {
			t.Errorf("evidence: %+v", got.Evidence)
		}
	})

	t.Run("one of two servers dead", func(t *testing.T) {
		got := run(dnsRoot(t, "nameserver "+closedHost+"\nnameserver "+up1+"\n", "", ""), hub, nil)
		if got.Status != diag.StatusWarning || !strings.Contains(got.Summary, closedHost) || !hasEvidence(got, "server "+closedHost, "does not answer") {
			t.Errorf("%+v", got)
		}
	})
}

// closedHost is a loopback address with no DNS server on the tests' port.
const closedHost = "127.0.0.57"
