package netstate

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// The parsers of Linux's /proc/net tables. They are pure and build on every
// OS, so their fixtures are tested everywhere.

// ParseRoutes parses /proc/net/route.
func ParseRoutes(b []byte) ([]Route, error) {
	var out []Route
	sc := bufio.NewScanner(bytes.NewReader(b))
	first := true
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if first {
			first = false
			if len(f) > 0 && f[0] == "Iface" {
				continue
			}
		}
		if len(f) < 8 {
			continue
		}
		dst, err1 := hexIPv4(f[1])
		gw, err2 := hexIPv4(f[2])
		flags, err3 := strconv.ParseUint(f[3], 16, 32)
		metric, err4 := strconv.Atoi(f[6])
		mask, err5 := hexIPv4(f[7])
		if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
			return nil, fmt.Errorf("parse route %q: %w", sc.Text(), err)
		}
		bits := 0
		for _, by := range mask.As4() {
			for i := 7; i >= 0 && by&(1<<i) != 0; i-- {
				bits++
			}
		}
		out = append(out, Route{Iface: f[0], Dest: netip.PrefixFrom(dst, bits), Gateway: gw, Flags: uint32(flags), Metric: metric})
	}
	return out, sc.Err()
}

// hexIPv4 decodes an address as /proc/net/route prints it: 8 hex digits in
// host (little-endian on every Linux we run on) byte order.
func hexIPv4(s string) (netip.Addr, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 4 {
		return netip.Addr{}, fmt.Errorf("bad address %q", s)
	}
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], binary.LittleEndian.Uint32(b))
	return netip.AddrFrom4(a), nil
}

// ParseARP parses /proc/net/arp.
func ParseARP(b []byte) ([]Neighbor, error) {
	var out []Neighbor
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 || f[0] == "IP" {
			continue
		}
		ip, err := netip.ParseAddr(f[0])
		if err != nil {
			return nil, fmt.Errorf("parse arp %q: %w", sc.Text(), err)
		}
		flags, err := strconv.ParseUint(strings.TrimPrefix(f[2], "0x"), 16, 32)
		if err != nil {
			return nil, fmt.Errorf("parse arp flags %q: %w", f[2], err)
		}
		out = append(out, Neighbor{IP: ip, Flags: uint32(flags), HWAddr: f[3], Iface: f[5]})
	}
	return out, sc.Err()
}

// HasIPv6Default reports whether /proc/net/ipv6_route holds a usable
// default route (::/0, up, not a reject route, not on lo).
func HasIPv6Default(b []byte) (iface string, okRoute bool) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[0] != strings.Repeat("0", 32) || f[1] != "00" || f[9] == "lo" {
			continue
		}
		flags, err := strconv.ParseUint(f[8], 16, 32)
		if err != nil || flags&RouteUp == 0 || flags&RouteReject != 0 {
			continue
		}
		return f[9], true
	}
	return "", false
}
