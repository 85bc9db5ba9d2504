package fixes

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tierline/tierline/agent/netstate"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/wire"
)

// has makes Machine.Has answer yes for the listed programs only.
func has(goos string, progs ...string) Machine {
	m := Machine{GOOS: goos, Interfaces: []string{"lo0x", "en0", "eth0"}, Self: 500, Parent: 499}
	m.Has = func(p string) bool {
		for _, q := range progs {
			if p == q {
				return true
			}
		}
		return false
	}
	return m
}

// noInit is m with systemctl installed but systemd not running.
func noInit(m Machine) Machine {
	m.SystemdNotRunning = true
	return m
}

// inContainer is m as a container of systemd-nspawn's.
func inContainer(m Machine) Machine {
	m.Container = "systemd-nspawn"
	return m
}

// leases is m with systemd-networkd running and holding DHCP leases for
// ifaces.
func leases(m Machine, ifaces ...string) Machine {
	m.Leases = append([]string{}, ifaces...)
	return m
}

// links is m with wired, Wi-Fi and software links, eth1, wlan0 and the
// software ones switched off.
func links(m Machine) Machine {
	m.Links = []netstate.Link{
		{Name: "eth0", AdminUp: true, Carrier: true, Physical: true},
		{Name: "eth1", Physical: true},
		{Name: "wlan0", Physical: true, Wireless: true},
		{Name: "docker0"},
		{Name: "veth1a2b"},
	}
	return m
}

// netshLinks is m with the adapters of testdata/netsh-interfaces.txt,
// written in the layout `netsh interface show interface` prints (CRLF
// line ends, names with spaces).
func netshLinks(m Machine) Machine {
	b, err := os.ReadFile("testdata/netsh-interfaces.txt")
	if err != nil {
		panic(err)
	}
	m.Links = netstate.ParseNetshInterfaces(string(b))
	return m
}

// darwinLinks is m with links as Go reads them on macOS: en1 down.
func darwinLinks(m Machine) Machine {
	m.Links = []netstate.Link{{Name: "en0", AdminUp: true, Carrier: true, Physical: true}, {Name: "en1", Physical: true}}
	return m
}

// argvs renders a plan's steps: argv joined by '|' between elements, and
// "agent:NAME k=v" for actions, one string per step.
func argvs(p Plan) []string {
	var out []string
	for _, s := range p.Steps {
		if s.Action != nil {
			out = append(out, strings.Join(s.Action.Argv(), "|"))
			continue
		}
		out = append(out, strings.Join(s.Argv, "|"))
	}
	return out
}

func TestPlansPerOS(t *testing.T) {
	all := []string{"resolvectl", "nscd", "nmcli", "networkctl", "systemctl", "sss_cache", "cupsd", "chronyc"}
	tests := []struct {
		name   string
		fix    string
		params map[string]string
		m      Machine
		want   []string
		na     string // substring of a not-applicable reason
		refuse string // refusal code
	}{
		// flush-dns
		{"dns linux resolved", catalog.FlushDNS, nil, has("linux", all...), []string{"resolvectl|flush-caches"}, "", ""},
		{"dns linux nscd", catalog.FlushDNS, nil, has("linux", "nscd"), []string{"nscd|--invalidate=hosts"}, "", ""},
		{"dns linux none", catalog.FlushDNS, nil, has("linux"), nil, "neither resolvectl", ""},
		{"dns windows", catalog.FlushDNS, nil, has("windows"), []string{"ipconfig|/flushdns"}, "", ""},
		{"dns darwin", catalog.FlushDNS, nil, has("darwin"), []string{"dscacheutil|-flushcache", "killall|-HUP|mDNSResponder"}, "", ""},
		// renew-dhcp
		{"dhcp linux nm iface", catalog.RenewDHCP, map[string]string{"interface": "wlan0"}, has("linux", all...), []string{"nmcli|device|reapply|wlan0"}, "", ""},
		{"dhcp networkd leases", catalog.RenewDHCP, nil, leases(has("linux", "networkctl"), "eth0"), []string{"networkctl|renew|eth0"}, "", ""},
		{"dhcp networkd no lease", catalog.RenewDHCP, nil, leases(has("linux", "networkctl")), nil, "no network connection of this computer gets its address from DHCP", ""},
		{"dhcp networkd iface without lease", catalog.RenewDHCP, map[string]string{"interface": "en0"}, leases(has("linux", "networkctl"), "eth0"), nil, "en0 does not get its address from DHCP", ""},
		{"dhcp linux nm all", catalog.RenewDHCP, nil, has("linux", all...), []string{"nmcli|device|reapply|lo0x", "nmcli|device|reapply|en0", "nmcli|device|reapply|eth0"}, "", ""},
		{"dhcp linux networkd", catalog.RenewDHCP, map[string]string{"interface": "eth0"}, has("linux", "networkctl"), []string{"networkctl|renew|eth0"}, "", ""},
		{"dhcp linux none", catalog.RenewDHCP, nil, has("linux"), nil, "neither NetworkManager", ""},
		{"dhcp windows all", catalog.RenewDHCP, nil, has("windows"), []string{"ipconfig|/release", "ipconfig|/renew"}, "", ""},
		{"dhcp windows iface", catalog.RenewDHCP, map[string]string{"interface": "Ethernet0"}, has("windows"), []string{"ipconfig|/release|Ethernet0", "ipconfig|/renew|Ethernet0"}, "", ""},
		{"dhcp darwin", catalog.RenewDHCP, nil, has("darwin"), []string{"ipconfig|set|en0|DHCP"}, "", ""},
		{"dhcp darwin iface", catalog.RenewDHCP, map[string]string{"interface": "en1"}, has("darwin"), []string{"ipconfig|set|en1|DHCP"}, "", ""},
		// reset-network
		{"reset linux nm", catalog.ResetNetwork, nil, has("linux", all...), []string{"nmcli|networking|off", "nmcli|networking|on"}, "", ""},
		{"reset linux networkd", catalog.ResetNetwork, nil, has("linux", "networkctl", "systemctl"), []string{"systemctl|restart|systemd-networkd"}, "", ""},
		{"reset linux none", catalog.ResetNetwork, nil, has("linux", "systemctl"), nil, "neither NetworkManager", ""},
		{"reset windows", catalog.ResetNetwork, nil, has("windows"), []string{"netsh|winsock|reset", "netsh|int|ip|reset"}, "", ""},
		{"reset darwin", catalog.ResetNetwork, nil, has("darwin"), []string{"ifconfig|en0|down", "ifconfig|en0|up"}, "", ""},
		// clear-credentials
		{"creds windows", catalog.ClearCredentials, map[string]string{"target": "fileserver.corp.example"}, has("windows"), []string{"cmdkey|/delete:fileserver.corp.example"}, "", ""},
		{"creds darwin", catalog.ClearCredentials, map[string]string{"target": "mail.example"}, has("darwin"),
			[]string{"security|delete-generic-password|-s|mail.example", "security|delete-internet-password|-s|mail.example"}, "", ""},
		{"creds linux", catalog.ClearCredentials, map[string]string{"target": "x"}, has("linux", all...), []string{"sss_cache|-E", "nscd|--invalidate=passwd"}, "", ""},
		{"creds linux none", catalog.ClearCredentials, map[string]string{"target": "x"}, has("linux"), nil, "neither sssd", ""},
		// clear-temp
		{"temp linux", catalog.ClearTemp, nil, has("linux"), []string{"agent:clear-temp|min_age_hours=24"}, "", ""},
		{"temp windows", catalog.ClearTemp, map[string]string{"min_age_hours": "72"}, has("windows"), []string{"agent:clear-temp|min_age_hours=72"}, "", ""},
		// restart-print-spooler
		{"print linux", catalog.RestartPrintSpooler, nil, has("linux", all...), []string{"systemctl|restart|cups", "cancel|-a|-x"}, "", ""},
		{"print linux no cups", catalog.RestartPrintSpooler, nil, has("linux", "systemctl"), nil, "Printing cannot be restarted on this computer: it has no print service of its own (CUPS is not installed)", ""},
		{"print linux client only", catalog.RestartPrintSpooler, nil, has("linux", "systemctl", "cancel", "lpstat"), nil, "no print service of its own", ""},
		{"print windows", catalog.RestartPrintSpooler, nil, has("windows"), []string{"net|stop|Spooler", "agent:clear-print-queue", "net|start|Spooler"}, "", ""},
		// restart-resolver
		{"resolver resolved", catalog.RestartResolver, nil, has("linux", "systemctl", "resolvectl", "dnsmasq"), []string{"systemctl|restart|systemd-resolved"}, "", ""},
		{"resolver dnsmasq", catalog.RestartResolver, nil, has("linux", "systemctl", "dnsmasq"), []string{"systemctl|restart|dnsmasq"}, "", ""},
		{"resolver none", catalog.RestartResolver, nil, has("linux", "systemctl"), nil, "no local DNS service", ""},
		{"resolver no systemd", catalog.RestartResolver, nil, has("linux", "resolvectl"), nil, "no local DNS service", ""},
		// resume-printer, cancel-print-jobs
		{"resume one", catalog.ResumePrinter, map[string]string{"printer": "office"}, has("linux", "cupsenable", "cupsaccept"), []string{"cupsenable|office", "cupsaccept|office"}, "", ""},
		{"resume all", catalog.ResumePrinter, nil, has("darwin", "cupsenable", "cupsaccept"), []string{"agent:resume-printers"}, "", ""},
		{"resume no cups", catalog.ResumePrinter, nil, has("linux", "systemctl"), nil, "There is no printer to resume on this computer: it has no print service (CUPS is not installed)", ""},
		{"resume windows", catalog.ResumePrinter, nil, has("windows"), nil, "not available on windows", ""},
		{"cancel jobs", catalog.CancelPrintJobs, nil, has("linux", "cancel", "lpstat"), []string{"cancel|-a"}, "", ""},
		{"cancel jobs no cups", catalog.CancelPrintJobs, nil, has("linux"), nil, "There are no print jobs to cancel on this computer: it has no print service (CUPS is not installed)", ""},
		{"print darwin", catalog.RestartPrintSpooler, nil, has("darwin"), []string{"cancel|-a|-", "launchctl|kickstart|-k|system/org.cups.cupsd"}, "", ""},
		// sync-clock
		{"clock linux chrony", catalog.SyncClock, nil, has("linux", all...), []string{"chronyc|makestep"}, "", ""},
		{"clock linux timesyncd", catalog.SyncClock, nil, has("linux", "systemctl", "/lib/systemd/systemd-timesyncd"), []string{"systemctl|restart|systemd-timesyncd"}, "", ""},
		{"clock linux none", catalog.SyncClock, nil, has("linux", "systemctl"), nil, "neither chrony", ""},
		{"clock linux systemd not running", catalog.SyncClock, nil, noInit(has("linux", "systemctl", "/lib/systemd/systemd-timesyncd")), nil, "The clock cannot be synchronised on this computer: it does not run systemd", ""},
		{"spooler linux systemd not running", catalog.RestartPrintSpooler, nil, noInit(has("linux", all...)), nil, "Printing cannot be restarted on this computer: it does not run systemd", ""},
		{"reset linux networkd, systemd not running", catalog.ResetNetwork, nil, noInit(has("linux", "networkctl", "systemctl")), nil, "The network cannot be reset on this computer", ""},
		{"service linux systemd not running", catalog.RestartService, map[string]string{"service": "cups"}, noInit(has("linux", all...)), nil, "Services cannot be restarted on this computer: it does not run systemd", ""},
		{"clock linux container", catalog.SyncClock, nil, inContainer(has("linux", all...)), nil, "this computer is a container (systemd-nspawn): its clock is its host's", ""},
		{"clock windows", catalog.SyncClock, nil, has("windows"), []string{"w32tm|/resync|/force"}, "", ""},
		{"clock darwin", catalog.SyncClock, nil, has("darwin"), []string{"launchctl|kickstart|-k|system/com.apple.timed"}, "", ""},
		// restart-service
		{"service linux", catalog.RestartService, map[string]string{"service": "cups"}, has("linux", all...), []string{"systemctl|restart|--|cups"}, "", ""},
		{"service linux no systemd", catalog.RestartService, map[string]string{"service": "cups"}, has("linux"), nil, "systemd", ""},
		{"service windows", catalog.RestartService, map[string]string{"service": "Spooler"}, has("windows"), []string{"net|stop|Spooler", "net|start|Spooler"}, "", ""},
		{"service darwin", catalog.RestartService, map[string]string{"service": "org.cups.cupsd"}, has("darwin"), []string{"launchctl|kickstart|-k|system/org.cups.cupsd"}, "", ""},
		// end-process
		{"end by name", catalog.EndProcess, map[string]string{"name": "chrome"}, has("linux"), []string{"agent:end-process|name=chrome"}, "", ""},
		{"end by pid", catalog.EndProcess, map[string]string{"pid": "1234"}, has("windows"), []string{"agent:end-process|pid=1234"}, "", ""},
		{"end critical linux", catalog.EndProcess, map[string]string{"name": "systemd"}, has("linux"), nil, "", wire.RefusePolicy},
		{"end critical windows", catalog.EndProcess, map[string]string{"name": "LSASS.EXE"}, has("windows"), nil, "", wire.RefusePolicy},
		{"end critical windows bare", catalog.EndProcess, map[string]string{"name": "winlogon"}, has("windows"), nil, "", wire.RefusePolicy},
		{"end critical darwin", catalog.EndProcess, map[string]string{"name": "WindowServer"}, has("darwin"), nil, "", wire.RefusePolicy},
		{"end agent", catalog.EndProcess, map[string]string{"name": "tierline-agent"}, has("linux"), nil, "", wire.RefusePolicy},
		{"end self", catalog.EndProcess, map[string]string{"pid": "500"}, has("linux"), nil, "", wire.RefusePolicy},
		{"end parent", catalog.EndProcess, map[string]string{"pid": "499"}, has("darwin"), nil, "", wire.RefusePolicy},
		// collect-logs
		{"logs", catalog.CollectLogs, map[string]string{"hours": "6"}, has("linux"), []string{"agent:collect-logs|hours=6|max_mib=2"}, "", ""},
		// schedule-reboot
		{"reboot linux", catalog.ScheduleReboot, map[string]string{"delay_minutes": "15", "message": "Saving; back soon; $(id) `x` | y"}, has("linux"),
			[]string{"shutdown|-r|--|+15|Saving; back soon; $(id) `x` | y"}, "", ""},
		{"reboot darwin", catalog.ScheduleReboot, map[string]string{"delay_minutes": "5", "message": "bye"}, has("darwin"), []string{"shutdown|-r|+5|bye"}, "", ""},
		{"reboot windows", catalog.ScheduleReboot, map[string]string{"delay_minutes": "10", "message": "bye"}, has("windows"), []string{"shutdown|/r|/t|600|/c|bye"}, "", ""},
		{"reboot option-like message", catalog.ScheduleReboot, map[string]string{"message": "--halt"}, has("linux"), nil, "", wire.RefuseBadParams},
		{"reboot switch-like message", catalog.ScheduleReboot, map[string]string{"message": "/s"}, has("windows"), nil, "", wire.RefuseBadParams},
		// empty-trash, clear-user-caches: built-in on every OS; the user
		// is passed on when named
		{"trash linux", catalog.EmptyTrash, nil, has("linux"), []string{"agent:empty-trash"}, "", ""},
		{"trash windows user", catalog.EmptyTrash, map[string]string{"user": "Jane Doe"}, has("windows"), []string{"agent:empty-trash|user=Jane Doe"}, "", ""},
		{"trash darwin", catalog.EmptyTrash, map[string]string{"user": "bob"}, has("darwin"), []string{"agent:empty-trash|user=bob"}, "", ""},
		{"caches linux", catalog.ClearUserCaches, map[string]string{"user": "bob"}, has("linux"), []string{"agent:clear-user-caches|user=bob"}, "", ""},
		{"caches windows", catalog.ClearUserCaches, nil, has("windows"), []string{"agent:clear-user-caches"}, "", ""},
		{"caches darwin", catalog.ClearUserCaches, nil, has("darwin"), []string{"agent:clear-user-caches"}, "", ""},
		// vacuum-journals: Linux with systemd's journal only
		{"vacuum linux", catalog.VacuumJournals, nil, has("linux", "journalctl", "systemctl"), []string{"agent:vacuum-journals|days=14|max_mib=200"}, "", ""},
		{"vacuum linux bound", catalog.VacuumJournals, map[string]string{"max_mib": "64", "days": "3"}, has("linux", "journalctl"), []string{"agent:vacuum-journals|days=3|max_mib=64"}, "", ""},
		{"vacuum no journald", catalog.VacuumJournals, nil, has("linux", "systemctl"), nil, "systemd's journal (journalctl) is not installed", ""},
		{"vacuum systemd not running", catalog.VacuumJournals, nil, noInit(has("linux", "journalctl", "systemctl")), nil, "The system logs cannot be trimmed on this computer: it does not run systemd", ""},
		{"vacuum windows", catalog.VacuumJournals, nil, has("windows"), nil, "not available on windows", ""},
		{"vacuum darwin", catalog.VacuumJournals, nil, has("darwin", "journalctl"), nil, "not available on darwin", ""},
		// enable-interface: the name is checked against the machine's links
		{"enable linux named", catalog.EnableInterface, map[string]string{"interface": "eth1"}, links(has("linux", "ip", "networkctl")), []string{"ip|link|set|dev|eth1|up"}, "", ""},
		{"enable linux all off", catalog.EnableInterface, nil, links(has("linux", "ip")), []string{"ip|link|set|dev|eth1|up", "ip|link|set|dev|wlan0|up"}, "", ""},
		{"enable linux networkctl", catalog.EnableInterface, map[string]string{"interface": "wlan0"}, links(has("linux", "networkctl")), []string{"networkctl|up|wlan0"}, "", ""},
		{"enable linux no tool", catalog.EnableInterface, nil, links(has("linux")), nil, "neither ip (iproute2) nor networkctl", ""},
		{"enable unknown name", catalog.EnableInterface, map[string]string{"interface": "eth9"}, links(has("linux", "ip")), nil, "this computer has no network adapter named eth9 (its adapters: eth0, eth1, wlan0, docker0, veth1a2b)", ""},
		{"enable software link", catalog.EnableInterface, map[string]string{"interface": "docker0"}, links(has("linux", "ip")), nil, "docker0 is an interface that software made for itself", ""},
		{"enable already on", catalog.EnableInterface, map[string]string{"interface": "eth0"}, links(has("linux", "ip")), nil, "eth0 is already switched on and connected", ""},
		{"enable nothing off", catalog.EnableInterface, nil, has("linux", "ip"), nil, "no network adapter of this computer is switched off", ""},
		{"enable windows", catalog.EnableInterface, map[string]string{"interface": "wi-fi"}, netshLinks(has("windows")), []string{"netsh|interface|set|interface|name=Wi-Fi|admin=enabled"}, "", ""},
		{"enable windows all off", catalog.EnableInterface, nil, netshLinks(has("windows")), []string{"netsh|interface|set|interface|name=Ethernet 2|admin=enabled", "netsh|interface|set|interface|name=Wi-Fi|admin=enabled"}, "", ""},
		{"enable windows connected", catalog.EnableInterface, map[string]string{"interface": "Ethernet"}, netshLinks(has("windows")), nil, "Ethernet is already switched on and connected", ""},
		{"enable darwin", catalog.EnableInterface, map[string]string{"interface": "en1"}, darwinLinks(has("darwin")), []string{"ifconfig|en1|up"}, "", ""},
		// OS outside the catalog entry
		{"unknown os", catalog.FlushDNS, nil, has("plan9"), nil, "not available on plan9", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, ok := catalog.Get(tc.fix)
			if !ok {
				t.Fatalf("no fix %s", tc.fix)
			}
			params, err := f.Validate(tc.params)
			if err != nil {
				t.Fatalf("params: %v", err)
			}
			p, err := MakePlan(f, params, tc.m)
			var na *NotApplicableError
			var rf *RefusalError
			switch {
			case tc.na != "":
				if !errors.As(err, &na) || !strings.Contains(na.Reason, tc.na) {
					t.Fatalf("err %v, want not applicable with %q", err, tc.na)
				}
			case tc.refuse != "":
				if !errors.As(err, &rf) || rf.Code != tc.refuse {
					t.Fatalf("err %v, want refusal %s", err, tc.refuse)
				}
			case err != nil:
				t.Fatal(err)
			default:
				if d := cmp.Diff(tc.want, argvs(p)); d != "" {
					t.Fatalf("steps (-want +got):\n%s", d)
				}
			}
		})
	}
}

// TestPrintingPlansWithoutCUPS: on a Debian machine with systemd and
// without CUPS, none of the printing fixes applies, each says so in plain
// words and nothing runs.
func TestPrintingPlansWithoutCUPS(t *testing.T) {
	m := has("linux", "systemctl", "networkctl", "resolvectl")
	for _, id := range []string{catalog.RestartPrintSpooler, catalog.ResumePrinter, catalog.CancelPrintJobs} {
		f, _ := catalog.Get(id)
		params, _ := f.Validate(nil)
		p, err := MakePlan(f, params, m)
		var na *NotApplicableError
		if !errors.As(err, &na) || len(p.Steps) != 0 {
			t.Errorf("%s without CUPS: %+v %v; want not applicable, no steps", id, p, err)
			continue
		}
		if !strings.Contains(na.Reason, "on this computer: it has no print service") || strings.Contains(na.Reason, "status") {
			t.Errorf("%s without CUPS: %q; want plain words", id, na.Reason)
		}
	}
}

// TestEveryFixHasAPlanOnEveryOS keeps the catalog and the plans in step.
func TestEveryFixHasAPlanOnEveryOS(t *testing.T) {
	sample := map[string]map[string]string{
		catalog.ClearCredentials: {"target": "srv"}, catalog.RestartService: {"service": "cups"}, catalog.EndProcess: {"name": "x"},
	}
	for _, f := range catalog.All() {
		if f.ID == catalog.InstallSoftware {
			continue // its plan comes from the signed catalog: TestSoftwarePlansPerOS
		}
		for _, goos := range f.OSes {
			params, err := f.Validate(sample[f.ID])
			if err != nil {
				t.Fatalf("%s: %v", f.ID, err)
			}
			p, err := MakePlan(f, params, machine(goos))
			if err != nil || len(p.Steps) == 0 {
				t.Errorf("%s on %s: no plan (%v)", f.ID, goos, err)
			}
			for _, s := range p.Steps {
				for _, a := range s.Argv {
					if strings.ContainsAny(a, "\x00\n\r") {
						t.Errorf("%s on %s: argv element %q", f.ID, goos, a)
					}
				}
			}
		}
	}
}
