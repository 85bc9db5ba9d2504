package fixes

import (
	"slices"
	"strings"
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

// serviceAllowed reports whether name may be restarted on goos under p.
// Windows service names are case-insensitive; unit and launchd names are not.
func serviceAllowed(name, goos string, p Policy) bool {
	for _, s := range append(BuiltinServices(goos), p.AllowServices...) {
		if s == name || goos == "windows" && strings.EqualFold(s, name) {
			return true
		}
		// A systemd unit may be named with or without its .service suffix.
		if goos == "linux" && strings.TrimSuffix(s, ".service") == strings.TrimSuffix(name, ".service") {
			return true
		}
	}
	return false
}
