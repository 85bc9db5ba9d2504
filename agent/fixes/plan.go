package fixes

import (
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/tierline/tierline/agent/execx"
	"github.com/tierline/tierline/agent/netstate"
	"github.com/tierline/tierline/agent/svcmgr"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/wire"
)

// Machine is what a plan depends on besides the fix and its parameters:
// the OS, which programs are installed, and the network interfaces.
// Plans are pure functions of it, so every OS's plans are tested anywhere.
type Machine struct {
	GOOS string
	// Has reports whether a program is installed (a bare name looked up in
	// the system directories, or an absolute path).
	Has func(program string) bool
	// Interfaces are the non-loopback interfaces that are up, for fixes
	// that act on each one when no interface is named.
	Interfaces []string
	// Self and Parent are the agent's pid and its parent's, never ended.
	Self, Parent int
	// Container names the container manager when the machine is a
	// container (systemd's /run/systemd/container: "systemd-nspawn",
	// "docker", ...), "" otherwise. A container's clock is its host's.
	Container string
	// SystemdNotRunning: systemctl may be installed but systemd is not the
	// running init (no /run/systemd/system), so systemctl can do nothing.
	SystemdNotRunning bool
	// Leases are the interfaces systemd-networkd holds a DHCP lease for
	// (/run/systemd/netif/leases); nil when networkd is not running.
	Leases []string
	// ConsoleUser is the account at the screen on macOS, for Homebrew,
	// which refuses to run as root ("" elsewhere, or when nobody is).
	ConsoleUser string
	// Links are the machine's network interfaces other than loopback,
	// switched on or off (on Windows from netsh, which also lists the
	// adapters that are disabled).
	Links []netstate.Link
}

func (m Machine) has(p string) bool { return m.Has != nil && m.Has(p) }

// systemd reports whether systemctl can act here: installed, and systemd
// running.
func (m Machine) systemd() bool { return m.has("systemctl") && !m.SystemdNotRunning }

// noSystemd is the plain reason a fix that needs systemd cannot run;
// cannot is what cannot be done ("Printing cannot be restarted").
func noSystemd(cannot string) error {
	return notApplicable("%s on this computer: it does not run systemd, the service manager this needs", cannot)
}

// maxInterfaces bounds the per-interface steps of a plan.
const maxInterfaces = 16

var ifaceName = regexp.MustCompile(`\A[A-Za-z0-9][A-Za-z0-9._:-]{0,31}\z`)

// LocalMachine describes the machine the agent runs on.
func LocalMachine() Machine {
	m := Machine{GOOS: runtime.GOOS, Self: os.Getpid(), Parent: os.Getppid(),
		Has: func(p string) bool { _, err := execx.Find(p); return err == nil }}
	if runtime.GOOS == catalog.Linux {
		_, err := os.Stat("/run/systemd/system")
		m.SystemdNotRunning = err != nil
	}
	if b, err := os.ReadFile("/run/systemd/container"); err == nil && len(b) < 256 {
		m.Container = strings.TrimSpace(string(b))
	}
	if runtime.GOOS == catalog.Darwin {
		if u, err := consoleUser(); err == nil {
			m.ConsoleUser = u.Name
		}
	}
	m.Leases = networkdLeases("/run/systemd/netif")
	m.Links = localLinks()
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		if i.Flags&net.FlagUp == 0 || i.Flags&net.FlagLoopback != 0 || !ifaceName.MatchString(i.Name) {
			continue
		}
		if len(m.Interfaces) < maxInterfaces {
			m.Interfaces = append(m.Interfaces, i.Name)
		}
	}
	return m
}

// Step is one step of a plan: a command run through execx (Argv) or a
// piece of the agent's own Go code (Action).
type Step struct {
	Argv   []string `json:"argv,omitempty"`
	Action *Action  `json:"action,omitempty"`
	// OKExits are exit codes besides 0 that mean success (for example
	// "there was nothing to remove").
	OKExits []int `json:"ok_exits,omitempty"`
	// NotApplicable maps exit codes to the reason the fix does not apply
	// here (for example "no such unit").
	NotApplicable map[int]string `json:"not_applicable,omitempty"`
	// Optional: a failure is recorded but does not fail the fix, unless
	// every step of the plan is optional and all of them failed.
	Optional bool `json:"optional,omitempty"`
	// KeepTail keeps the end of a long output instead of its start.
	KeepTail bool `json:"-"`
	// Env, when set, is the command's whole environment (execx.Cmd.Env).
	Env []string `json:"env,omitempty"`
	// AptStatus: the command writes apt's status lines to standard
	// output (ParseAptStatus); they become the run's progress.
	AptStatus bool `json:"-"`
}

// Action names a built-in Go procedure and its validated arguments.
type Action struct {
	Name string            `json:"name"`
	Args map[string]string `json:"args,omitempty"`
}

// Built-in actions.
const (
	ActClearTemp       = "clear-temp"
	ActEndProcess      = "end-process"
	ActCollectLogs     = "collect-logs"
	ActClearPrintQueue = "clear-print-queue"
	ActResumePrinters  = "resume-printers"
	ActEmptyTrash      = "empty-trash"
	ActClearUserCaches = "clear-user-caches"
	ActVacuumJournals  = "vacuum-journals"
)

// Argv is how an action appears in RunResult.Steps: a name that is not a
// program, then its arguments as name=value.
func (a Action) Argv() []string {
	out := []string{"agent:" + a.Name}
	keys := make([]string, 0, len(a.Args))
	for k := range a.Args {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		out = append(out, k+"="+a.Args[k])
	}
	return out
}

// Plan is what running a fix means on one machine.
type Plan struct {
	Steps []Step
	// Deferred: the fix takes effect later (a scheduled reboot), so the
	// checks after it cannot show its effect and are not run.
	Deferred bool
	// SelfVerified: the plan's last step checks the result itself
	// (install-software reads the package database).
	SelfVerified bool
	// Note is added to the result's reason (for example what a fix cannot
	// do on this OS).
	Note string
}

// NotApplicableError: the fix does not apply to this machine; nothing runs.
type NotApplicableError struct{ Reason string }

func (e *NotApplicableError) Error() string { return e.Reason }

// RefusalError: the agent refuses to run the fix as asked; nothing runs.
type RefusalError struct{ Code, Reason string }

func (e *RefusalError) Error() string { return e.Reason }

func notApplicable(format string, args ...any) error {
	return &NotApplicableError{Reason: fmt.Sprintf(format, args...)}
}

func cmd(argv ...string) Step { return Step{Argv: argv} }

// MakePlan turns a fix and its validated parameters into steps for m.
// Parameters only ever become whole argv elements, except where the OS's
// tool wants "/switch:VALUE" syntax, and then only after the catalog
// validated them. Nothing goes through a shell.
func MakePlan(f catalog.Fix, params map[string]string, m Machine) (Plan, error) {
	if !f.Supports(m.GOOS) {
		return Plan{}, notApplicable("%s is not available on %s", f.ID, m.GOOS)
	}
	switch f.ID {
	case catalog.FlushDNS:
		return planFlushDNS(m)
	case catalog.RenewDHCP:
		return planRenewDHCP(params["interface"], m)
	case catalog.ResetNetwork:
		return planResetNetwork(m)
	case catalog.ClearCredentials:
		return planClearCredentials(params["target"], m)
	case catalog.ClearTemp:
		return Plan{Steps: []Step{{Action: &Action{Name: ActClearTemp, Args: pick(params, "min_age_hours")}}}}, nil
	case catalog.RestartPrintSpooler:
		return planPrintSpooler(m)
	case catalog.RestartResolver:
		return planRestartResolver(m)
	case catalog.ResumePrinter:
		return planResumePrinter(params["printer"], m)
	case catalog.CancelPrintJobs:
		return planCancelPrintJobs(m)
	case catalog.SyncClock:
		return planSyncClock(m)
	case catalog.RestartService:
		return planRestartService(params["service"], m)
	case catalog.EndProcess:
		return planEndProcess(params, m)
	case catalog.InstallSoftware:
		// The entry comes from the signed catalog (SoftwarePlan); without
		// one there is nothing to install.
		return Plan{}, &RefusalError{Code: wire.RefuseBadParams, Reason: NotInCatalog(params["entry"])}
	case catalog.CollectLogs:
		return Plan{Steps: []Step{{Action: &Action{Name: ActCollectLogs, Args: pick(params, "hours", "max_mib")}}}}, nil
	case catalog.ScheduleReboot:
		return planReboot(params, m)
	case catalog.EmptyTrash:
		return Plan{Steps: []Step{{Action: &Action{Name: ActEmptyTrash, Args: pick(params, "user")}}}}, nil
	case catalog.ClearUserCaches:
		return Plan{Steps: []Step{{Action: &Action{Name: ActClearUserCaches, Args: pick(params, "user")}}}}, nil
	case catalog.VacuumJournals:
		return planVacuumJournals(params, m)
	case catalog.EnableInterface:
		return planEnableInterface(params["interface"], m)
	}
	return Plan{}, &RefusalError{Code: wire.RefuseUnknownFix, Reason: "this agent has no procedure for " + f.ID}
}

func pick(params map[string]string, names ...string) map[string]string {
	out := map[string]string{}
	for _, n := range names {
		if v, ok := params[n]; ok {
			out[n] = v
		}
	}
	return out
}

func planFlushDNS(m Machine) (Plan, error) {
	switch m.GOOS {
	case catalog.Linux:
		switch {
		case m.has("resolvectl"):
			return Plan{Steps: []Step{cmd("resolvectl", "flush-caches")}}, nil
		case m.has("nscd"):
			return Plan{Steps: []Step{cmd("nscd", "--invalidate=hosts")}}, nil
		}
		return Plan{}, notApplicable("neither resolvectl (systemd-resolved) nor nscd is installed: this machine keeps no DNS cache the agent can flush")
	case catalog.Windows:
		return Plan{Steps: []Step{cmd("ipconfig", "/flushdns")}}, nil
	case catalog.Darwin:
		return Plan{Steps: []Step{cmd("dscacheutil", "-flushcache"), cmd("killall", "-HUP", "mDNSResponder")}}, nil
	}
	return Plan{}, notApplicable("flush-dns is not available on %s", m.GOOS)
}

// targets returns the named interface, or every up interface (optional
// steps: some of them may not be managed by the tool).
func targets(iface string, m Machine, prefix string) ([]string, bool) {
	if iface != "" {
		return []string{iface}, false
	}
	var out []string
	for _, i := range m.Interfaces {
		if strings.HasPrefix(i, prefix) && len(out) < maxInterfaces {
			out = append(out, i)
		}
	}
	return out, true
}

func planRenewDHCP(iface string, m Machine) (Plan, error) {
	var p Plan
	switch m.GOOS {
	case catalog.Windows:
		rel, ren := []string{"ipconfig", "/release"}, []string{"ipconfig", "/renew"}
		if iface != "" {
			rel, ren = append(rel, iface), append(ren, iface)
		}
		return Plan{Steps: []Step{cmd(rel...), cmd(ren...)}}, nil
	case catalog.Linux:
		var tool []string
		switch {
		case m.has("nmcli"):
			tool = []string{"nmcli", "device", "reapply"}
		case m.has("networkctl"):
			tool = []string{"networkctl", "renew"}
		default:
			return p, notApplicable("neither NetworkManager (nmcli) nor systemd-networkd (networkctl) is installed")
		}
		ifs, optional := targets(iface, m, "")
		if tool[0] == "networkctl" && m.Leases != nil {
			// networkctl renew does nothing, successfully, on an interface
			// without a DHCP client.
			ifs = slices.DeleteFunc(ifs, func(i string) bool { return !slices.Contains(m.Leases, i) })
			if len(ifs) == 0 && iface != "" {
				return p, notApplicable("%s does not get its address from DHCP on this computer (systemd-networkd holds no lease for it): there is no lease to renew", iface)
			}
			if len(ifs) == 0 {
				return p, notApplicable("no network connection of this computer gets its address from DHCP (its addresses are set by hand): there is no lease to renew")
			}
		}
		for _, i := range ifs {
			p.Steps = append(p.Steps, Step{Argv: append(slices.Clone(tool), i), Optional: optional})
		}
	case catalog.Darwin:
		ifs, optional := targets(iface, m, "en")
		for _, i := range ifs {
			p.Steps = append(p.Steps, Step{Argv: []string{"ipconfig", "set", i, "DHCP"}, Optional: optional})
		}
	}
	if len(p.Steps) == 0 {
		return p, notApplicable("no network interface is up")
	}
	return p, nil
}

func planResetNetwork(m Machine) (Plan, error) {
	switch m.GOOS {
	case catalog.Linux:
		switch {
		case m.has("nmcli"):
			return Plan{Steps: []Step{cmd("nmcli", "networking", "off"), cmd("nmcli", "networking", "on")}}, nil
		case m.has("networkctl") && m.has("systemctl"):
			if !m.systemd() {
				return Plan{}, noSystemd("The network cannot be reset")
			}
			return restartBuiltin(m, "systemd-networkd")
		}
		return Plan{}, notApplicable("neither NetworkManager (nmcli) nor systemd-networkd (networkctl) is installed")
	case catalog.Windows:
		return Plan{Steps: []Step{cmd("netsh", "winsock", "reset"), cmd("netsh", "int", "ip", "reset")},
			Note: "Windows applies the reset fully after the next restart."}, nil
	case catalog.Darwin:
		var p Plan
		ifs, _ := targets("", m, "en")
		for _, i := range ifs {
			p.Steps = append(p.Steps, cmd("ifconfig", i, "down"), cmd("ifconfig", i, "up"))
		}
		if len(p.Steps) == 0 {
			return p, notApplicable("no network interface is up")
		}
		return p, nil
	}
	return Plan{}, notApplicable("reset-network is not available on %s", m.GOOS)
}

func planClearCredentials(target string, m Machine) (Plan, error) {
	switch m.GOOS {
	case catalog.Windows:
		// cmdkey only takes the target glued to its switch.
		return Plan{Steps: []Step{cmd("cmdkey", "/delete:"+target)}}, nil
	case catalog.Darwin:
		// Exit 44: no such item in that keychain, which is fine.
		return Plan{Steps: []Step{
			{Argv: []string{"security", "delete-generic-password", "-s", target}, OKExits: []int{44}},
			{Argv: []string{"security", "delete-internet-password", "-s", target}, OKExits: []int{44}},
		}}, nil
	case catalog.Linux:
		var p Plan
		if m.has("sss_cache") {
			p.Steps = append(p.Steps, cmd("sss_cache", "-E"))
		}
		if m.has("nscd") {
			p.Steps = append(p.Steps, cmd("nscd", "--invalidate=passwd"))
		}
		if len(p.Steps) == 0 {
			return p, notApplicable("neither sssd (sss_cache) nor nscd is installed: there is no system credential cache to clear; " +
				"passwords in a user's desktop keyring can only be removed from that user's session")
		}
		p.Note = "The system credential caches were cleared for every target; desktop keyrings are left to the user's session."
		return p, nil
	}
	return Plan{}, notApplicable("clear-credentials is not available on %s", m.GOOS)
}

func planPrintSpooler(m Machine) (Plan, error) {
	switch m.GOOS {
	case catalog.Linux:
		if !m.has("cupsd") || !m.has("systemctl") {
			return Plan{}, notApplicable("%s", noCUPS("Printing cannot be restarted on this computer", "of its own"))
		}
		if !m.systemd() {
			return Plan{}, noSystemd("Printing cannot be restarted")
		}
		// The restart comes first: a hung cupsd answers no cancel, and
		// systemd ends it whatever its state. The jobs are cancelled on the
		// new cupsd, which would otherwise take them up again; the checks
		// after the fix see the queue drained.
		p, err := restartBuiltin(m, "cups")
		p.Steps = append(p.Steps, Step{Argv: []string{"cancel", "-a", "-x"}, Optional: true})
		return p, err
	case catalog.Windows:
		// The queue folder can only be emptied while the Spooler is stopped.
		stop, err := svcmgr.Stop(m.GOOS, "Spooler")
		if err != nil {
			return Plan{}, err
		}
		start, err := svcmgr.Start(m.GOOS, "Spooler")
		if err != nil {
			return Plan{}, err
		}
		return Plan{Steps: []Step{serviceStep(stop), {Action: &Action{Name: ActClearPrintQueue}}, serviceStep(start)}}, nil
	case catalog.Darwin:
		return restartBuiltin(m, "org.cups.cupsd", Step{Argv: []string{"cancel", "-a", "-"}, Optional: true})
	}
	return Plan{}, notApplicable("restart-print-spooler is not available on %s", m.GOOS)
}

func planRestartResolver(m Machine) (Plan, error) {
	switch {
	case !m.has("systemctl"):
	case m.has("resolvectl"):
		return restartBuiltin(m, "systemd-resolved")
	case m.has("dnsmasq"):
		return restartBuiltin(m, "dnsmasq")
	}
	return Plan{}, notApplicable("no local DNS service (systemd-resolved, dnsmasq) runs under systemd here")
}

func planResumePrinter(name string, m Machine) (Plan, error) {
	if !m.has("cupsenable") || !m.has("cupsaccept") {
		return Plan{}, notApplicable("%s", noCUPS("There is no printer to resume on this computer", ""))
	}
	if name == "" {
		return Plan{Steps: []Step{{Action: &Action{Name: ActResumePrinters}}}}, nil
	}
	return Plan{Steps: []Step{cmd("cupsenable", name), cmd("cupsaccept", name)}}, nil
}

func planCancelPrintJobs(m Machine) (Plan, error) {
	if !m.has("cancel") || !m.has("lpstat") {
		return Plan{}, notApplicable("%s", noCUPS("There are no print jobs to cancel on this computer", ""))
	}
	return Plan{Steps: []Step{cmd("cancel", "-a")}}, nil
}

// noCUPS is the plain reason a printing fix does not apply on a computer
// without CUPS; what is what cannot be done, own qualifies "print service"
// where a print server elsewhere may still serve the computer.
func noCUPS(what, own string) string {
	if own != "" {
		own = " " + own
	}
	return fmt.Sprintf("%s: it has no print service%s (CUPS is not installed)", what, own)
}

// timesyncd is where distributions install systemd-timesyncd.
var timesyncd = []string{"/usr/lib/systemd/systemd-timesyncd", "/lib/systemd/systemd-timesyncd"}

func planSyncClock(m Machine) (Plan, error) {
	switch m.GOOS {
	case catalog.Linux:
		if m.Container != "" {
			return Plan{}, notApplicable("this computer is a container (%s): its clock is its host's and can only be set on the host", m.Container)
		}
		if m.has("chronyc") {
			return Plan{Steps: []Step{cmd("chronyc", "makestep")}}, nil
		}
		if m.has("systemctl") && slices.ContainsFunc(timesyncd, m.has) {
			if !m.systemd() {
				return Plan{}, noSystemd("The clock cannot be synchronised")
			}
			return restartBuiltin(m, "systemd-timesyncd")
		}
		return Plan{}, notApplicable("neither chrony (chronyc) nor systemd-timesyncd is installed")
	case catalog.Windows:
		return Plan{Steps: []Step{cmd("w32tm", "/resync", "/force")}}, nil
	case catalog.Darwin:
		return restartBuiltin(m, "com.apple.timed")
	}
	return Plan{}, notApplicable("sync-clock is not available on %s", m.GOOS)
}

func planRestartService(name string, m Machine) (Plan, error) {
	if m.GOOS == catalog.Linux && !m.has("systemctl") {
		return Plan{}, notApplicable("this machine does not use systemd (no systemctl)")
	}
	if m.GOOS == catalog.Linux && !m.systemd() {
		return Plan{}, noSystemd("Services cannot be restarted")
	}
	cmds, err := svcmgr.Restart(m.GOOS, name)
	if errors.Is(err, errors.ErrUnsupported) {
		return Plan{}, notApplicable("restart-service is not available on %s", m.GOOS)
	}
	if err != nil {
		return Plan{}, err
	}
	var p Plan
	for _, c := range cmds {
		p.Steps = append(p.Steps, serviceStep(c))
	}
	return p, nil
}

// restartBuiltin is a plan of the steps before, then the restart of a
// service the fix names itself.
func restartBuiltin(m Machine, service string, before ...Step) (Plan, error) {
	cmds, err := svcmgr.RestartBuiltin(m.GOOS, service)
	if err != nil {
		return Plan{}, err
	}
	p := Plan{Steps: before}
	for _, c := range cmds {
		p.Steps = append(p.Steps, serviceStep(c))
	}
	return p, nil
}

// serviceStep is a service-manager command as a plan step.
func serviceStep(c svcmgr.Command) Step {
	return Step{Argv: c.Argv, Optional: c.Optional, NotApplicable: c.NotFound}
}

// criticalProcesses are never ended, by name (compared case-insensitively,
// with and without .exe).
var criticalProcesses = map[string][]string{
	"linux": {"init", "systemd", "kthreadd", "systemd-journald", "systemd-logind", "systemd-udevd", "dbus-daemon",
		"dbus-broker", "sshd", "Xorg", "Xwayland", "gdm", "gdm3", "sddm", "lightdm", "gnome-shell", "kwin_wayland"},
	"windows": {"System", "Registry", "smss.exe", "csrss.exe", "wininit.exe", "winlogon.exe", "lsass.exe", "services.exe",
		"svchost.exe", "dwm.exe", "fontdrvhost.exe", "lsaiso.exe", "MsMpEng.exe", "explorer.exe"},
	"darwin": {"launchd", "kernel_task", "WindowServer", "loginwindow", "opendirectoryd", "securityd", "logd",
		"configd", "mds", "coreservicesd", "sshd"},
}

// CriticalProcesses returns the names end-process refuses on goos.
func CriticalProcesses(goos string) []string {
	return append(slices.Clone(criticalProcesses[goos]), "tierline-agent", "tierline-agent.exe")
}

func isCritical(name, goos string) bool {
	n := strings.TrimSuffix(strings.ToLower(name), ".exe")
	for _, c := range CriticalProcesses(goos) {
		if strings.TrimSuffix(strings.ToLower(c), ".exe") == n {
			return true
		}
	}
	return false
}

func planEndProcess(params map[string]string, m Machine) (Plan, error) {
	if name := params["name"]; name != "" && isCritical(name, m.GOOS) {
		return Plan{}, &RefusalError{Code: wire.RefusePolicy,
			Reason: fmt.Sprintf("built-in rule: %s is a system-critical process (or the agent) and is never ended", name)}
	}
	if pid, err := strconv.Atoi(params["pid"]); err == nil {
		switch pid {
		case 1:
			return Plan{}, &RefusalError{Code: wire.RefusePolicy, Reason: "built-in rule: pid 1 is the system's init process and is never ended"}
		case m.Self:
			return Plan{}, &RefusalError{Code: wire.RefusePolicy, Reason: fmt.Sprintf("built-in rule: pid %d is the agent itself", pid)}
		case m.Parent:
			return Plan{}, &RefusalError{Code: wire.RefusePolicy, Reason: fmt.Sprintf("built-in rule: pid %d is the agent's parent (its service manager)", pid)}
		}
	}
	return Plan{Steps: []Step{{Action: &Action{Name: ActEndProcess, Args: pick(params, "name", "pid")}}}}, nil
}

func planReboot(params map[string]string, m Machine) (Plan, error) {
	mins := catalog.Int(params, "delay_minutes")
	msg := params["message"]
	// The message is free text. Where it could be taken for an option,
	// refuse it rather than trust each tool's parser.
	if strings.HasPrefix(msg, "-") || strings.HasPrefix(msg, "/") {
		return Plan{}, &RefusalError{Code: wire.RefuseBadParams, Reason: `parameter "message": must not start with '-' or '/'`}
	}
	var argv []string
	switch m.GOOS {
	case catalog.Linux:
		// "--": systemd's shutdown permutes arguments, so without it a
		// message word could be read as an option.
		argv = []string{"shutdown", "-r", "--", "+" + strconv.FormatInt(mins, 10)}
	case catalog.Darwin:
		argv = []string{"shutdown", "-r", "+" + strconv.FormatInt(mins, 10)}
	case catalog.Windows:
		argv = []string{"shutdown", "/r", "/t", strconv.FormatInt(mins*60, 10)}
		if msg != "" {
			argv = append(argv, "/c")
		}
	default:
		return Plan{}, notApplicable("schedule-reboot is not available on %s", m.GOOS)
	}
	if msg != "" {
		argv = append(argv, msg)
	}
	return Plan{Steps: []Step{cmd(argv...)}, Deferred: true,
		Note: fmt.Sprintf("The restart is scheduled in %d minutes; its effect shows in the checks after the restart.", mins)}, nil
}

// networkdLeases lists the interfaces systemd-networkd under dir
// (/run/systemd/netif) holds a DHCP lease for, by their lease files (named
// by interface index); nil when networkd is not running there.
func networkdLeases(dir string) []string {
	if _, err := os.Stat(dir + "/links"); err != nil {
		return nil
	}
	out := []string{}
	entries, _ := os.ReadDir(dir + "/leases")
	for _, e := range entries {
		idx, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if i, err := net.InterfaceByIndex(idx); err == nil && len(out) < maxInterfaces {
			out = append(out, i.Name)
		}
	}
	return out
}

// planEnableInterface switches on the named adapter, or every one of the
// machine's own adapters that is off. The name must be one of m.Links:
// the pattern alone would let any interface-like word through.
func planEnableInterface(name string, m Machine) (Plan, error) {
	var names []string
	if name != "" {
		var l *netstate.Link
		for i := range m.Links {
			if m.Links[i].Name == name || m.GOOS == catalog.Windows && strings.EqualFold(m.Links[i].Name, name) {
				l = &m.Links[i]
				break
			}
		}
		switch {
		case l == nil:
			return Plan{}, notApplicable("this computer has no network adapter named %s (its adapters: %s)", name, linkNames(m.Links))
		case !l.Own():
			return Plan{}, notApplicable("%s is an interface that software made for itself (a container, virtual machine or tunnel), "+
				"not one of this computer's own network adapters: the program that made it switches it on", l.Name)
		case l.AdminUp && !l.Carrier:
			return Plan{}, notApplicable("%s is already switched on; it has no link: plug in the network cable or join a Wi-Fi network", l.Name)
		case l.AdminUp:
			return Plan{}, notApplicable("%s is already switched on and connected", l.Name)
		}
		names = []string{l.Name}
	} else {
		for _, l := range m.Links {
			if !l.AdminUp && l.Own() && len(names) < maxInterfaces {
				names = append(names, l.Name)
			}
		}
		if len(names) == 0 {
			return Plan{}, notApplicable("no network adapter of this computer is switched off")
		}
	}
	var p Plan
	for _, n := range names {
		switch m.GOOS {
		case catalog.Linux:
			switch {
			case m.has("ip"):
				p.Steps = append(p.Steps, cmd("ip", "link", "set", "dev", n, "up"))
			case m.has("networkctl"):
				p.Steps = append(p.Steps, cmd("networkctl", "up", n))
			default:
				return Plan{}, notApplicable("neither ip (iproute2) nor networkctl (systemd-networkd) is installed")
			}
		case catalog.Windows:
			// netsh takes its arguments as name=value; the name was checked
			// against the adapters netsh itself listed.
			p.Steps = append(p.Steps, cmd("netsh", "interface", "set", "interface", "name="+n, "admin=enabled"))
		case catalog.Darwin:
			p.Steps = append(p.Steps, cmd("ifconfig", n, "up"))
		default:
			return Plan{}, notApplicable("enable-interface is not available on %s", m.GOOS)
		}
	}
	return p, nil
}

func linkNames(ls []netstate.Link) string {
	if len(ls) == 0 {
		return "none"
	}
	var out []string
	for _, l := range ls {
		out = append(out, l.Name)
	}
	return strings.Join(out, ", ")
}
