package inventory

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tierline/tierline/shared/diag"
)

// The update readers below are pure: they take what the package manager or
// update service printed (or a file's text) and return what it says. The
// per-OS fillUpdates runs the commands, at inventory time only.

// ParseAptSimulate reads the output of `apt-get -s dist-upgrade` (the
// simulation needs no lock and changes nothing): one "Inst" line per
// package to upgrade or install, e.g.
//
//	Inst libssl3 [3.0.11-1~deb12u1] (3.0.11-1~deb12u2 Debian-Security:12/stable-security [amd64])
//
// An update is a security one when one of the archives it comes from is a
// security suite (Debian's stable-security, Ubuntu's jammy-security).
func ParseAptSimulate(out string) []diag.PendingUpdate {
	var ups []diag.PendingUpdate
	for _, line := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), "Inst ")
		if !ok {
			continue
		}
		name, rest, _ := strings.Cut(rest, " ")
		if name == "" {
			continue
		}
		u := diag.PendingUpdate{Name: name}
		if i := strings.IndexByte(rest, '('); i >= 0 {
			inner := rest[i+1:]
			if j := strings.LastIndexByte(inner, ')'); j >= 0 {
				inner = inner[:j]
			}
			f := strings.Fields(inner)
			if len(f) > 0 {
				u.Version = f[0]
			}
			for _, origin := range f[1:] {
				// Origins are "Label:Version/suite", comma-separated when a
				// version is in several archives.
				for _, o := range strings.Split(origin, ",") {
					if strings.Contains(strings.ToLower(o), "-security") || strings.HasPrefix(o, "Debian-Security:") {
						u.Security = true
					}
				}
			}
		}
		ups = append(ups, u)
	}
	return ups
}

// ParseAptHistory returns the end of the last apt run in
// /var/log/apt/history.log text that upgraded or installed packages without
// an error (the caller passes the file's tail: blocks are read whole
// between blank lines, a cut first block is skipped by its missing
// Start-Date).
func ParseAptHistory(text string) time.Time {
	var last time.Time
	for _, block := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		var start, end string
		changed, failed := false, false
		for _, line := range strings.Split(block, "\n") {
			k, v, ok := strings.Cut(line, ": ")
			if !ok {
				continue
			}
			switch k {
			case "Start-Date":
				start = v
			case "End-Date":
				end = v
			case "Upgrade", "Install":
				changed = true
			case "Error":
				failed = true
			}
		}
		if start == "" || end == "" || !changed || failed {
			continue
		}
		// apt writes local time without a zone: "2026-11-30  06:25:13".
		t, err := time.ParseInLocation("2006-01-02 15:04:05", strings.Join(strings.Fields(end), " "), time.Local)
		if err == nil && t.After(last) {
			last = t
		}
	}
	return last
}

// ParseAptPeriodic reads APT::Periodic settings from the text of the files
// in /etc/apt/apt.conf.d (concatenated in file name order: a later file
// overrides an earlier one) and says what installs itself: "security"
// when unattended-upgrades runs (its default origins are the security
// suites; "all" when its Origins-Pattern also takes the -updates suite),
// "download" when upgrades are only downloaded, "off" otherwise.
func ParseAptPeriodic(conf string) (automatic, detail string) {
	vals := map[string]string{}
	allOrigins := false
	for _, line := range strings.Split(conf, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "//") || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.Contains(line, "-updates") && strings.Contains(line, "origin=") {
			allOrigins = true
		}
		k, v, ok := strings.Cut(line, " ")
		if !ok || !strings.HasPrefix(k, "APT::Periodic::") {
			continue
		}
		v = strings.Trim(strings.TrimSuffix(strings.TrimSpace(v), ";"), `"`)
		vals[strings.TrimPrefix(k, "APT::Periodic::")] = v
	}
	on := func(k string) bool { n, err := strconv.Atoi(vals[k]); return err == nil && n > 0 }
	switch {
	case on("Unattended-Upgrade") && allOrigins:
		return "all", "APT::Periodic::Unattended-Upgrade is on and unattended-upgrades also takes the -updates suite"
	case on("Unattended-Upgrade"):
		return "security", "APT::Periodic::Unattended-Upgrade is on (unattended-upgrades installs security updates)"
	case on("Download-Upgradeable-Packages"):
		return "download", "APT::Periodic::Download-Upgradeable-Packages is on; nothing installs itself"
	default:
		return "off", "APT::Periodic::Unattended-Upgrade is off or not set"
	}
}

// ParseDnfCheckUpdate reads `dnf -q -C check-update` (exit status 100
// when updates are pending): "name.arch  version  repo" lines; obsoleting
// packages and the blank line before them are skipped.
func ParseDnfCheckUpdate(out string) []diag.PendingUpdate {
	var ups []diag.PendingUpdate
	seen := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.HasPrefix(line, "Obsoleting") {
			break
		}
		f := strings.Fields(line)
		if len(f) != 3 || strings.HasPrefix(line, " ") || !strings.Contains(f[0], ".") {
			continue
		}
		name := f[0][:strings.LastIndexByte(f[0], '.')]
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		ups = append(ups, diag.PendingUpdate{Name: name, Version: f[1]})
	}
	return ups
}

// ParseDnfSecurity reads `dnf -q -C updateinfo list --updates security`:
// "ADVISORY  Severity/Sec.  name-version-release.arch" lines. It returns
// the package names (without version and arch) that a security advisory
// updates.
func ParseDnfSecurity(out string) map[string]bool {
	names := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || !strings.Contains(f[1], "Sec") {
			continue
		}
		nevra := f[2]
		// Drop .arch, then -release and -version.
		if i := strings.LastIndexByte(nevra, '.'); i > 0 {
			nevra = nevra[:i]
		}
		for range 2 {
			if i := strings.LastIndexByte(nevra, '-'); i > 0 {
				nevra = nevra[:i]
			}
		}
		names[nevra] = true
	}
	return names
}

// ParseDnfAutomatic reads /etc/dnf/automatic.conf: apply_updates and
// upgrade_type in [commands]. timerOn says whether dnf-automatic's timer
// is enabled (without it the file does nothing).
func ParseDnfAutomatic(conf string, timerOn bool) (automatic, detail string) {
	section, apply, download, kind := "", false, false, "default"
	for _, line := range strings.Split(conf, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			section = strings.Trim(line, "[]")
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || section != "commands" {
			continue
		}
		v = strings.ToLower(strings.TrimSpace(v))
		yes := v == "yes" || v == "true" || v == "1" || v == "on"
		switch strings.TrimSpace(k) {
		case "apply_updates":
			apply = yes
		case "download_updates":
			download = yes
		case "upgrade_type":
			kind = v
		}
	}
	switch {
	case !timerOn:
		return "off", "the dnf-automatic timer is not enabled"
	case apply && kind == "security":
		return "security", "dnf-automatic applies security updates"
	case apply:
		return "all", "dnf-automatic applies all updates"
	case download:
		return "download", "dnf-automatic downloads updates; nothing installs itself"
	default:
		return "off", "dnf-automatic only reports updates"
	}
}

// ParseDnfHistory reads `dnf -q history list` and returns the time of the
// newest transaction that upgraded or installed packages ("U", "I" or
// "Upgrade"/"Install" in the Action(s) column):
//
//	ID | Command line             | Date and time    | Action(s)      | Altered
//	12 | upgrade -y               | 2026-11-28 06:02 | Upgrade        |   14
func ParseDnfHistory(out string) time.Time {
	var last time.Time
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, "|")
		if len(f) < 5 {
			continue
		}
		if _, err := strconv.Atoi(strings.TrimSpace(f[0])); err != nil {
			continue
		}
		act := strings.TrimSpace(f[3])
		ok := strings.Contains(act, "Upgrade") || strings.Contains(act, "Install")
		for _, a := range strings.Split(act, ",") {
			a = strings.TrimSpace(a)
			ok = ok || a == "U" || a == "I"
		}
		if !ok {
			continue
		}
		t, err := time.ParseInLocation("2006-01-02 15:04", strings.TrimSpace(f[2]), time.Local)
		if err == nil && t.After(last) {
			last = t
		}
	}
	return last
}

// wuaResult is the JSON the agent's Windows Update Agent query prints
// (see WindowsUpdateQuery).
type wuaResult struct {
	Updates []struct {
		Title      string   `json:"title"`
		KB         string   `json:"kb"`
		Severity   string   `json:"severity"`
		Categories []string `json:"categories"`
		Published  string   `json:"published"`
	} `json:"updates"`
	LastSuccess       string `json:"last_success"`
	LastSearch        string `json:"last_search"`
	NotificationLevel int    `json:"notification_level"`
	PolicyAUOptions   int    `json:"policy_au_options"`
	PolicyNoAuto      int    `json:"policy_no_auto_update"`
}

// WindowsUpdateQuery is the PowerShell the agent runs on Windows: it asks
// the Windows Update Agent (against its local cache, so it does not
// download) for updates not installed, the newest successful installation
// in the update history and the automatic-update settings, and prints
// them as JSON for ParseWindowsUpdates.
const WindowsUpdateQuery = `$ErrorActionPreference='Stop'
$s = New-Object -ComObject Microsoft.Update.Session
$q = $s.CreateUpdateSearcher(); $q.Online = $false
$r = $q.Search("IsInstalled=0 and IsHidden=0 and Type='Software'")
$ups = @(); foreach ($u in $r.Updates) { $ups += [ordered]@{ title=$u.Title; kb=(@($u.KBArticleIDs) -join ','); severity=[string]$u.MsrcSeverity; categories=@($u.Categories | ForEach-Object { $_.Name }); published=$u.LastDeploymentChangeTime.ToUniversalTime().ToString('o') } }
$last = ''; $n = $q.GetTotalHistoryCount(); if ($n -gt 0) { foreach ($h in $q.QueryHistory(0, [Math]::Min($n, 100))) { if ($h.ResultCode -eq 2 -and $h.Operation -eq 1) { $last = $h.Date.ToUniversalTime().ToString('o'); break } } }
$au = (New-Object -ComObject Microsoft.Update.AutoUpdate)
$p = Get-ItemProperty -Path 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate\AU' -ErrorAction SilentlyContinue
[ordered]@{ updates=$ups; last_success=$last; last_search=$au.Results.LastSearchSuccessDate.ToUniversalTime().ToString('o'); notification_level=[int]$au.Settings.NotificationLevel; policy_au_options=[int]$p.AUOptions; policy_no_auto_update=[int]$p.NoAutoUpdate } | ConvertTo-Json -Depth 4 -Compress`

// ParseWindowsUpdates reads WindowsUpdateQuery's JSON. An update is a
// security one when Microsoft rates it (MsrcSeverity) or files it under
// Security Updates; its age counts from its release
// (LastDeploymentChangeTime).
func ParseWindowsUpdates(out string) (diag.UpdateStatus, error) {
	var r wuaResult
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &r); err != nil {
		return diag.UpdateStatus{}, fmt.Errorf("parse Windows Update query: %w", err)
	}
	st := diag.UpdateStatus{Manager: "windows-update"}
	parse := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || t.Year() < 1990 {
			return time.Time{}
		}
		return t.UTC()
	}
	var ups []diag.PendingUpdate
	for _, u := range r.Updates {
		sec := u.Severity != "" || slices.Contains(u.Categories, "Security Updates")
		name := u.Title
		if u.KB != "" && !strings.Contains(name, "KB"+u.KB) {
			name += " (KB" + u.KB + ")"
		}
		ups = append(ups, diag.PendingUpdate{Name: name, Security: sec})
		if p := parse(u.Published); !p.IsZero() {
			if st.OldestPending.IsZero() || p.Before(st.OldestPending) {
				st.OldestPending = p
			}
			if sec && (st.OldestSecurity.IsZero() || p.Before(st.OldestSecurity)) {
				st.OldestSecurity = p
			}
		}
	}
	setPending(&st, ups)
	st.LastSuccess, st.LastCheck = parse(r.LastSuccess), parse(r.LastSearch)
	// The policy, when set, overrides the local setting. AUOptions: 2
	// notify, 3 download, 4 install on a schedule, 5 local admin chooses.
	// NotificationLevel: 1 off, 2 notify, 3 download, 4 install.
	level, from := r.NotificationLevel, "local setting"
	switch {
	case r.PolicyNoAuto == 1:
		level, from = 1, "policy NoAutoUpdate"
	case r.PolicyAUOptions >= 2 && r.PolicyAUOptions <= 4:
		level, from = r.PolicyAUOptions, "policy AUOptions"
	}
	switch level {
	case 1:
		st.Automatic = "off"
	case 2:
		st.Automatic = "off"
		from += ": notify only"
	case 3:
		st.Automatic = "download"
	case 4:
		st.Automatic = "all"
	}
	if st.Automatic != "" {
		st.AutomaticDetail = fmt.Sprintf("%s (level %d)", from, level)
	}
	return st, nil
}

// ParseSoftwareUpdateList reads `softwareupdate -l` on macOS: a "Label:"
// line per update, then its "Title: T, Version: V, Size: S, Recommended:
// YES, Action: restart," line, which is what this reads.
//
// Apple ships security fixes in macOS updates and in Rapid Security
// Responses and security data updates, not as separately rated items, so
// those (and XProtect data) count as security updates; apps (Safari,
// Xcode tools) do not.
func ParseSoftwareUpdateList(out string) []diag.PendingUpdate {
	var ups []diag.PendingUpdate
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "Title:") {
			continue
		}
		fields := map[string]string{}
		for _, kv := range strings.Split(line, ",") {
			k, v, ok := strings.Cut(kv, ":")
			if ok {
				fields[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
		title := fields["Title"]
		if title == "" {
			continue
		}
		lt := strings.ToLower(title)
		sec := strings.HasPrefix(lt, "macos") || strings.Contains(lt, "security") || strings.Contains(lt, "xprotect")
		ups = append(ups, diag.PendingUpdate{Name: title, Version: fields["Version"], Security: sec})
	}
	return ups
}

// ParseSoftwareUpdateSchedule reads `softwareupdate --schedule`:
// "Automatic checking for updates is turned on/off."
func ParseSoftwareUpdateSchedule(out string) (automatic, detail string) {
	switch {
	case strings.Contains(out, "turned on"):
		return "download", "automatic checking for updates is on (softwareupdate --schedule)"
	case strings.Contains(out, "turned off"):
		return "off", "automatic checking for updates is off (softwareupdate --schedule)"
	}
	return "", ""
}

// setPending fills the counts and the bounded package list (security ones
// first) from the pending updates.
func setPending(st *diag.UpdateStatus, ups []diag.PendingUpdate) {
	st.Pending, st.Security = len(ups), 0
	for _, u := range ups {
		if u.Security {
			st.Security++
		}
	}
	sorted := slices.Clone(ups)
	slices.SortStableFunc(sorted, func(a, b diag.PendingUpdate) int {
		switch {
		case a.Security == b.Security:
			return 0
		case a.Security:
			return -1
		default:
			return 1
		}
	})
	st.Packages = sorted[:min(len(sorted), diag.MaxPendingUpdates)]
}

// pendingSince remembers when this agent first saw each pending update
// (by name and version), for package managers that do not say when an
// update was released (apt, dnf, softwareupdate). It lives as long as the
// agent process: after a restart ages count from the restart, so they are
// never overstated.
type pendingSince struct {
	mu    sync.Mutex
	first map[string]time.Time
}

var seenPending = &pendingSince{first: map[string]time.Time{}}

// stamp sets OldestPending and OldestSecurity from when each of ups was
// first seen (now for new ones) and forgets updates no longer pending.
func (p *pendingSince) stamp(st *diag.UpdateStatus, ups []diag.PendingUpdate, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	next := make(map[string]time.Time, len(ups))
	for _, u := range ups {
		k := u.Name + "\x00" + u.Version
		t, ok := p.first[k]
		if !ok {
			t = now.UTC()
		}
		next[k] = t
		if st.OldestPending.IsZero() || t.Before(st.OldestPending) {
			st.OldestPending = t
		}
		if u.Security && (st.OldestSecurity.IsZero() || t.Before(st.OldestSecurity)) {
			st.OldestSecurity = t
		}
	}
	p.first = next
}

// tail returns at most the last n bytes of r's content.
func tail(r io.ReadSeeker, n int64) (string, error) {
	size, err := r.Seek(0, io.SeekEnd)
	if err != nil {
		return "", err
	}
	off := max(0, size-n)
	if _, err := r.Seek(off, io.SeekStart); err != nil {
		return "", err
	}
	b, err := io.ReadAll(io.LimitReader(r, n))
	return string(b), err
}
