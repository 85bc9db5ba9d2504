//go:build linux

package machine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/agent/netstate/dnstest"
	"github.com/tierline/tierline/scripts/testmachine/nspawn"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// The machine's DNS in these tests: systemd-resolved's stub (127.0.0.53)
// forwards to a DNS server of the test's at 10.77.0.1:53 in the test's
// namespace, with corp.example as the company's search domain.
const (
	companyZone = "corp.example"
	companyName = "intranet." + companyZone
	publicName  = "www.example.org"
	// resolvedConf points the machine's resolver at the test's server, as
	// an admin (or DHCP) would.
	resolvedConf = "[Resolve]\nDNS=" + nspawn.HubIP + "\nDomains=" + companyZone + "\nDNSSEC=no\nLLMNR=no\nMulticastDNS=no\n"
)

// DNS server modes.
const (
	dnsWorking     int32 = iota // every name resolves
	dnsServfail                 // the server answers SERVFAIL to everything
	dnsCompanyOnly              // company names resolve; internet names SERVFAIL
)

// dnsServer is a DNS server in the test's namespace on HubIP:53 (UDP and
// TCP: systemd-resolved falls back to TCP when UDP answers disappoint it).
type dnsServer struct {
	mode  atomic.Int32
	asked atomic.Int32
}

func (s *dnsServer) answer(q dnsmessage.Question) (dnsmessage.RCode, *[4]byte) {
	s.asked.Add(1)
	name := strings.TrimSuffix(q.Name.String(), ".")
	company := name == companyZone || strings.HasSuffix(name, "."+companyZone)
	switch mode := s.mode.Load(); {
	case mode == dnsServfail, mode == dnsCompanyOnly && !company:
		return dnsmessage.RCodeServerFailure, nil
	}
	switch {
	case name == "": // the root zone: a positive answer without records
		return dnsmessage.RCodeSuccess, nil
	case name == companyName:
		return dnsmessage.RCodeSuccess, &[4]byte{10, 77, 0, 10}
	case name == publicName:
		return dnsmessage.RCodeSuccess, &[4]byte{10, 77, 0, 11}
	}
	return dnsmessage.RCodeNameError, nil
}

// startDNS serves DNS on HubIP:53 inside the test's namespace until the
// test ends.
func startDNS(t *testing.T, n *nspawn.Network) *dnsServer {
	t.Helper()
	s := &dnsServer{}
	var pc net.PacketConn
	var ln net.Listener
	err := nspawn.InNetns("/var/run/netns/"+n.NS, func() error {
		var err error
		if pc, err = net.ListenPacket("udp4", nspawn.HubIP+":53"); err != nil {
			return err
		}
		ln, err = net.Listen("tcp4", nspawn.HubIP+":53")
		return err
	})
	if err != nil {
		t.Fatalf("DNS server in %s: %v", n.NS, err)
	}
	go dnstest.Serve(pc, s.answer)
	go dnstest.ServeTCP(ln, s.answer)
	t.Cleanup(func() { pc.Close(); ln.Close() })
	return s
}

// dnsPC boots a machine whose resolver forwards to the test's DNS server.
func dnsPC(t *testing.T, mode int32, env map[string]string) (*pc, *dnsServer) {
	t.Helper()
	var dns *dnsServer
	p := newPC(t, pcOptions{Env: env, Before: func(p *pc) {
		dns = startDNS(t, p.net)
		dns.mode.Store(mode)
		p.write("/etc/systemd/resolved.conf.d/tierline-test.conf", resolvedConf, 0o644)
		p.exec("systemctl", "restart", "systemd-resolved")
	}})
	t.Logf("the machine's resolv.conf:\n%s", p.exec("cat", "/etc/resolv.conf"))
	t.Cleanup(func() {
		if t.Failed() {
			c, _ := p.device().check("dns-resolution")
			t.Logf("dns-resolution at the hub at the end: %+v", c)
		}
	})
	return p, dns
}

// TestDNSLocalResolverStopped: systemd-resolved is stopped while the
// company's DNS server works. The technician sees dns-resolution failing
// and naming this computer's DNS service (the stub), not the server
// behind it, with restart-resolver (Tier 0) as its fix; running it from
// the hub brings the stub back, verified before and after.
func TestDNSLocalResolverStopped(t *testing.T) {
	p, dns := dnsPC(t, dnsWorking, agentEnv())
	p.waitCheck("dns-resolution", diag.StatusOK)
	if dns.asked.Load() == 0 {
		t.Fatal("dns-resolution ok, but the test's DNS server was never asked")
	}
	p.exec("systemctl", "stop", "systemd-resolved")
	c := p.waitCheck("dns-resolution", diag.StatusFailing)
	t.Logf("dns-resolution with the stub stopped: %+v", c)
	if c.Fix != catalog.RestartResolver ||
		!strings.Contains(c.Summary, "This computer's DNS service (systemd-resolved, 127.0.0.53) is not answering, although the DNS servers behind it do") {
		t.Fatalf("dns-resolution: fix %q summary %q; want restart-resolver and the stub named", c.Fix, c.Summary)
	}
	if !hasEvidence(c, "server 127.0.0.53", "does not answer") || !hasEvidence(c, "upstream "+nspawn.HubIP, "answered") {
		t.Fatalf("dns-resolution evidence %+v; want the stub not answering and %s answering", c.Evidence, nspawn.HubIP)
	}
	resolver, _ := catalog.Get(catalog.RestartResolver)
	if f := p.offered(catalog.RestartResolver); !f.Allowed || f.Tier != catalog.TierSelfHelp || resolver.Tier != catalog.TierSelfHelp {
		t.Fatalf("restart-resolver for the device: %+v; want allowed at tier 0", f)
	}
	r := p.run(catalog.RestartResolver, nil)
	if r.Outcome != wire.OutcomeFixed || status(r.Result.Before, "dns-resolution") != diag.StatusFailing ||
		status(r.Result.After, "dns-resolution") != diag.StatusOK {
		t.Fatalf("restart-resolver: %s %q; want fixed, dns-resolution failing before and ok after", r.Outcome, r.Reason)
	}
	if out, _ := p.try("systemctl", "is-active", "systemd-resolved"); strings.TrimSpace(out) != "active" {
		t.Fatalf("systemd-resolved after the fix: %q", out)
	}
	p.waitCheck("dns-resolution", diag.StatusOK)
}

// TestDNSUpstreamServfail: the stub runs, but the DNS server behind it
// answers SERVFAIL. dns-resolution fails saying the fault is behind this
// computer's DNS service, and offers no restart of it.
func TestDNSUpstreamServfail(t *testing.T) {
	p, dns := dnsPC(t, dnsServfail, agentEnv())
	// What applications get: SERVFAIL from the stub. The root zone, the
	// check's question when no names are set, the stub answers itself.
	out, _ := p.try("resolvectl", "query", "-t", "A", publicName)
	t.Logf("resolvectl query %s in the machine: %s", publicName, strings.TrimSpace(out))
	if !strings.Contains(out, "SERVFAIL") || dns.asked.Load() == 0 {
		t.Fatalf("resolvectl query %s: %q (the test's server asked %d times); want SERVFAIL from upstream", publicName, out, dns.asked.Load())
	}
	c := p.waitCheck("dns-resolution", diag.StatusFailing)
	t.Logf("dns-resolution with the upstream failing: %+v", c)
	if c.Fix == catalog.RestartResolver ||
		!strings.Contains(c.Summary, "This computer's DNS service (systemd-resolved, 127.0.0.53) is running, but gets no answers from the DNS servers behind it") {
		t.Fatalf("dns-resolution: fix %q summary %q; want the upstream blamed and no restart-resolver", c.Fix, c.Summary)
	}
	if !hasEvidence(c, "upstream "+nspawn.HubIP, "SERVFAIL") {
		t.Fatalf("dns-resolution evidence %+v; want %s answering SERVFAIL", c.Evidence, nspawn.HubIP)
	}
	if out, _ := p.try("systemctl", "is-active", "systemd-resolved"); strings.TrimSpace(out) != "active" {
		t.Fatalf("systemd-resolved: %q, want active (the fault is upstream)", out)
	}
}

// TestDNSCompanyNamesOnly: the admin lists a company name and an internet
// name for the agent to check (TIERLINE_DNS_NAMES in the service's
// drop-in); the company's DNS server resolves its own names but cannot
// reach the internet's DNS. dns-resolution says exactly that.
func TestDNSCompanyNamesOnly(t *testing.T) {
	p, _ := dnsPC(t, dnsCompanyOnly, agentEnv("TIERLINE_DNS_NAMES", companyName+","+publicName))
	c := p.waitCheck("dns-resolution", diag.StatusFailing)
	t.Logf("dns-resolution with internet names failing: %+v", c)
	want := "Company names resolve but internet names do not (" + publicName + "): the company's DNS server cannot reach the internet's DNS."
	if c.Summary != want || c.Fix != "" {
		t.Fatalf("dns-resolution: fix %q summary %q; want %q without a fix", c.Fix, c.Summary, want)
	}
	if !hasEvidence(c, companyName, "10.77.0.10") || !hasEvidence(c, publicName, "SERVFAIL") {
		t.Fatalf("dns-resolution evidence %+v; want %s resolved and %s failing with SERVFAIL", c.Evidence, companyName, publicName)
	}
}

// TestDeadProxy: /etc/environment sets a proxy on a port where nothing
// listens (a proxy setting left behind). proxy-unreachable fails and
// says where the setting is.
func TestDeadProxy(t *testing.T) {
	p := newPC(t, pcOptions{Env: agentEnv()})
	const proxy = nspawn.HubIP + ":3128"
	p.write("/etc/environment", "http_proxy=http://"+proxy+"/\nhttps_proxy=http://"+proxy+"/\n", 0o644)
	c := p.waitCheck("proxy-unreachable", diag.StatusFailing)
	t.Logf("proxy-unreachable: %+v", c)
	if !strings.Contains(c.Summary, "The proxy "+proxy+" this computer is set to use does not answer") {
		t.Fatalf("proxy-unreachable summary %q", c.Summary)
	}
	for _, v := range []string{"http_proxy", "https_proxy"} {
		if !hasEvidence(c, v+" in /etc/environment", proxy+": nothing listens there (connection refused)") {
			t.Fatalf("proxy-unreachable evidence %+v; want %s in /etc/environment refused", c.Evidence, v)
		}
	}
	// The setting removed, the check recovers.
	p.write("/etc/environment", "", 0o644)
	p.waitCheck("proxy-unreachable", diag.StatusOK)
}

// TestLinkSwitchedOffFixedByUser: the machine's own network adapter is
// switched off (ip link set down), which cuts it from the hub. The user
// opens Get help (tierline-agent gethelp, as an ordinary user of the
// machine): the page shows network-interface failing with
// enable-interface offered; the user runs it there; the adapter is back
// on, verified; the hub sees the device online again with
// network-interface ok, and the Get help session with the fix run.
func TestLinkSwitchedOffFixedByUser(t *testing.T) {
	p := newPC(t, pcOptions{Env: agentEnv()})
	p.exec("useradd", "--create-home", "alice")
	ifname := p.net.MachineIf
	fix, _ := catalog.Get(catalog.EnableInterface)
	if f := p.offered(catalog.EnableInterface); !f.Allowed || f.Tier != catalog.TierSelfHelp || fix.Tier != catalog.TierSelfHelp {
		t.Fatalf("enable-interface for the device: %+v; want allowed at tier 0", f)
	}

	p.exec("ip", "link", "set", ifname, "down")
	cut := time.Now()
	eventually(t, "the hub to see the device offline", 3*time.Minute, func() bool { return !p.device().Online })
	t.Logf("the hub saw the device offline %s after its adapter was switched off", time.Since(cut).Round(time.Second))

	// The diagnosis the agent makes on its own, without the hub.
	var dg struct {
		Checks []diag.CheckResult `json:"checks"`
	}
	// Its exit status is 1: a check is failing.
	out, err := p.try("tierline-agent", "diagnose", "--json")
	if i := strings.Index(out, "{"); i < 0 || json.Unmarshal([]byte(out[i:]), &dg) != nil {
		t.Fatalf("tierline-agent diagnose --json: %v\n%s", err, out)
	}
	if c, _ := (device{Health: dg.Checks}).check("network-interface"); c.Status != diag.StatusFailing || c.Fix != catalog.EnableInterface ||
		!strings.Contains(c.Summary, "The network adapter "+ifname+" is switched off") || !hasEvidence(c, ifname, "switched off") {
		t.Fatalf("tierline-agent diagnose: network-interface %+v; want failing, %s switched off, enable-interface", c, ifname)
	}

	// The user's Get help page, served in the machine by the user's own
	// process, over the machine's loopback.
	page := openGetHelp(t, p, "alice")
	var dgn localipc.Diagnosis
	page.call("GET", "/api/status", nil, nil)
	page.call("GET", "/api/diagnose", nil, &dgn)
	var ni *localipc.Check
	for i, c := range dgn.Checks {
		if c.Name == "network-interface" {
			ni = &dgn.Checks[i]
		}
	}
	if ni == nil || ni.Status != string(diag.StatusFailing) || len(ni.Fixes) == 0 || ni.Fixes[0] != catalog.EnableInterface {
		t.Fatalf("the Get help page's diagnosis: network-interface %+v; want failing with enable-interface first", ni)
	}
	t.Logf("Get help shows: %s (fixes %v)", ni.Summary, ni.Fixes)
	// A name that is not one of the machine's adapters is refused in plain words.
	var res wire.RunResult
	page.call("POST", "/api/run", localipc.RunCall{Fix: catalog.EnableInterface, Params: map[string]string{"interface": "eth9"}}, &res)
	if res.Outcome != wire.OutcomeNotApplicable || !strings.Contains(res.Reason, "this computer has no network adapter named eth9") {
		t.Fatalf("enable-interface eth9: %s %q", res.Outcome, res.Reason)
	}
	page.call("POST", "/api/run", localipc.RunCall{Fix: catalog.EnableInterface}, &res)
	b, _ := json.MarshalIndent(res, "", "  ")
	t.Logf("enable-interface from the Get help page:\n%s", b)
	if res.Outcome != wire.OutcomeFixed || status(res.Before, "network-interface") != diag.StatusFailing ||
		status(res.After, "network-interface") != diag.StatusOK || len(res.Steps) != 1 ||
		strings.Join(res.Steps[0].Argv, " ") != "ip link set dev "+ifname+" up" {
		t.Fatalf("enable-interface: %s %q; want fixed by ip link set dev %s up, network-interface failing before and ok after", res.Outcome, res.Reason, ifname)
	}
	page.call("POST", "/api/leave", struct{}{}, nil)

	fixed := time.Now()
	eventually(t, "the device online at the hub again", 120*time.Second, func() bool { return p.device().Online })
	t.Logf("the device was online at the hub again %s after the fix", time.Since(fixed).Round(time.Second))
	p.waitCheck("network-interface", diag.StatusOK)
	var m struct {
		SelfHelp struct {
			Sessions  int `json:"sessions"`
			Tickets   int `json:"tickets"`
			Deflected int `json:"deflected"`
		} `json:"self_help"`
	}
	eventually(t, "the Get help session at the hub", 60*time.Second, func() bool {
		p.hub.get("/api/v1/metrics/support", &m)
		return m.SelfHelp.Sessions > 0
	})
	t.Logf("the hub's self-help figures: %+v", m.SelfHelp)
	if m.SelfHelp.Sessions != 1 || m.SelfHelp.Tickets != 0 {
		t.Fatalf("self-help figures %+v; want one session without a ticket", m.SelfHelp)
	}
}

// getHelpPage is a Get help page served in the machine, and a session
// on it.
type getHelpPage struct {
	t      *testing.T
	base   string
	csrf   string
	client *http.Client
}

// openGetHelp starts `tierline-agent gethelp --no-browser` in the machine
// as user, opens the link it prints and starts a session.
func openGetHelp(t *testing.T, p *pc, user string) *getHelpPage {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := p.m.Command(ctx, "runuser", "-u", user, "--", "tierline-agent", "gethelp", "--no-browser")
	var out syncOut
	cmd.Stdout, cmd.Stderr = &out, &out
	// Cancelling ends nsenter; the page's process in the machine keeps
	// the output open until the machine stops, after this test's cleanup.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	re := regexp.MustCompile(`http://127\.0\.0\.1:\d+/open\?token=[A-Za-z0-9_-]+`)
	var link string
	eventually(t, "tierline-agent gethelp to print its link", 30*time.Second, func() bool {
		link = re.FindString(out.String())
		return link != ""
	})
	netns := fmt.Sprintf("/proc/%d/ns/net", p.m.Leader)
	jar, _ := cookiejar.New(nil)
	pg := &getHelpPage{t: t, base: link[:strings.Index(link, "/open")], client: &http.Client{Jar: jar, Timeout: 3 * time.Minute,
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var c net.Conn
			err := nspawn.InNetns(netns, func() error {
				var d net.Dialer
				var err error
				c, err = d.DialContext(ctx, network, addr)
				return err
			})
			return c, err
		}}}}
	resp, err := pg.client.Get(link)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("open the Get help link: %v %v\n%s", resp, err, out.String())
	}
	resp.Body.Close()
	var s struct {
		CSRF string `json:"csrf"`
	}
	pg.call("GET", "/api/session", nil, &s)
	pg.csrf = s.CSRF
	return pg
}

// call is one request of the page's own script.
func (pg *getHelpPage) call(method, path string, in, out any) {
	pg.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, pg.base+path, body)
	if method != "GET" {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", pg.base)
		req.Header.Set("X-Tierline-CSRF", pg.csrf)
	}
	resp, err := pg.client.Do(req)
	if err != nil {
		pg.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		pg.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			pg.t.Fatalf("%s %s: %v\n%s", method, path, err, raw)
		}
	}
}

// syncOut collects a process's output for polling.
type syncOut struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncOut) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(b)
}

func (s *syncOut) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// TestTimeSyncInContainer: the machine is a container, whose clock is
// its host's; systemd-nspawn refuses adjtimex (even to read) and
// systemd-timesyncd skips itself. time-sync says the clock is the host's
// in plain words and offers no fix (sync-clock does not apply:
// TestSyncClockInContainer); clock-skew judges the offset to the hub.
func TestTimeSyncInContainer(t *testing.T) {
	p := newPC(t, pcOptions{Env: agentEnv()})
	var ts, cs diag.CheckResult
	// The first checks may run before the hub's first answer gives its
	// time; wait for clock-skew to have judged an offset (the checks run
	// every 2 s here).
	eventually(t, "time-sync and clock-skew at the hub", 90*time.Second, func() bool {
		var ok1, ok2 bool
		d := p.device()
		ts, ok1 = d.check("time-sync")
		cs, ok2 = d.check("clock-skew")
		return ok1 && ok2 && cs.Status != diag.StatusUnknown
	})
	t.Logf("time-sync: %+v", ts)
	t.Logf("clock-skew: %+v", cs)
	if ts.Status != diag.StatusUnknown || ts.Fix != "" ||
		ts.Summary != "This computer is a container (systemd-nspawn): its clock is its host's, and only the host can say whether it is kept in sync." ||
		!hasEvidence(ts, "adjtimex", "operation not permitted") {
		t.Fatalf("time-sync in the container: %+v", ts)
	}
	if cs.Status != diag.StatusOK || !hasEvidence(cs, "offset", "the hub") {
		t.Fatalf("clock-skew in the container (same clock as the hub's): %+v", cs)
	}
}
