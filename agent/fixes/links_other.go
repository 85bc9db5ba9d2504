//go:build !windows

package fixes

import "github.com/tierline/tierline/agent/netstate"

// localLinks are the machine's interfaces: /sys/class/net on Linux, the
// interface flags elsewhere (a switched-off interface is still listed).
func localLinks() []netstate.Link {
	ls, _ := netstate.ReadLinks("/")
	return ls
}
