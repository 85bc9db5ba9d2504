package health

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/tierline/tierline/agent/netstate"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

// dhcp-lease reads the lease files the DHCP clients leave (systemd-networkd
// and NetworkManager's internal client: KEY=VALUE files whose lifetime
// counts from the file's time; dhclient: lease blocks with an expiry) and
// says when the lease of a switched-on interface has run out or was not
// renewed in time: the DHCP server is gone and the address with it.

// dhcpLease is one interface's newest lease.
type dhcpLease struct {
	Iface   string
	Address string
	Server  string
	File    string
	Renew   time.Time // when the client should have renewed (T1); zero if unknown
	Expires time.Time
}

// parseNetworkdLease parses a systemd-networkd (or NetworkManager
// internal) lease written at mtime.
func parseNetworkdLease(b []byte, mtime time.Time) (dhcpLease, bool) {
	var l dhcpLease
	sc := bufio.NewScanner(bytes.NewReader(b))
	var life, t1 int64 = -1, -1
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		switch k {
		case "ADDRESS":
			l.Address = v
		case "SERVER_ADDRESS":
			l.Server = v
		case "LIFETIME":
			life, _ = strconv.ParseInt(v, 10, 64)
		case "T1":
			t1, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	if l.Address == "" || life < 0 || life > 1<<31 {
		return l, false
	}
	l.Expires = mtime.Add(time.Duration(life) * time.Second)
	if t1 >= 0 && t1 <= life {
		l.Renew = mtime.Add(time.Duration(t1) * time.Second)
	}
	return l, true
}

// parseDhclientLeases parses a dhclient leases file and returns the last
// lease of each interface.
func parseDhclientLeases(b []byte) []dhcpLease {
	var out []dhcpLease
	var cur *dhcpLease
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSuffix(strings.TrimSpace(line), ";")
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case f[0] == "lease" && strings.HasSuffix(line, "{"):
			cur = &dhcpLease{}
		case cur == nil:
		case f[0] == "}":
			if cur.Iface != "" && cur.Address != "" {
				kept := false
				for i := range out {
					if out[i].Iface == cur.Iface {
						out[i], kept = *cur, true
					}
				}
				if !kept {
					out = append(out, *cur)
				}
			}
			cur = nil
		case f[0] == "interface" && len(f) == 2:
			cur.Iface = strings.Trim(f[1], `"`)
		case f[0] == "fixed-address" && len(f) == 2:
			cur.Address = f[1]
		case f[0] == "option" && len(f) == 3 && f[1] == "dhcp-server-identifier":
			cur.Server = f[2]
		case (f[0] == "expire" || f[0] == "renew") && len(f) >= 3:
			t := dhclientTime(f[1:])
			if f[0] == "expire" {
				cur.Expires = t
			} else {
				cur.Renew = t
			}
		}
	}
	return out
}

// dhclientTime parses "6 2026/12/05 10:00:00" (UTC) or "epoch 1796522400".
func dhclientTime(f []string) time.Time {
	if f[0] == "epoch" {
		if n, err := strconv.ParseInt(f[1], 10, 64); err == nil {
			return time.Unix(n, 0).UTC()
		}
		return time.Time{}
	}
	if len(f) >= 3 {
		if t, err := time.Parse("2006/01/02 15:04:05", f[1]+" "+f[2]); err == nil {
			return t
		}
	}
	return time.Time{}
}

// readLeases finds the newest lease of each interface under root.
func readLeases(root string, ifaceByIndex func(int) string) []dhcpLease {
	newest := map[string]dhcpLease{}
	var order []string
	keep := func(l dhcpLease) {
		old, seen := newest[l.Iface]
		if !seen {
			order = append(order, l.Iface)
		}
		if !seen || l.Expires.After(old.Expires) {
			newest[l.Iface] = l
		}
	}
	// systemd-networkd: one file per interface index.
	files, _ := filepath.Glob(filepath.Join(root, "/run/systemd/netif/leases/*"))
	for _, f := range limit(files, 32) {
		idx, err := strconv.Atoi(filepath.Base(f))
		if err != nil {
			continue
		}
		if l, ok := readKVLease(f); ok {
			if l.Iface = ifaceByIndex(idx); l.Iface != "" {
				keep(l)
			}
		}
	}
	// NetworkManager: internal-UUID-IFACE.lease and dhclient-UUID-IFACE.lease.
	nm, _ := filepath.Glob(filepath.Join(root, "/var/lib/NetworkManager/*.lease"))
	for _, f := range limit(nm, 64) {
		base := strings.TrimSuffix(filepath.Base(f), ".lease")
		iface := base[strings.LastIndex(base, "-")+1:]
		if strings.HasPrefix(base, "internal-") {
			if l, ok := readKVLease(f); ok {
				l.Iface = iface
				keep(l)
			}
			continue
		}
		if b, err := readBounded(f, 256<<10); err == nil {
			for _, l := range parseDhclientLeases(b) {
				l.File = f
				keep(l)
			}
		}
	}
	dh, _ := filepath.Glob(filepath.Join(root, "/var/lib/dhcp/dhclient*.leases"))
	for _, f := range limit(dh, 32) {
		if b, err := readBounded(f, 256<<10); err == nil {
			for _, l := range parseDhclientLeases(b) {
				l.File = f
				keep(l)
			}
		}
	}
	var out []dhcpLease
	for _, i := range order {
		l := newest[i]
		l.File = pathOnMachine(root, l.File)
		out = append(out, l)
	}
	return out
}

// pathOnMachine is file, read under root, as the machine names it:
// "/run/systemd/netif/leases/2" whether root is "/" (the agent) or a
// fixture tree.
func pathOnMachine(root, file string) string {
	if r := filepath.Clean(root); r != "/" && r != "." {
		file = strings.TrimPrefix(file, r)
	}
	return "/" + strings.TrimLeft(file, "/")
}

func readKVLease(f string) (dhcpLease, bool) {
	fi, err := os.Stat(f)
	if err != nil {
		return dhcpLease{}, false
	}
	b, err := readBounded(f, 64<<10)
	if err != nil {
		return dhcpLease{}, false
	}
	l, ok := parseNetworkdLease(b, fi.ModTime())
	l.File = f
	return l, ok
}

func checkDHCP(ctx context.Context, c *Config, lr *linkReader, now time.Time) diag.CheckResult {
	if runtime.GOOS != "linux" {
		return unknown("The DHCP lease check reads Linux's DHCP clients' lease files.")
	}
	links, err := lr.get(ctx)
	if err != nil {
		return unknown("Could not read the network interfaces.", ev("error", "%v", err))
	}
	byIndex := func(i int) string {
		for _, l := range links {
			b, err := os.ReadFile(filepath.Join(c.Root, "/sys/class/net", l.Name, "ifindex"))
			if err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(i) {
				return l.Name
			}
		}
		return ""
	}
	return gradeDHCP(readLeases(c.Root, byIndex), links, now)
}

// gradeDHCP is the pure part of dhcp-lease: only interfaces that are
// switched on count; an old lease of an interface now off is history.
func gradeDHCP(leases []dhcpLease, links []netstate.Link, now time.Time) diag.CheckResult {
	up := map[string]bool{}
	for _, l := range links {
		up[l.Name] = l.AdminUp
	}
	var evidence []diag.Evidence
	var expired, late []string
	for _, l := range leases {
		if !up[l.Iface] {
			continue
		}
		v := fmt.Sprintf("%s from %s", l.Address, orUnknown(l.Server))
		switch {
		case l.Expires.IsZero():
			v += ", expiry unknown"
		case !now.Before(l.Expires):
			v += fmt.Sprintf(", ran out %s ago", now.Sub(l.Expires).Round(time.Minute))
			expired = append(expired, l.Iface)
		default:
			v += fmt.Sprintf(", valid for %s more", l.Expires.Sub(now).Round(time.Minute))
			if !l.Renew.IsZero() && now.Sub(l.Renew) > 10*time.Minute {
				v += fmt.Sprintf("; renewal due %s ago has not happened", now.Sub(l.Renew).Round(time.Minute))
				late = append(late, l.Iface)
			}
		}
		evidence = append(evidence, ev(l.Iface, "%s (%s)", v, l.File))
	}
	switch {
	case len(evidence) == 0:
		return ok("No DHCP lease in use (a fixed address, or a DHCP client whose leases are not read).")
	case len(expired) > 0:
		return result(diag.StatusFailing, catalog.RenewDHCP, "The network address lease on "+strings.Join(expired, ", ")+
			" has run out: the network's DHCP server did not renew it.", evidence...)
	case len(late) > 0:
		return result(diag.StatusWarning, catalog.RenewDHCP, "The network address lease on "+strings.Join(late, ", ")+
			" was not renewed when due: the DHCP server is not answering.", evidence...)
	}
	return ok("The network address leases are current.", evidence...)
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown server"
	}
	return s
}
