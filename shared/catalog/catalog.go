// Package catalog is the closed list of fixes a Tierline agent can run.
//
// The catalog is compiled into both programs. The hub uses it to show
// technicians what they may run and to check requests before they leave;
// the agent checks every request against it again and runs nothing that is
// not in it. There is deliberately no "run a script" entry: a fix is an id,
// a fixed procedure per operating system, and typed, validated parameters.
package catalog

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Operating systems, as runtime.GOOS names them.
const (
	Linux   = "linux"
	Windows = "windows"
	Darwin  = "darwin"
)

var allOSes = []string{Linux, Windows, Darwin}

// Tiers. Tier 0 fixes may be run by the end user from the tray.
const (
	TierSelfHelp = 0
	TierHelpDesk = 1
	TierInDepth  = 2
	TierExpert   = 3
)

// Fix ids. They are stable: the hub stores them and health checks name them.
const (
	FlushDNS            = "flush-dns"
	RenewDHCP           = "renew-dhcp"
	ResetNetwork        = "reset-network"
	ClearCredentials    = "clear-credentials"
	ClearTemp           = "clear-temp"
	RestartPrintSpooler = "restart-print-spooler"
	SyncClock           = "sync-clock"
	RestartService      = "restart-service"
	EndProcess          = "end-process"
	CollectLogs         = "collect-logs"
	ScheduleReboot      = "schedule-reboot"
	ResumePrinter       = "resume-printer"
	CancelPrintJobs     = "cancel-print-jobs"
	RestartResolver     = "restart-resolver"
	EmptyTrash          = "empty-trash"
	ClearUserCaches     = "clear-user-caches"
	VacuumJournals      = "vacuum-journals"
	EnableInterface     = "enable-interface"
	InstallSoftware     = "install-software"
)

// Kind is a parameter's type.
type Kind string

const (
	KindString Kind = "string" // free text limited by Pattern and MaxLen
	KindInt    Kind = "int"    // decimal integer in [Min, Max]
	KindEnum   Kind = "enum"   // one of Enum
)

// Limits on any parameter value and any request.
const (
	MaxParamLen = 256
	MaxParams   = 8
)

// Param describes one typed parameter of a fix.
type Param struct {
	Name     string   `json:"name"`
	Title    string   `json:"title"`
	Help     string   `json:"help,omitempty"`
	Kind     Kind     `json:"kind"`
	Required bool     `json:"required,omitempty"`
	Default  string   `json:"default,omitempty"`
	Pattern  string   `json:"pattern,omitempty"` // for KindString; matched against the whole value
	MaxLen   int      `json:"max_len,omitempty"` // for KindString; default MaxParamLen
	Min      int64    `json:"min,omitempty"`     // for KindInt
	Max      int64    `json:"max,omitempty"`     // for KindInt
	Enum     []string `json:"enum,omitempty"`    // for KindEnum

	re *pattern
}

// pattern is a Param's Pattern, compiled at its first use: the bounded
// repeats of the catalog's patterns ({0,199}) make programs of tens of KB
// each, together about 0.7 MB of heap the agent kept from its start
// although it needs them only when a fix request arrives
// (docs/benchmarks.md, "where the memory goes").
type pattern struct{ compiled func() *regexp.Regexp }

func newPattern(src string) *pattern {
	return &pattern{compiled: sync.OnceValue(func() *regexp.Regexp {
		re, err := compilePattern(src)
		if err != nil {
			panic("catalog: " + err.Error()) // TestPatternsCompile compiles every one
		}
		return re
	})}
}

// Fix is one catalog entry.
type Fix struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// Description is for technicians: what the fix does, on each OS.
	Description string `json:"description"`
	// UserText is for end users: plain words, shown in the tray and in
	// consent prompts.
	UserText string `json:"user_text"`
	// Tier is the lowest tier allowed to run it (0 = the user may run it
	// from the tray).
	Tier   int      `json:"tier"`
	OSes   []string `json:"oses"`
	Params []Param  `json:"params,omitempty"`
	// Consent: the logged-in user must agree before it runs.
	Consent bool `json:"consent,omitempty"`
	// Disruptive: it drops the network, restarts something or reboots.
	Disruptive bool `json:"disruptive,omitempty"`
	// TimeoutSec bounds the whole fix on the agent.
	TimeoutSec int `json:"timeout_sec"`
	// Verify names the health checks that show it worked; they run before
	// and after.
	Verify []string `json:"verify,omitempty"`
	// SettleSec is how long the agent waits after the fix before running
	// the verification checks (a network restart needs a moment).
	SettleSec int `json:"settle_sec,omitempty"`
}

// Timeout is TimeoutSec as a duration.
func (f Fix) Timeout() time.Duration { return time.Duration(f.TimeoutSec) * time.Second }

// Settle is SettleSec as a duration.
func (f Fix) Settle() time.Duration { return time.Duration(f.SettleSec) * time.Second }

// Supports reports whether the fix is implemented for goos.
func (f Fix) Supports(goos string) bool { return slices.Contains(f.OSes, goos) }

// Param returns the named parameter.
func (f Fix) Param(name string) (Param, bool) {
	for _, p := range f.Params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// printerNamePattern matches a CUPS queue name.
const printerNamePattern = `[A-Za-z0-9][A-Za-z0-9._@-]{0,127}`

// serviceNamePattern matches service, unit and launchd label names, at
// most 128 bytes (the parameter's MaxLen): a bounded repeat ({0,127})
// compiles to about 80 KB of program, kept once a policy's service checks
// or a restart-service request used it (docs/benchmarks.md).
const serviceNamePattern = `[A-Za-z0-9][A-Za-z0-9@._:-]*`

// targetPattern matches a credential target: host names, URLs' host:port,
// Windows "Domain:target=..." style names. No spaces, quotes or shell
// metacharacters (not that a shell is ever involved).
const targetPattern = `[A-Za-z0-9][A-Za-z0-9._:@/=+-]{0,199}`

// userNamePattern matches a local account name: no path separators, no
// leading dot or dash (so never "." or ".."), spaces only inside (Windows
// names may have them).
const userNamePattern = `[A-Za-z0-9_][A-Za-z0-9_.@ -]{0,63}`

// userParam names whose files a per-user fix acts on.
var userParam = Param{Name: "user", Title: "User", Kind: KindString, Pattern: userNamePattern,
	Help: "account name; empty means the user who asked (from the tray or the Get help page) or, when a technician asks, " +
		"the user signed in at the computer's screen"}

// processNamePattern matches an executable's base name.
const processNamePattern = `[A-Za-z0-9][A-Za-z0-9 ._+-]{0,127}`

// interfaceNamePattern matches a network interface's name: Linux's and
// macOS's (eth0, wlp2s0, en0) and Windows's ("Ethernet 2", "Wi-Fi",
// "vEthernet (Default Switch)"). The agent also checks it is one of the
// machine's interfaces.
const interfaceNamePattern = `[A-Za-z0-9][A-Za-z0-9 ._:()#*+-]{0,63}`

var fixes = []Fix{
	{
		ID: FlushDNS, Title: "Flush DNS cache", Tier: TierSelfHelp, OSes: allOSes, TimeoutSec: 30,
		Description: "Clears the resolver cache: `resolvectl flush-caches` (systemd-resolved) or `nscd --invalidate=hosts` on Linux, " +
			"`ipconfig /flushdns` on Windows, `dscacheutil -flushcache` and a HUP to mDNSResponder on macOS.",
		UserText: "Forget remembered web addresses so they are looked up again. Safe; nothing is lost.",
		Verify:   []string{"dns-resolution"},
	},
	{
		ID: RenewDHCP, Title: "Renew DHCP lease", Tier: TierSelfHelp, OSes: allOSes, TimeoutSec: 60, SettleSec: 3,
		Description: "Asks the DHCP server for a fresh address: `networkctl renew` or `nmcli device reapply` on Linux, " +
			"`ipconfig /release` + `/renew` on Windows, `ipconfig set IFACE DHCP` on macOS. The connection may drop for a few seconds.",
		UserText: "Ask the network for a fresh address. The connection may pause for a few seconds.",
		Params: []Param{{Name: "interface", Title: "Interface", Kind: KindString, Pattern: `[A-Za-z0-9][A-Za-z0-9._:-]{0,31}`,
			Help: "network interface; empty renews every interface that uses DHCP"}},
		Disruptive: true, Verify: []string{"default-route", "dns-resolution"},
	},
	{
		ID: ResetNetwork, Title: "Reset network", Tier: TierHelpDesk, OSes: allOSes, TimeoutSec: 120, SettleSec: 10,
		Description: "Restarts the network stack: NetworkManager or systemd-networkd on Linux; `netsh winsock reset` and " +
			"`netsh int ip reset` on Windows (takes full effect after a reboot); interfaces down and up on macOS.",
		UserText: "Restart this computer's network connections. You will be offline for up to a minute.",
		Consent:  true, Disruptive: true, Verify: []string{"default-route", "dns-resolution", "hub-reachable"},
	},
	{
		ID: ClearCredentials, Title: "Clear cached credentials", Tier: TierHelpDesk, OSes: allOSes, TimeoutSec: 30,
		Description: "Removes a saved password for one target so the next sign-in asks again: `cmdkey /delete:TARGET` on Windows, " +
			"the keychain item (`security delete-generic-password` and `delete-internet-password -s TARGET`) on macOS, " +
			"`sss_cache -E` / `nscd --invalidate=passwd` and the keyring entry (`secret-tool clear`) on Linux.",
		UserText: "Forget a saved password so you can sign in again with the current one.",
		Params: []Param{{Name: "target", Title: "Target", Kind: KindString, Required: true, Pattern: targetPattern,
			Help: "the server or service name the password is saved for, e.g. fileserver.corp.example or MicrosoftOffice16_Data"}},
		Consent: true,
	},
	{
		ID: ClearTemp, Title: "Clear temporary files", Tier: TierSelfHelp, OSes: allOSes, TimeoutSec: 300,
		Description: "Deletes files older than the given age from the system and users' temporary folders " +
			"(/tmp and /var/tmp; %TEMP%, C:\\Windows\\Temp and each profile's AppData\\Local\\Temp; /private/tmp and users' caches). " +
			"Files in use are skipped. Done in the agent, without running a command.",
		UserText: "Delete old temporary files to free disk space.",
		Params:   []Param{{Name: "min_age_hours", Title: "Minimum age (hours)", Kind: KindInt, Default: "24", Min: 1, Max: 24 * 365}},
		Verify:   []string{"disk-almost-full"},
	},
	{
		ID: RestartPrintSpooler, Title: "Restart printing", Tier: TierSelfHelp, OSes: allOSes, TimeoutSec: 120,
		Description: "Restarts the print service and cancels every job: `systemctl restart cups` then `cancel -a -x` on Linux (a hung cupsd is ended by the restart), " +
			"the Spooler service with its queue folder emptied on Windows, `cancel -a -` and cupsd kickstarted on macOS.",
		UserText: "Clear stuck print jobs and restart printing. Documents waiting to print are removed.",
		Consent:  true, Disruptive: true, SettleSec: 2,
		// Verified by the queue draining (print-jobs-stuck) and the spooler
		// answering again (printer-stopped).
		Verify: []string{"print-jobs-stuck", "printer-stopped"},
	},
	{
		ID: RestartResolver, Title: "Restart the local DNS service", Tier: TierSelfHelp, OSes: []string{Linux}, TimeoutSec: 60, SettleSec: 2,
		Description: "Restarts the DNS resolver that runs on this computer and answers its look-ups: `systemctl restart " +
			"systemd-resolved` (the 127.0.0.53 stub), else `systemctl restart dnsmasq`.",
		UserText: "Restart this computer's name look-up service when web addresses stop working.",
		Verify:   []string{"dns-resolution"},
	},
	{
		ID: ResumePrinter, Title: "Resume a paused printer", Tier: TierSelfHelp, OSes: []string{Linux, Darwin}, TimeoutSec: 60, SettleSec: 2,
		Description: "Enables a printer CUPS has stopped and lets its queue accept jobs again: `cupsenable` and `cupsaccept` for the " +
			"named printer, or for every printer `lpstat -p -a` lists as stopped or refusing documents. Waiting jobs are kept and print.",
		UserText: "Start a paused printer again. Documents waiting for it will print.",
		Params: []Param{{Name: "printer", Title: "Printer", Kind: KindString, Pattern: printerNamePattern,
			Help: "queue name; empty resumes every stopped printer"}},
		Verify: []string{"printer-stopped"},
	},
	{
		ID: CancelPrintJobs, Title: "Cancel stuck print jobs", Tier: TierSelfHelp, OSes: []string{Linux, Darwin}, TimeoutSec: 60, SettleSec: 2,
		Description: "Cancels every job waiting in CUPS (`cancel -a`), leaving the printers and the print service as they are.",
		UserText:    "Remove the documents stuck waiting to print. They will not print; send them again afterwards.",
		Consent:     true,
		Verify:      []string{"print-jobs-stuck"},
	},
	{
		ID: SyncClock, Title: "Synchronise the clock", Tier: TierHelpDesk, OSes: allOSes, TimeoutSec: 60, SettleSec: 2,
		Description: "Makes the time service step the clock from its configured servers: `chronyc makestep` or a restart of " +
			"systemd-timesyncd on Linux, `w32tm /resync /force` on Windows, timed kickstarted on macOS.",
		UserText: "Set this computer's clock to the correct time.",
		Verify:   []string{"clock-skew"},
	},
	{
		ID: RestartService, Title: "Restart a service", Tier: TierInDepth, OSes: allOSes, TimeoutSec: 120, SettleSec: 2,
		Description: "Restarts one service from the allow-list (the built-in list plus the device policy's): `systemctl restart` on Linux, " +
			"`sc stop`/`sc start` on Windows, `launchctl kickstart -k` on macOS.",
		UserText: "Restart a background program that has stopped working.",
		Params: []Param{{Name: "service", Title: "Service", Kind: KindString, Required: true, Pattern: serviceNamePattern, MaxLen: 128,
			Help: "unit, service or launchd label; must be on the allow-list"}},
		Disruptive: true, Verify: []string{"service-stopped"},
	},
	{
		ID: EndProcess, Title: "End a process", Tier: TierInDepth, OSes: allOSes, TimeoutSec: 30,
		Description: "Ends every process with the given name, or the one with the given pid: SIGTERM, then SIGKILL after 5 s " +
			"(TerminateProcess on Windows). System-critical processes and the agent itself are never ended.",
		UserText: "Close a program that is not responding. Unsaved work in it is lost.",
		Params: []Param{
			{Name: "name", Title: "Process name", Kind: KindString, Pattern: processNamePattern},
			{Name: "pid", Title: "Process id", Kind: KindInt, Min: 2, Max: 1<<31 - 1},
		},
		Consent: true, Disruptive: true, Verify: []string{"cpu-saturated", "process-cpu-runaway", "memory-pressure"},
	},
	{
		ID: CollectLogs, Title: "Collect a log bundle", Tier: TierInDepth, OSes: allOSes, TimeoutSec: 180,
		Description: "Gathers recent system logs into a tar.gz (at most max_mib MiB) and uploads it to the hub with the run: " +
			"the journal or /var/log on Linux, the System and Application event logs on Windows, `log show` on macOS.",
		UserText: "Collect recent system logs for the support team.",
		Params: []Param{
			{Name: "hours", Title: "Hours of logs", Kind: KindInt, Default: "24", Min: 1, Max: 24 * 14},
			{Name: "max_mib", Title: "Size limit (MiB)", Kind: KindInt, Default: "2", Min: 1, Max: 2},
		},
	},
	{
		ID: ScheduleReboot, Title: "Schedule a reboot", Tier: TierInDepth, OSes: allOSes, TimeoutSec: 30,
		Description: "Schedules a restart after a delay and tells the logged-in user: `shutdown -r +MIN MESSAGE` on Linux and macOS, " +
			"`shutdown /r /t SEC /c MESSAGE` on Windows.",
		UserText: "Restart this computer after a short warning. Save your work.",
		Params: []Param{
			{Name: "delay_minutes", Title: "Delay (minutes)", Kind: KindInt, Default: "10", Min: 1, Max: 24 * 60},
			{Name: "message", Title: "Message to the user", Kind: KindString, MaxLen: 200,
				Default: "Your IT team will restart this computer to finish a repair. Please save your work."},
		},
		Consent: true, Disruptive: true, Verify: []string{"pending-reboot", "uptime-long"},
	},
	{
		ID: EmptyTrash, Title: "Empty the trash", Tier: TierSelfHelp, OSes: allOSes, TimeoutSec: 300,
		Description: "Deletes everything in one user's trash: ~/.local/share/Trash (its files, info and expunged folders) on Linux, " +
			"~/.Trash on macOS, the user's $Recycle.Bin\\SID folder on every drive on Windows. Done in the agent, without running a " +
			"command; nothing outside the trash is touched (symlinks are removed, never followed; other filesystems mounted inside are " +
			"left alone). Whose: the user who asked, else the named user, else the user at the screen.",
		UserText: "Permanently delete the files in your trash (Recycle Bin) to free disk space. They cannot be restored afterwards.",
		Params:   []Param{userParam},
		Consent:  true,
		Verify:   []string{"disk-almost-full"},
	},
	{
		ID: ClearUserCaches, Title: "Clear a user's caches", Tier: TierSelfHelp, OSes: allOSes, TimeoutSec: 300,
		Description: "Deletes one user's cache folders, which programs rebuild as needed: ~/.cache on Linux, ~/Library/Caches on macOS, " +
			"%LOCALAPPDATA%\\Temp and the Chrome, Edge and Firefox cache folders on Windows. Done in the agent; nothing outside " +
			"those folders is touched, symlinks are never followed, other filesystems are left alone, files in use are skipped. " +
			"Whose: as empty-trash.",
		UserText: "Delete the cached copies programs keep to speed themselves up, to free disk space. Programs and web pages may " +
			"open a little slower the first time afterwards; no documents are deleted.",
		Params: []Param{userParam},
		Verify: []string{"disk-almost-full"},
	},
	{
		ID: VacuumJournals, Title: "Trim the system logs", Tier: TierHelpDesk, OSes: []string{Linux}, TimeoutSec: 300,
		Description: "Shrinks the systemd journal to a bound: `journalctl --rotate`, then `journalctl --vacuum-size=MAXM --vacuum-time=DAYSd` " +
			"(the live journal is archived first, then archives beyond the bound are deleted, oldest first), then deletes rotated " +
			"logs in /var/log (`*.1`, `*.gz`, `*-20261201`, ...) older than DAYS days. Live logs are never touched. " +
			"Not applicable without systemd's journal.",
		UserText: "Delete old system log files to free disk space. Recent logs are kept.",
		Params: []Param{
			{Name: "max_mib", Title: "Journal size to keep (MiB)", Kind: KindInt, Default: "200", Min: 16, Max: 1 << 20},
			{Name: "days", Title: "Days of logs to keep", Kind: KindInt, Default: "14", Min: 1, Max: 3650},
		},
		Verify: []string{"disk-almost-full"},
	},
	{
		ID: EnableInterface, Title: "Switch a network adapter back on", Tier: TierSelfHelp, OSes: allOSes, TimeoutSec: 60, SettleSec: 3,
		Description: "Switches on a wired or Wi-Fi adapter of this computer that is switched off (administratively down): " +
			"`ip link set dev IF up` (or `networkctl up IF`) on Linux, `netsh interface set interface name=IF admin=enabled` " +
			"on Windows, `ifconfig IF up` on macOS. The name must be one of the computer's own adapters; empty switches on " +
			"every one that is off. Interfaces that software makes for itself (container bridges, veths, tunnels) are left alone.",
		UserText: "Switch your network connection back on when it has been turned off.",
		Params: []Param{{Name: "interface", Title: "Network adapter", Kind: KindString, Pattern: interfaceNamePattern, MaxLen: 64,
			Help: "the adapter's name (eth0, wlan0, Wi-Fi); empty switches on every adapter of this computer that is off"}},
		Verify: []string{"network-interface", "default-route"},
	},
	{
		ID: InstallSoftware, Title: "Install software from the catalog", Tier: TierSelfHelp, OSes: allOSes, TimeoutSec: 900,
		Description: "Installs one entry of the organisation's signed software catalog (docs/software.md) with the OS's package " +
			"manager: apt-get or dnf on Linux, winget on Windows, Homebrew on macOS, with a command fixed per manager; the " +
			"package database is read afterwards to verify the package is installed at the entry's version. An entry not " +
			"signed by the organisation's pinned key, or not published to the device's group, is refused.",
		UserText: "Install a program your organisation offers for you to install yourself.",
		Params: []Param{{Name: "entry", Title: "Catalog entry", Kind: KindString, Required: true, Pattern: `[a-z0-9][a-z0-9-]{0,63}`,
			Help: "the id of an entry of the signed software catalog published to this device's group"}},
	},
}

var byID = map[string]*Fix{}

func init() {
	for i := range fixes {
		f := &fixes[i]
		if _, dup := byID[f.ID]; dup {
			panic("catalog: duplicate fix id " + f.ID)
		}
		for j := range f.Params {
			p := &f.Params[j]
			if p.Pattern != "" {
				p.re = newPattern(p.Pattern)
			}
		}
		byID[f.ID] = f
	}
}

// All returns every fix, in catalog order. The slice is a copy.
func All() []Fix { return slices.Clone(fixes) }

// Get returns the fix with the given id.
func Get(id string) (Fix, bool) {
	f, ok := byID[id]
	if !ok {
		return Fix{}, false
	}
	return *f, true
}

// For returns the fixes implemented for goos.
func For(goos string) []Fix {
	var out []Fix
	for _, f := range fixes {
		if f.Supports(goos) {
			out = append(out, f)
		}
	}
	return out
}

// IDs returns the ids of fixes.
func IDs(fs []Fix) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.ID
	}
	return out
}

// ParamError says which parameter of a request is wrong and why.
type ParamError struct {
	Param  string
	Reason string
}

func (e *ParamError) Error() string {
	if e.Param == "" {
		return "parameters: " + e.Reason
	}
	return fmt.Sprintf("parameter %q: %s", e.Param, e.Reason)
}

// Validate checks params against the fix's declared parameters and returns
// them with defaults filled in. Unknown names, missing required values,
// values of the wrong type, out of range, too long, not matching the
// pattern or holding control characters are refused with a *ParamError.
func (f Fix) Validate(params map[string]string) (map[string]string, error) {
	if len(params) > MaxParams {
		return nil, &ParamError{Reason: fmt.Sprintf("%d parameters; at most %d", len(params), MaxParams)}
	}
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if _, ok := f.Param(k); !ok {
			return nil, &ParamError{Param: clip(k), Reason: "not a parameter of " + f.ID}
		}
	}
	out := make(map[string]string, len(f.Params))
	for _, p := range f.Params {
		v, given := params[p.Name]
		if !given || v == "" {
			if p.Required {
				return nil, &ParamError{Param: p.Name, Reason: "required"}
			}
			if p.Default == "" {
				continue
			}
			v = p.Default
		}
		if err := p.check(v); err != nil {
			return nil, &ParamError{Param: p.Name, Reason: err.Error()}
		}
		out[p.Name] = v
	}
	if f.ID == EndProcess && (out["name"] == "") == (out["pid"] == "") {
		return nil, &ParamError{Reason: "give exactly one of name and pid"}
	}
	return out, nil
}

func (p Param) check(v string) error {
	max := p.MaxLen
	if max <= 0 || max > MaxParamLen {
		max = MaxParamLen
	}
	if len(v) > max {
		return fmt.Errorf("%d bytes; at most %d", len(v), max)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("not valid UTF-8")
	}
	for _, r := range v {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return fmt.Errorf("contains a control character")
		}
	}
	switch p.Kind {
	case KindString:
		var re *regexp.Regexp
		switch {
		case p.re != nil:
			re = p.re.compiled()
		case p.Pattern != "":
			// A parameter declared outside this file (a signed recipe's):
			// CheckDecl has vouched for the pattern.
			var err error
			if re, err = compilePattern(p.Pattern); err != nil {
				return err
			}
		}
		if re != nil && !re.MatchString(v) {
			return fmt.Errorf("%q does not match %s", clip(v), p.Pattern)
		}
	case KindInt:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", clip(v))
		}
		if n < p.Min || n > p.Max {
			return fmt.Errorf("%d is outside %d..%d", n, p.Min, p.Max)
		}
	case KindEnum:
		if !slices.Contains(p.Enum, v) {
			return fmt.Errorf("%q is not one of %v", clip(v), p.Enum)
		}
	default:
		return fmt.Errorf("unknown kind %q", p.Kind)
	}
	return nil
}

// Int returns an int parameter of already validated params.
func Int(params map[string]string, name string) int64 {
	n, _ := strconv.ParseInt(params[name], 10, 64)
	return n
}

func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:64] + "…"
}

// compilePattern anchors a parameter pattern to the whole value.
func compilePattern(pattern string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(`\A(?:` + pattern + `)\z`)
	if err != nil {
		return nil, fmt.Errorf("pattern %q does not compile: %v", clip(pattern), err)
	}
	return re, nil
}

// CheckDecl checks a parameter declared outside the compiled catalog (a
// signed recipe's) the way the catalog's own are: a name of lowercase
// letters, digits and '_', a known kind, a pattern that compiles, a range
// with Min <= Max, a non-empty enum, lengths within MaxParamLen, and a
// default that passes the parameter's own rules.
func (p Param) CheckDecl() error {
	if p.Name == "" || len(p.Name) > 64 {
		return fmt.Errorf("parameter name must be 1 to 64 characters")
	}
	for _, r := range p.Name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return fmt.Errorf("parameter name %q: only a-z, 0-9 and _", clip(p.Name))
		}
	}
	if len(p.Title) > 200 || len(p.Help) > 1000 {
		return fmt.Errorf("parameter %s: title or help too long (200 and 1000 bytes)", p.Name)
	}
	if p.MaxLen < 0 || p.MaxLen > MaxParamLen {
		return fmt.Errorf("parameter %s: max_len %d is outside 0..%d", p.Name, p.MaxLen, MaxParamLen)
	}
	switch p.Kind {
	case KindString:
		if p.Pattern == "" {
			return fmt.Errorf("parameter %s: a string parameter needs a pattern", p.Name)
		}
		if len(p.Pattern) > 512 {
			return fmt.Errorf("parameter %s: pattern longer than 512 bytes", p.Name)
		}
		if _, err := compilePattern(p.Pattern); err != nil {
			return fmt.Errorf("parameter %s: %v", p.Name, err)
		}
	case KindInt:
		if p.Min > p.Max {
			return fmt.Errorf("parameter %s: min %d is above max %d", p.Name, p.Min, p.Max)
		}
	case KindEnum:
		if len(p.Enum) == 0 || len(p.Enum) > 64 {
			return fmt.Errorf("parameter %s: an enum needs 1 to 64 values", p.Name)
		}
		for _, v := range p.Enum {
			if v == "" || len(v) > MaxParamLen {
				return fmt.Errorf("parameter %s: enum values must be 1 to %d bytes", p.Name, MaxParamLen)
			}
		}
	default:
		return fmt.Errorf("parameter %s: unknown kind %q (string, int or enum)", p.Name, clip(string(p.Kind)))
	}
	if p.Default != "" {
		if err := p.check(p.Default); err != nil {
			return fmt.Errorf("parameter %s: default: %v", p.Name, err)
		}
	}
	return nil
}

// SameProcessName compares process names as goos does: case-insensitively
// and with an optional .exe on Windows, exactly elsewhere. end-process and
// declarative process checks (shared/policy) match names with it.
func SameProcessName(goos, have, want string) bool {
	if goos == Windows {
		return strings.EqualFold(strings.TrimSuffix(strings.ToLower(have), ".exe"), strings.TrimSuffix(strings.ToLower(want), ".exe"))
	}
	return have == want
}
