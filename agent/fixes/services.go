package fixes

import (
	"fmt"
	"slices"

	"github.com/tierline/tierline/agent/svcmgr"
)

// builtinServices are the services restart-service may restart on each OS
// without any policy: the ones whose restart is a routine support step and
// cannot take the machine's management away.
var builtinServices = map[string][]string{
	"linux": {"cups", "NetworkManager", "systemd-resolved", "systemd-timesyncd", "chronyd", "chrony", "sssd", "nscd",
		"avahi-daemon", "bluetooth"},
	"windows": {"Spooler", "Dnscache", "W32Time", "Dhcp", "WlanSvc", "BITS", "wuauserv", "AudioSrv"},
	"darwin":  {"org.cups.cupsd", "com.apple.mDNSResponder", "com.apple.timed", "com.apple.bluetoothd"},
}

// BuiltinServices returns the built-in restart-service allow-list for goos.
func BuiltinServices(goos string) []string { return slices.Clone(builtinServices[goos]) }

// AllowedServices returns the services restart-service may restart on
// goos under p: the built-in list, the policy's allow_services and, unless
// the policy forbids it, the services the admin watches.
func AllowedServices(goos string, p Policy) []string {
	out := append(BuiltinServices(goos), p.AllowServices...)
	if !p.ForbidWatched {
		out = append(out, p.Watched...)
	}
	return slices.DeleteFunc(out, func(s string) bool { return serviceForbidden(s, goos, p) })
}

// serviceAllowed reports whether name may be restarted on goos under p,
// comparing names as the OS's service manager does.
func serviceAllowed(name, goos string, p Policy) bool {
	if serviceForbidden(name, goos, p) {
		return false
	}
	return slices.ContainsFunc(AllowedServices(goos, p), func(s string) bool { return svcmgr.SameName(goos, s, name) })
}

// watchedNote says how watched services figure in p's allow-list.
func watchedNote(p Policy) string {
	switch {
	case p.ForbidWatched:
		return "not the watched services (rule \"restart_watched_services\": false)"
	case len(p.Watched) == 0:
		return "the watched services (none)"
	}
	return fmt.Sprintf("the watched services %v", p.Watched)
}

// serviceForbidden reports whether p's forbid_services names name.
func serviceForbidden(name, goos string, p Policy) bool {
	return slices.ContainsFunc(p.ForbidServices, func(s string) bool { return svcmgr.SameName(goos, s, name) })
}
