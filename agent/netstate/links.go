package netstate

import (
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

// Link is one network interface as the kernel sees it: whether it is
// switched on (administratively up), whether it has a link (carrier: a
// cable plugged in, a Wi-Fi network joined), and what kind it is.
type Link struct {
	Name      string
	AdminUp   bool
	Carrier   bool
	OperState string // Linux's operstate (up, down, dormant, lowerlayerdown, unknown); empty elsewhere
	Wireless  bool
	// Physical: backed by a device (not a bridge, veth, tunnel or other
	// software interface).
	Physical bool
}

// Interface flags in /sys/class/net/IFACE/flags.
const (
	iffUp       = 0x1 // IFF_UP: switched on
	iffLoopback = 0x8 // IFF_LOOPBACK
)

// ReadLinks lists the interfaces other than loopback: on Linux from one
// netlink dump for the running system (root "" or "/") and from
// /sys/class/net under any other root (a test's tree), elsewhere from the
// interface flags Go reads (FlagUp, FlagRunning), without kinds.
func ReadLinks(root string) ([]Link, error) {
	if runtime.GOOS == "linux" {
		if root == "" || root == "/" {
			if ls, err := liveLinks(); err == nil {
				return ls, nil
			}
		}
		return readSysLinks(root)
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var out []Link
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 {
			continue
		}
		out = append(out, Link{Name: i.Name, AdminUp: i.Flags&net.FlagUp != 0, Carrier: i.Flags&net.FlagRunning != 0, Physical: true})
	}
	return out, nil
}

func readSysLinks(root string) ([]Link, error) {
	dir := filepath.Join(root, "/sys/class/net")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []Link
	for _, e := range ents {
		name := e.Name()
		p := filepath.Join(dir, name)
		read := func(f string) string {
			b, err := os.ReadFile(filepath.Join(p, f))
			if err != nil {
				return ""
			}
			return strings.TrimSpace(string(b))
		}
		flags := read("flags")
		if f, err := strconv.ParseUint(strings.TrimPrefix(flags, "0x"), 16, 32); err != nil || f&iffLoopback != 0 {
			continue // not an interface (bonding_masters), or loopback
		}
		out = append(out, ParseSysLink(name, flags, read("carrier"), read("operstate"),
			exists(filepath.Join(p, "wireless")) || exists(filepath.Join(p, "phy80211")),
			exists(filepath.Join(p, "device"))))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ParseSysLink makes a Link from the sysfs attributes of one interface:
// flags ("0x1003"), carrier ("1", "0", or empty when the interface is down
// and the kernel refuses to say) and operstate.
func ParseSysLink(name, flags, carrier, operstate string, wireless, physical bool) Link {
	l := Link{Name: name, OperState: operstate, Wireless: wireless, Physical: physical}
	if f, err := strconv.ParseUint(strings.TrimPrefix(flags, "0x"), 16, 32); err == nil {
		l.AdminUp = f&iffUp != 0
	}
	l.Carrier = l.AdminUp && (carrier == "1" || carrier == "" && operstate == "up")
	return l
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// softwareLinks are name prefixes of interfaces that software makes and
// leaves down or unplugged as a matter of course (container bridges and
// veths, the kernel's idle tunnel devices); their state says nothing about
// this computer's network, and the program that made them switches them on.
var softwareLinks = []string{"docker", "br-", "virbr", "veth", "lxcbr", "lxdbr", "cni", "flannel", "cali", "vxlan",
	"kube", "vnet", "dummy", "sit", "tunl", "ip6tnl", "ip6gre", "ip_vti", "ip6_vti", "gre", "gretap", "erspan", "nlmon", "ifb"}

// Own reports whether l is one of this computer's own network links (a
// wired or Wi-Fi adapter, or the one interface a virtual machine or
// container is given), not an interface software made for itself.
func (l Link) Own() bool {
	if l.Physical {
		return true
	}
	for _, p := range softwareLinks {
		if strings.HasPrefix(l.Name, p) {
			return false
		}
	}
	return true
}

// netsh's words for an adapter's admin state and connection state, in
// the display languages the agent knows (English, German, French,
// Spanish). A line in any other words is skipped, not guessed at.
var (
	netshEnabled   = []string{"Enabled", "Aktiviert", "Activé", "Habilitado"}
	netshDisabled  = []string{"Disabled", "Deaktiviert", "Désactivé", "Deshabilitado"}
	netshConnected = []string{"Connected", "Verbunden", "Connecté", "Conectado"}
)

// ParseNetshInterfaces parses `netsh interface show interface`: a header,
// a line of dashes, then "Admin State  State  Type  Interface Name" rows
// whose last column (the name) may hold spaces. Unlike the interface list
// Windows gives programs, it includes the adapters that are disabled.
func ParseNetshInterfaces(out string) []Link {
	var links []Link
	rows := false
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimRight(line, "\r ")
		if strings.HasPrefix(line, "---") {
			rows = true
			continue
		}
		f := strings.Fields(line)
		if !rows || len(f) < 4 {
			continue
		}
		var up bool
		switch {
		case contains(netshEnabled, f[0]):
			up = true
		case contains(netshDisabled, f[0]):
		default:
			continue
		}
		// The name is the rest of the line after the third column, spaces
		// and all.
		rest := line
		for i := 0; i < 3; i++ {
			rest = strings.TrimLeft(rest, " \t")
			rest = rest[strings.IndexAny(rest+" ", " \t"):]
		}
		name := strings.TrimSpace(rest)
		if name == "" || strings.EqualFold(f[2], "Loopback") {
			continue
		}
		links = append(links, Link{Name: name, AdminUp: up, Carrier: up && contains(netshConnected, f[1]), Physical: true,
			Wireless: strings.Contains(strings.ToLower(name), "wi-fi") || strings.Contains(strings.ToLower(name), "wlan")})
	}
	return links
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
