package netstate

import (
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"unsafe"
)

// iffLowerUp is IFF_LOWER_UP: the kernel sets it in a running interface's
// flags when it has carrier (what /sys/class/net/IFACE/carrier says).
const iffLowerUp = 0x10000

// operStates are the names /sys/class/net/IFACE/operstate gives for the
// values of IFLA_OPERSTATE (RFC 2863 order).
var operStates = []string{"unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up"}

// kinds remembers whether an interface is wireless and backed by a device,
// which do not change while it exists, by name and index (a new interface
// with an old name has a new index).
var kinds = struct {
	sync.Mutex
	m map[linkKey][2]bool
}{m: map[linkKey][2]bool{}}

type linkKey struct {
	name  string
	index int32
}

// liveLinks lists the running system's interfaces from one netlink dump:
// the state sysfs gives in three reads per interface (flags, carrier,
// operstate) comes in one answer; whether it is wireless or a device is
// looked up in /sys/class/net once per interface.
func liveLinks() ([]Link, error) {
	b, err := syscall.NetlinkRIB(syscall.RTM_GETLINK, syscall.AF_UNSPEC)
	if err != nil {
		return nil, fmt.Errorf("netlink link dump: %w", err)
	}
	msgs, err := syscall.ParseNetlinkMessage(b)
	if err != nil {
		return nil, fmt.Errorf("netlink link dump: %w", err)
	}
	kinds.Lock()
	defer kinds.Unlock()
	seen := map[linkKey]bool{}
	var out []Link
	for i := range msgs {
		m := &msgs[i]
		if m.Header.Type != syscall.RTM_NEWLINK || len(m.Data) < syscall.SizeofIfInfomsg {
			continue
		}
		ifi := (*syscall.IfInfomsg)(unsafe.Pointer(&m.Data[0]))
		if ifi.Flags&iffLoopback != 0 {
			continue
		}
		attrs, err := syscall.ParseNetlinkRouteAttr(m)
		if err != nil {
			return nil, fmt.Errorf("netlink link dump: %w", err)
		}
		name, oper := "", "unknown"
		for _, a := range attrs {
			switch {
			case a.Attr.Type == syscall.IFLA_IFNAME && len(a.Value) > 1:
				name = string(a.Value[:len(a.Value)-1]) // NUL-terminated
			case a.Attr.Type == syscall.IFLA_OPERSTATE && len(a.Value) == 1 && int(a.Value[0]) < len(operStates):
				oper = operStates[a.Value[0]]
			}
		}
		if name == "" {
			continue
		}
		carrier := "" // sysfs refuses to say for an interface switched off
		if ifi.Flags&iffUp != 0 {
			carrier = "0"
			if ifi.Flags&iffLowerUp != 0 {
				carrier = "1"
			}
		}
		k := linkKey{name, ifi.Index}
		seen[k] = true
		kind, ok := kinds.m[k]
		if !ok {
			p := filepath.Join("/sys/class/net", name)
			kind = [2]bool{exists(filepath.Join(p, "wireless")) || exists(filepath.Join(p, "phy80211")), exists(filepath.Join(p, "device"))}
			kinds.m[k] = kind
		}
		out = append(out, ParseSysLink(name, fmt.Sprintf("%#x", ifi.Flags), carrier, oper, kind[0], kind[1]))
	}
	for k := range kinds.m {
		if !seen[k] {
			delete(kinds.m, k) // gone: a veth of a container that stopped
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
