package health

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

func TestGradeDNS(t *testing.T) {
	qs := dnsQuestions([]string{"hub.corp.example", "intranet", "www.example.org"}, "hub.corp.example:8443", nil)
	if !qs[0].Hub || !qs[0].Company || !qs[1].Company || qs[2].Company {
		t.Fatalf("classification: %+v", qs)
	}
	addr := func(a string) dnsReply { return dnsReply{RCode: dnsmessage.RCodeSuccess, Addrs: []string{a}} }
	servfail := dnsReply{RCode: dnsmessage.RCodeServerFailure}
	nx := dnsReply{RCode: dnsmessage.RCodeNameError}
	dead := dnsReply{Err: errNoReply}
	view := func(servers ...dnsServer) dnsView {
		return dnsView{Source: "/etc/resolv.conf", Questions: qs, Servers: servers}
	}
	tests := []struct {
		name    string
		v       dnsView
		status  diag.Status
		fix     string
		summary string
	}{
		{"all fine", view(dnsServer{"192.0.2.53", []dnsReply{addr("192.0.2.10"), addr("192.0.2.11"), addr("198.51.100.1")}}),
			diag.StatusOK, "", "DNS works"},
		{"office server answers SERVFAIL to all", view(dnsServer{"192.0.2.53", []dnsReply{servfail, servfail, servfail}}),
			diag.StatusFailing, "", "not on this computer"},
		{"remote servers dead", view(dnsServer{"192.0.2.53", []dnsReply{dead, dead, dead}}, dnsServer{"192.0.2.54", []dnsReply{dead, dead, dead}}),
			diag.StatusFailing, catalog.RenewDHCP, "No DNS server answers"},
		{"home router DNS: company names do not exist", view(dnsServer{"192.168.1.1", []dnsReply{nx, nx, addr("198.51.100.1")}}),
			diag.StatusFailing, catalog.RenewDHCP, "Public names resolve but company names do not (hub.corp.example, intranet)"},
		{"a public name does not exist", view(dnsServer{"192.0.2.53", []dnsReply{addr("192.0.2.10"), addr("192.0.2.11"), nx}}),
			diag.StatusWarning, "", "Some names do not exist in DNS: www.example.org"},
		{"company names fail", view(dnsServer{"192.168.1.1", []dnsReply{servfail, servfail, addr("198.51.100.1")}}),
			diag.StatusFailing, catalog.RenewDHCP, "not using the company's DNS server"},
		{"hub name missing", view(dnsServer{"192.0.2.53", []dnsReply{nx, addr("192.0.2.11"), addr("198.51.100.1")}}),
			diag.StatusFailing, "", "(hub.corp.example) does not exist in DNS"},
		{"second server broken", view(dnsServer{"192.0.2.53", []dnsReply{addr("192.0.2.10"), addr("192.0.2.11"), addr("198.51.100.1")}},
			dnsServer{"192.0.2.54", []dnsReply{servfail, servfail, servfail}}),
			diag.StatusWarning, catalog.RenewDHCP, "(192.0.2.54) does not answer properly"},
		{"dead local dnsmasq", view(dnsServer{"127.0.0.1", []dnsReply{{Err: errors.New("connection refused")}, dead, dead}}),
			diag.StatusFailing, catalog.RestartResolver, "This computer's DNS service (127.0.0.1) is not answering"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := gradeDNS(tt.v)
			if got.Status != tt.status || got.Fix != tt.fix || !strings.Contains(got.Summary, tt.summary) {
				t.Errorf("got %s %q %q, want %s %q ~%q\n%+v", got.Status, got.Fix, got.Summary, tt.status, tt.fix, tt.summary, got.Evidence)
			}
		})
	}
}

func TestHostsEntries(t *testing.T) {
	got := hostsEntries([]byte("127.0.0.1 localhost\n# 10.0.0.1 hub.corp.example\n10.0.0.2 hub.corp.example. hub\n10.0.0.3 hub.corp.example\n"),
		[]string{"hub.corp.example", "www.example.org"})
	if len(got) != 1 || got["hub.corp.example"] != "10.0.0.2" {
		t.Errorf("%v", got)
	}
}
