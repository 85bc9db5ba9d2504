package fixes

import (
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

// serviceAllowed reports whether name may be restarted on goos under p,
// comparing names as the OS's service manager does.
func serviceAllowed(name, goos string, p Policy) bool {
	return slices.ContainsFunc(append(BuiltinServices(goos), p.AllowServices...),
		func(s string) bool { return svcmgr.SameName(goos, s, name) })
}
