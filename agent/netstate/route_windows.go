package netstate

import (
	"fmt"
	"net"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/windows"
)

// mibIPNetRow2 is MIB_IPNET_ROW2 (netioapi.h), 88 bytes.
type mibIPNetRow2 struct {
	Address               windows.RawSockaddrInet
	InterfaceIndex        uint32
	InterfaceLuid         uint64
	PhysicalAddress       [32]byte
	PhysicalAddressLength uint32
	State                 uint32
	Flags                 uint8
	_                     [3]byte
	ReachabilityTime      uint32
}

// mibIPNetTable2 is MIB_IPNET_TABLE2; its rows start 8 bytes in.
type mibIPNetTable2 struct {
	NumEntries uint32
	_          uint32
	Table      [1]mibIPNetRow2
}

var procGetIPNetTable2 = windows.NewLazySystemDLL("iphlpapi.dll").NewProc("GetIpNetTable2")

// ReadRouteTable reads the routes with GetIpForwardTable2 and the IPv4
// neighbour cache with GetIpNetTable2; root is unused.
func ReadRouteTable(_ string) (Table, error) {
	names := map[uint32]string{}
	ifname := func(idx uint32) string {
		if n, ok := names[idx]; ok {
			return n
		}
		n := fmt.Sprintf("if%d", idx)
		if ifc, err := net.InterfaceByIndex(int(idx)); err == nil {
			n = ifc.Name
		}
		names[idx] = n
		return n
	}
	var ft *windows.MibIpForwardTable2
	if err := windows.GetIpForwardTable2(windows.AF_UNSPEC, &ft); err != nil {
		return Table{}, fmt.Errorf("GetIpForwardTable2: %w", err)
	}
	defer windows.FreeMibTable(unsafe.Pointer(ft))
	t := Table{Source: "GetIpForwardTable2"}
	for _, row := range ft.Rows() {
		if row.Loopback != 0 {
			continue
		}
		dst, ok := rawInetAddr(&row.DestinationPrefix.Prefix)
		if !ok {
			continue
		}
		hop, _ := rawInetAddr(&row.NextHop)
		if dst.Is6() {
			if dst.IsUnspecified() && row.DestinationPrefix.PrefixLength == 0 && !t.V6 {
				t.V6, t.V6Iface = true, ifname(row.InterfaceIndex)
			}
			continue
		}
		r, err := winRoute(ifname(row.InterfaceIndex), dst, int(row.DestinationPrefix.PrefixLength), hop, row.Metric)
		if err != nil {
			continue
		}
		t.Routes = append(t.Routes, r)
	}
	var nt *mibIPNetTable2
	if r, _, _ := procGetIPNetTable2.Call(uintptr(windows.AF_INET), uintptr(unsafe.Pointer(&nt))); r == 0 && nt != nil {
		rows := unsafe.Slice(&nt.Table[0], nt.NumEntries)
		for i := range rows {
			row := &rows[i]
			ip, ok := rawInetAddr(&row.Address)
			if !ok {
				continue
			}
			l := min(int(row.PhysicalAddressLength), len(row.PhysicalAddress))
			t.Neighbors = append(t.Neighbors, winNeighbor(ip, ifname(row.InterfaceIndex), row.PhysicalAddress[:l], row.State))
		}
		windows.FreeMibTable(unsafe.Pointer(nt))
	}
	return t, nil
}

func rawInetAddr(sa *windows.RawSockaddrInet) (netip.Addr, bool) {
	data := (*[24]byte)(unsafe.Pointer(&sa.Data))
	return sockaddrInetAddr(sa.Family, data[:])
}
