package health

import (
	"context"
	"errors"
	"strings"

	"github.com/tierline/tierline/agent/netstate"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

func linkMatters(l netstate.Link) bool { return l.Own() }

func checkLinks(ctx context.Context, lr *linkReader) diag.CheckResult {
	links, err := lr.get(ctx)
	if err != nil {
		if errors.Is(err, errors.ErrUnsupported) {
			return unknown("The network-interface check is not implemented here.")
		}
		return unknown("Could not read the network interfaces.", ev("error", "%v", err))
	}
	return gradeLinks(links)
}

// describeLink says what state a link is in, for evidence.
func describeLink(l netstate.Link) string {
	kind := "wired or virtual"
	switch {
	case l.Wireless:
		kind = "Wi-Fi"
	case !l.Physical:
		kind = "virtual"
	}
	state := ""
	if l.OperState != "" {
		state = " (" + l.OperState + ")"
	}
	switch {
	case !l.AdminUp:
		return kind + ": switched off, administratively down" + state
	case l.Carrier:
		return kind + ": switched on, link up" + state
	case l.Wireless:
		return kind + ": switched on, not connected to a network" + state
	}
	return kind + ": switched on, no link: no cable or nothing at its other end" + state
}

// gradeLinks is the pure part of network-interface.
func gradeLinks(all []netstate.Link) diag.CheckResult {
	var evidence []diag.Evidence
	var usable, off, noLink []string
	for _, l := range all {
		if !linkMatters(l) {
			continue
		}
		evidence = append(evidence, ev(l.Name, "%s", describeLink(l)))
		switch {
		case !l.AdminUp:
			off = append(off, l.Name)
		case l.Carrier:
			usable = append(usable, l.Name)
		default:
			noLink = append(noLink, l.Name)
		}
	}
	switch {
	case len(evidence) == 0:
		return result(diag.StatusFailing, "", "This computer has no network adapter besides its internal loopback.")
	case len(usable) > 0:
		return ok("Connected through "+strings.Join(usable, ", ")+".", evidence...)
	case len(off) > 0:
		return result(diag.StatusFailing, catalog.EnableInterface,
			"The network adapter "+strings.Join(off, ", ")+" is switched off, so this computer has no network.", evidence...)
	}
	return result(diag.StatusFailing, "", "No network adapter has a link: plug in the network cable or join a Wi-Fi network ("+
		strings.Join(noLink, ", ")+").", evidence...)
}
