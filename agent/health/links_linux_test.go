package health

import (
	"context"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/tierline/tierline/agent/execx/nstest"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

// TestLinksFixtures runs network-interface on recorded /sys/class/net trees.
func TestLinksFixtures(t *testing.T) {
	tests := []struct {
		dir      string
		status   diag.Status
		fix      string
		summary  string
		evidence map[string]string // label → part of the value
	}{
		{"laptop-wifi", diag.StatusOK, "", "Connected through wlp2s0.",
			map[string]string{"enp0s31f6": "no link: no cable", "wlp2s0": "Wi-Fi: switched on, link up (up)"}},
		{"switched-off", diag.StatusFailing, catalog.EnableInterface, "The network adapter eth0 is switched off",
			map[string]string{"eth0": "switched off, administratively down (down)"}},
		{"unplugged", diag.StatusFailing, "", "plug in the network cable or join a Wi-Fi network (eth0, wlan0)",
			map[string]string{"wlan0": "Wi-Fi: switched on, not connected to a network (dormant)"}},
		{"container", diag.StatusOK, "", "Connected through host0.", map[string]string{"host0": "virtual: switched on, link up"}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			c := defaults(t)
			c.Root = "testdata/links/" + tt.dir
			got := checkLinks(context.Background(), newLinkReader(c.Root))
			if got.Status != tt.status || got.Fix != tt.fix || !strings.Contains(got.Summary, tt.summary) {
				t.Errorf("got %s %q %q, want %s %q ~%q", got.Status, got.Fix, got.Summary, tt.status, tt.fix, tt.summary)
			}
			for l, v := range tt.evidence {
				if !hasEvidence(got, l, v) {
					t.Errorf("no evidence %s ~ %q in %+v", l, v, got.Evidence)
				}
			}
			for _, e := range got.Evidence {
				if e.Label == "lo" || e.Label == "docker0" || e.Label == "sit0" || e.Label == "bonding_masters" {
					t.Errorf("evidence names %s: %+v", e.Label, e)
				}
			}
		})
	}
}

// TestLinkDownReal switches a real interface off in a network namespace of
// its own and sees network-interface say so (not merely "no route"). It
// needs root; the test re-runs itself under unshare with its own /sys.
func TestLinkDownReal(t *testing.T) {
	if nstest.Reexec(t, "--net", "--mount", "--propagation", "private") {
		linkDownInNetns(t)
	}
}

func linkDownInNetns(t *testing.T) {
	if err := syscall.Mount("sysfs", "/sys", "sysfs", 0, ""); err != nil {
		t.Fatalf("mount this namespace's sysfs: %v", err)
	}
	ip := func(args ...string) {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	// A veth pair: eth7 has a link while its far end (veth-far, a name
	// the check leaves out as a software interface) is up.
	ip("link", "add", "eth7", "type", "veth", "peer", "name", "veth-far")
	ip("link", "set", "veth-far", "up")
	ip("link", "set", "eth7", "up")
	c := defaults(t)
	if got := checkLinks(context.Background(), newLinkReader(c.Root)); got.Status != diag.StatusOK || !hasEvidence(got, "eth7", "link up") || len(got.Evidence) != 1 {
		t.Fatalf("eth7 up: %+v", got)
	}
	ip("link", "set", "veth-far", "down")
	if got := checkLinks(context.Background(), newLinkReader(c.Root)); got.Status != diag.StatusFailing || got.Fix != "" || !hasEvidence(got, "eth7", "no link") {
		t.Fatalf("eth7's far end down: %+v", got)
	}
	ip("link", "set", "veth-far", "up")
	ip("link", "set", "eth7", "down")
	got := checkLinks(context.Background(), newLinkReader(c.Root))
	if got.Status != diag.StatusFailing || got.Fix != catalog.EnableInterface || !hasEvidence(got, "eth7", "switched off") ||
		!strings.Contains(got.Summary, "eth7 is switched off") {
		t.Fatalf("eth7 down: %+v", got)
	}
}
