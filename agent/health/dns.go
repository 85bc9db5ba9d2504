package health

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/tierline/tierline/agent/netstate"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

// dns-resolution asks every DNS server the machine is configured with
// directly (resolv.conf; on a systemd-resolved machine whose 127.0.0.53
// stub fails, the servers behind it too), so a dead resolver is seen even when
// the hub's name is in /etc/hosts and even with no hub at all. It asks for
// the hub's name and the names the admin lists; with none, it asks for the
// root zone's name servers, which any working resolver answers. Packets go
// to the configured resolvers and nowhere else.

// Bounds on what one run asks.
const (
	maxDNSServers = 6
	maxDNSNames   = 8
	// dnsQueryTimeout caps one question: a resolver that takes longer is
	// as good as dead to the applications waiting on it.
	dnsQueryTimeout = 2 * time.Second
)

// resolvedStub is systemd-resolved's local stub address;
// resolvedUpstreams is where it writes the servers it forwards to.
const (
	resolvedStub      = "127.0.0.53"
	resolvedUpstreams = "/run/systemd/resolve/resolv.conf"
)

// dnsQuestion is one thing asked of every server.
type dnsQuestion struct {
	Name    string
	Type    dnsmessage.Type
	Company bool // the hub's name, or a name in its domain or a search domain
	Hub     bool
}

func (q dnsQuestion) label() string {
	if q.Name == "." {
		return "root zone"
	}
	return q.Name
}

// dnsServer is one resolver and its replies, one per question.
type dnsServer struct {
	Addr    string
	Replies []dnsReply
}

// local reports whether the server is a resolver on this machine
// (systemd-resolved's stub, dnsmasq, unbound on loopback).
func (s dnsServer) local() bool {
	a, err := netip.ParseAddr(strings.SplitN(s.Addr, "%", 2)[0])
	return err == nil && a.IsLoopback()
}

func (s dnsServer) name() string {
	switch {
	case s.Addr == resolvedStub:
		return "this computer's DNS service (systemd-resolved, " + s.Addr + ")"
	case s.local():
		return "this computer's DNS service (" + s.Addr + ")"
	}
	return "the DNS server " + s.Addr
}

// dnsServerState is what a server's replies add up to.
type dnsServerState int

const (
	serverOK      dnsServerState = iota // answered every question (with addresses or "no such name")
	serverPartial                       // answered some, failed others
	serverBroken                        // answers, but only SERVFAIL or REFUSED
	serverDead                          // answered nothing
)

func (s dnsServer) state() dnsServerState {
	answered, good := 0, 0
	for _, r := range s.Replies {
		if !r.answered() {
			continue
		}
		answered++
		if r.RCode == dnsmessage.RCodeSuccess || r.RCode == dnsmessage.RCodeNameError {
			good++
		}
	}
	switch {
	case answered == 0:
		return serverDead
	case good == 0:
		return serverBroken
	case good < len(s.Replies):
		return serverPartial
	}
	return serverOK
}

func (s dnsServer) describe(qs []dnsQuestion) string {
	switch s.state() {
	case serverDead:
		return "does not answer: " + s.Replies[0].Err.Error()
	case serverBroken:
		return "answers, but cannot look names up: " + s.Replies[0].describe()
	}
	var parts []string
	for i, r := range s.Replies {
		parts = append(parts, qs[i].label()+": "+r.describe())
	}
	return strings.Join(parts, "; ")
}

// dnsView is everything dns-resolution learned, for gradeDNS.
type dnsView struct {
	Source    string // the resolv.conf read
	Questions []dnsQuestion
	Servers   []dnsServer // from Source, in order
	Upstreams []dnsServer // behind systemd-resolved's stub
	// InHosts maps asked names to the address /etc/hosts gives them.
	InHosts map[string]string
}

func checkDNS(ctx context.Context, c *Config) diag.CheckResult {
	names := dnsNames(c)
	rcPath := c.path("/etc/resolv.conf")
	if c.ResolvConf != "" {
		rcPath = c.ResolvConf
	}
	b, err := readBounded(rcPath, 64<<10)
	if err != nil {
		if c.ResolvConf != "" {
			return unknown("Could not read the resolver configuration.", ev("error", "%v", err))
		}
		// No resolv.conf (Windows): ask the system resolver, as applications do.
		return checkDNSSystem(ctx, c, names)
	}
	rc := netstate.ParseResolvConf(b)
	if len(rc.Nameservers) == 0 {
		return result(diag.StatusFailing, catalog.RenewDHCP, "No DNS server is configured.",
			ev("name servers", "none in %s", rcPath))
	}
	v := dnsView{Source: rcPath, Questions: dnsQuestions(names, c.HubAddr, rc.Search)}
	for _, s := range limit(rc.Nameservers, maxDNSServers) {
		v.Servers = append(v.Servers, dnsServer{Addr: s})
	}
	for _, s := range v.Servers {
		if s.Addr != resolvedStub {
			continue
		}
		if ub, err := readBounded(c.path(resolvedUpstreams), 64<<10); err == nil {
			for _, u := range limit(netstate.ParseResolvConf(ub).Nameservers, maxDNSServers) {
				if u != resolvedStub {
					v.Upstreams = append(v.Upstreams, dnsServer{Addr: u})
				}
			}
		}
	}
	if hb, err := readBounded(c.path("/etc/hosts"), 256<<10); err == nil {
		v.InHosts = hostsEntries(hb, names)
	}
	timeout := min(c.DialTimeout, dnsQueryTimeout)
	var wg sync.WaitGroup
	ask := func(list []dnsServer) {
		for i := range list {
			list[i].Replies = make([]dnsReply, len(v.Questions))
			for j, q := range v.Questions {
				wg.Add(1)
				go func() {
					defer wg.Done()
					list[i].Replies[j] = askAddress(ctx, net.JoinHostPort(list[i].Addr, strconv.Itoa(c.DNSPort)), q, timeout)
				}()
			}
		}
	}
	ask(v.Servers)
	wg.Wait()
	// The servers behind the stub are asked when the stub fails, to tell a
	// dead stub from a dead upstream, and when the only question is the
	// root zone: systemd-resolved answers that one itself while every
	// server it forwards to fails (Debian 12's systemd 252, seen in
	// hub/e2e/machine's TestDNSUpstreamServfail).
	if len(v.Upstreams) > 0 && (!anyServerWorks(v.Servers) || rootProbe(v.Questions)) {
		ask(v.Upstreams)
		wg.Wait()
	} else {
		v.Upstreams = nil
	}
	return gradeDNS(v)
}

// rootProbe reports whether the only question is the root zone's (no
// names to ask).
func rootProbe(qs []dnsQuestion) bool { return len(qs) == 1 && qs[0].Name == "." }

func anyServerWorks(ss []dnsServer) bool {
	for _, s := range ss {
		if st := s.state(); st == serverOK || st == serverPartial {
			return true
		}
	}
	return false
}

// askAddress asks for q; a name with no IPv4 address is asked again for
// IPv6 before it counts as having none.
func askAddress(ctx context.Context, server string, q dnsQuestion, timeout time.Duration) dnsReply {
	r := queryDNS(ctx, server, q.Name, q.Type, timeout)
	if q.Type == dnsmessage.TypeA && r.resolved() && len(r.Addrs) == 0 {
		r6 := queryDNS(ctx, server, q.Name, dnsmessage.TypeAAAA, timeout)
		r6.Took += r.Took
		if r6.answered() {
			return r6
		}
	}
	return r
}

// dnsNames are the hub's name (unless it is addressed by IP) and the
// admin's names.
func dnsNames(c *Config) []string {
	var names []string
	if h := hubHost(c); h != "" {
		if _, err := netip.ParseAddr(h); err != nil {
			names = append(names, h)
		}
	}
	for _, n := range c.DNSNames {
		if n = strings.TrimSpace(n); n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return limit(names, maxDNSNames)
}

func hubHost(c *Config) string {
	if c.HubAddr == "" {
		return ""
	}
	h, _, _ := net.SplitHostPort(c.HubAddr)
	return h
}

// dnsQuestions makes the questions for names. A name is the company's when
// it is the hub's, lies in the hub's domain or a search domain, or has no
// dot; the others are public. With no names the root zone is asked.
func dnsQuestions(names []string, hubAddr string, search []string) []dnsQuestion {
	if len(names) == 0 {
		return []dnsQuestion{{Name: ".", Type: dnsmessage.TypeNS}}
	}
	var domains []string
	hub := ""
	if hubAddr != "" {
		hub, _, _ = net.SplitHostPort(hubAddr)
		if _, parent, ok := strings.Cut(hub, "."); ok && strings.Contains(parent, ".") {
			domains = append(domains, parent)
		}
	}
	domains = append(domains, search...)
	var qs []dnsQuestion
	for _, n := range names {
		q := dnsQuestion{Name: n, Type: dnsmessage.TypeA, Hub: n == hub}
		q.Company = q.Hub || !strings.Contains(strings.TrimSuffix(n, "."), ".")
		for _, d := range domains {
			d = strings.TrimSuffix(d, ".")
			q.Company = q.Company || strings.HasSuffix(strings.TrimSuffix(n, "."), "."+d)
		}
		qs = append(qs, q)
	}
	return qs
}

// gradeDNS is the pure part of dns-resolution.
func gradeDNS(v dnsView) diag.CheckResult {
	var servers []string
	for _, s := range v.Servers {
		servers = append(servers, s.Addr)
	}
	evidence := []diag.Evidence{ev("name servers", "%s (%s)", strings.Join(servers, ", "), v.Source)}
	for _, s := range v.Servers {
		evidence = append(evidence, ev("server "+s.Addr, "%s", s.describe(v.Questions)))
	}
	for _, s := range v.Upstreams {
		evidence = append(evidence, ev("upstream "+s.Addr, "%s", s.describe(v.Questions)))
	}
	// What each name came to, over all configured servers.
	var resolved, company, public, missing, companyMissing, failedNames []string
	hubFailed := false
	for j, q := range v.Questions {
		var got *dnsReply
		nx := false
		var why []string
		for _, s := range v.Servers {
			r := s.Replies[j]
			root := q.Name == "." && r.answered() && r.RCode == dnsmessage.RCodeNameError
			switch {
			case (r.resolved() || root) && got == nil:
				got = &r
			case r.answered() && r.RCode == dnsmessage.RCodeNameError:
				nx = true
			case !r.resolved():
				why = append(why, s.Addr+": "+r.describe())
			}
		}
		switch {
		case got != nil:
			resolved = append(resolved, q.Name)
			evidence = append(evidence, ev(q.label(), "%s", got.describe()))
		case nx:
			missing = append(missing, q.Name)
			if q.Company {
				companyMissing = append(companyMissing, q.Name)
			}
			evidence = append(evidence, ev(q.label(), "failed: no such name"))
		default:
			failedNames = append(failedNames, q.Name)
			if q.Company {
				company = append(company, q.Name)
			} else {
				public = append(public, q.Name)
			}
			evidence = append(evidence, ev(q.label(), "failed: %s", strings.Join(why, "; ")))
		}
		if got == nil && q.Hub {
			hubFailed = true
		}
		if a, ok := v.InHosts[q.Name]; ok {
			evidence = append(evidence, ev("/etc/hosts", "%s is listed as %s there; the DNS servers were asked all the same", q.Name, a))
		}
	}

	states := map[dnsServerState][]dnsServer{}
	for _, s := range v.Servers {
		states[s.state()] = append(states[s.state()], s)
	}
	allLocal := true
	for _, s := range v.Servers {
		allLocal = allLocal && s.local()
	}
	upAnswer, upDead := false, len(v.Upstreams) > 0
	for _, u := range v.Upstreams {
		upAnswer = upAnswer || u.state() == serverOK || u.state() == serverPartial
		upDead = upDead && u.state() == serverDead
	}
	fail := func(fix, summary string) diag.CheckResult {
		return result(diag.StatusFailing, fix, summary, evidence...)
	}
	warn := func(fix, summary string) diag.CheckResult {
		return result(diag.StatusWarning, fix, summary, evidence...)
	}

	switch {
	case len(states[serverDead]) == len(v.Servers):
		switch {
		case allLocal && upAnswer:
			return fail(catalog.RestartResolver, fmt.Sprintf("%s is not answering, although the DNS servers behind it do: names cannot be looked up.",
				upper(v.Servers[0].name())))
		case allLocal:
			return fail(catalog.RestartResolver, fmt.Sprintf("%s is not answering: names cannot be looked up.", upper(v.Servers[0].name())))
		}
		return fail(catalog.RenewDHCP, "No DNS server answers: names cannot be looked up.")
	case len(resolved) == 0 && len(missing) == 0 && len(states[serverBroken])+len(states[serverDead]) == len(v.Servers):
		// The servers answer, but only with failures: the fault is behind them.
		switch {
		case allLocal && upDead:
			return fail(catalog.RenewDHCP, fmt.Sprintf("%s is running, but the DNS servers it forwards to do not answer: names cannot be looked up.",
				upper(v.Servers[0].name())))
		case allLocal:
			return fail("", fmt.Sprintf("%s is running, but gets no answers from the DNS servers behind it: names cannot be looked up.",
				upper(v.Servers[0].name())))
		}
		return fail("", "The DNS server answers but cannot look names up: the fault is at the DNS server or beyond it, not on this computer.")
	case allLocal && len(v.Upstreams) > 0 && rootProbe(v.Questions) && !upAnswer:
		// The stub answered the root zone itself; the servers behind it
		// fail, so every real name fails.
		if upDead {
			return fail(catalog.RenewDHCP, fmt.Sprintf("%s is running, but the DNS servers it forwards to do not answer: names cannot be looked up.",
				upper(v.Servers[0].name())))
		}
		return fail("", fmt.Sprintf("%s is running, but gets no answers from the DNS servers behind it: names cannot be looked up.",
			upper(v.Servers[0].name())))
	case len(company)+len(companyMissing) > 0 && len(public) == 0 && len(resolved) > 0 && !anyCompany(v.Questions, resolved):
		return fail(catalog.RenewDHCP, "Public names resolve but company names do not ("+strings.Join(append(company, companyMissing...), ", ")+
			"): this computer is not using the company's DNS server (is the VPN connected?).")
	case len(public) > 0 && len(company) == 0 && anyCompany(v.Questions, resolved):
		return fail("", "Company names resolve but internet names do not ("+strings.Join(public, ", ")+
			"): the company's DNS server cannot reach the internet's DNS.")
	case hubFailed && len(missing) > 0 && slices.Contains(missing, hubQuestionName(v.Questions)):
		return fail("", "The help desk's server name ("+hubQuestionName(v.Questions)+") does not exist in DNS.")
	case len(failedNames) > 0 && len(resolved) == 0:
		return fail(catalog.FlushDNS, "Names do not resolve: DNS is not working.")
	case len(failedNames) > 0:
		return warn(catalog.FlushDNS, "Some names do not resolve: "+strings.Join(failedNames, ", ")+".")
	case len(missing) > 0:
		return warn("", "Some names do not exist in DNS: "+strings.Join(missing, ", ")+".")
	case len(states[serverDead])+len(states[serverBroken]) > 0:
		var bad []string
		for _, s := range append(states[serverDead], states[serverBroken]...) {
			bad = append(bad, s.Addr)
		}
		return warn(catalog.RenewDHCP, "Names resolve, but a DNS server ("+strings.Join(bad, ", ")+") does not answer properly, so look-ups can be slow.")
	case rootProbe(v.Questions):
		return ok("The DNS servers answer.", evidence...)
	}
	return ok("DNS works: every name resolves.", evidence...)
}

func anyCompany(qs []dnsQuestion, names []string) bool {
	for _, q := range qs {
		if q.Company && slices.Contains(names, q.Name) {
			return true
		}
	}
	return false
}

func hubQuestionName(qs []dnsQuestion) string {
	for _, q := range qs {
		if q.Hub {
			return q.Name
		}
	}
	return ""
}

// hostsEntries returns the /etc/hosts address of each of names listed there.
func hostsEntries(b []byte, names []string) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		for _, h := range f[1:] {
			for _, n := range names {
				if strings.EqualFold(strings.TrimSuffix(h, "."), strings.TrimSuffix(n, ".")) {
					if _, seen := out[n]; !seen {
						out[n] = f[0]
					}
				}
			}
		}
	}
	return out
}

// checkDNSSystem resolves names through the system resolver, where there
// is no resolv.conf to read the servers from.
func checkDNSSystem(ctx context.Context, c *Config, names []string) diag.CheckResult {
	if len(names) == 0 {
		if c.HubAddr != "" {
			return unknown("The hub is addressed by IP; there is no name to resolve.", ev("hub", "%s", c.HubAddr))
		}
		return unknown("No hub configured and no names to check.")
	}
	var evidence []diag.Evidence
	failed := 0
	for _, name := range names {
		lctx, cancel := context.WithTimeout(ctx, c.DialTimeout)
		start := time.Now()
		addrs, err := net.DefaultResolver.LookupHost(lctx, name)
		cancel()
		took := time.Since(start).Round(time.Millisecond)
		if err != nil {
			failed++
			evidence = append(evidence, ev(name, "failed after %s: %s", took, dnsError(err)))
			continue
		}
		evidence = append(evidence, ev(name, "%s in %s", strings.Join(addrs, ", "), took))
	}
	switch {
	case failed == len(names):
		return result(diag.StatusFailing, catalog.FlushDNS, "Names do not resolve: DNS is not working.", evidence...)
	case failed > 0:
		return result(diag.StatusWarning, catalog.FlushDNS, "Some names do not resolve.", evidence...)
	}
	return ok("DNS resolves every name.", evidence...)
}

func dnsError(err error) string {
	var de *net.DNSError
	if errors.As(err, &de) {
		switch {
		case de.IsNotFound:
			return "no such name"
		case de.IsTimeout:
			return "timed out"
		}
		return de.Err
	}
	return err.Error()
}

// readBounded reads at most max bytes of a file.
func readBounded(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, max))
}

func limit[T any](s []T, n int) []T {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func upper(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
