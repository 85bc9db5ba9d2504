package fixes

import (
	"context"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/execx/nstest"
	"github.com/tierline/tierline/agent/netstate"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// TestEnableInterfaceReal switches a real interface off in a network
// namespace of its own and has enable-interface, planned from the
// machine's real links and run by the real executor, switch it back on.
// It needs root; the test re-runs itself under unshare with its own /sys.
func TestEnableInterfaceReal(t *testing.T) {
	if nstest.Reexec(t, "--net", "--mount", "--propagation", "private") {
		enableInterfaceInNetns(t)
	}
}

func enableInterfaceInNetns(t *testing.T) {
	if err := syscall.Mount("sysfs", "/sys", "sysfs", 0, ""); err != nil {
		t.Fatalf("mount this namespace's sysfs: %v", err)
	}
	ip := func(args ...string) {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	// eth7 is the computer's own link (a veth under a wired name); its far
	// end, veth-far, is a software interface the fix leaves alone.
	ip("link", "add", "eth7", "type", "veth", "peer", "name", "veth-far")
	ip("link", "set", "veth-far", "up")
	ip("link", "set", "eth7", "down")
	adminUp := func(name string) bool {
		ls, err := netstate.ReadLinks("/")
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			if l.Name == name {
				return l.AdminUp
			}
		}
		t.Fatalf("no link %s in %+v", name, ls)
		return false
	}

	r, _ := newTestRunner(t, t.TempDir(), func(c *Config) {
		c.Exec = &Local{}
		c.Machine = LocalMachine
		// The verification is the real link state, as network-interface
		// reads it (agent/health's own test covers the check).
		c.Verify = func(context.Context, time.Time, ...string) []diag.CheckResult {
			st := diag.StatusFailing
			if adminUp("eth7") {
				st = diag.StatusOK
			}
			return []diag.CheckResult{{Name: "network-interface", Status: st}}
		}
	})

	// Names that are not the machine's own switched-off adapters: nothing runs.
	for _, tc := range []struct{ name, want string }{
		{"eth9", "this computer has no network adapter named eth9 (its adapters: eth7, veth-far)"},
		{"veth-far", "veth-far is an interface that software made for itself"},
	} {
		res := r.Do(context.Background(), req("ei-"+tc.name, catalog.EnableInterface, 0, map[string]string{"interface": tc.name}), nil)
		if res.Outcome != wire.OutcomeNotApplicable || !strings.Contains(res.Reason, tc.want) || len(res.Steps) != 0 {
			t.Fatalf("enable-interface %s: %s %q %+v; want not_applicable %q", tc.name, res.Outcome, res.Reason, res.Steps, tc.want)
		}
	}
	res := r.Do(context.Background(), req("ei-bad", catalog.EnableInterface, 0, map[string]string{"interface": "eth7; reboot"}), nil)
	if res.Outcome != wire.OutcomeRefused || res.Code != wire.RefuseBadParams {
		t.Fatalf("a name with a shell metacharacter: %s %s %q", res.Outcome, res.Code, res.Reason)
	}

	// With no name: every own adapter that is off, here eth7.
	res = r.Do(context.Background(), req("ei-1", catalog.EnableInterface, 0, nil), nil)
	if res.Outcome != wire.OutcomeFixed || len(res.Steps) != 1 || strings.Join(res.Steps[0].Argv, " ") != "ip link set dev eth7 up" {
		t.Fatalf("enable-interface: %s %q %+v; want fixed by ip link set dev eth7 up", res.Outcome, res.Reason, res.Steps)
	}
	if !adminUp("eth7") {
		t.Fatal("eth7 still switched off after the fix")
	}
	res = r.Do(context.Background(), req("ei-2", catalog.EnableInterface, 0, map[string]string{"interface": "eth7"}), nil)
	if res.Outcome != wire.OutcomeNotApplicable || !strings.Contains(res.Reason, "eth7 is already switched on") {
		t.Fatalf("enable-interface on a link that is on: %s %q", res.Outcome, res.Reason)
	}
}
