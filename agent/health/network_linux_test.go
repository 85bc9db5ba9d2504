package health

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

// TestCheckRouteReadsRoot runs default-route on a /proc tree under Root.
func TestCheckRouteReadsRoot(t *testing.T) {
	c := defaults(t)
	c.Root = t.TempDir()
	got := checkRoute(context.Background(), c)
	if got.Status != diag.StatusUnknown || got.Summary != "Could not read the routing table." {
		t.Errorf("no /proc/net/route: %+v", got)
	}
	if err := os.MkdirAll(filepath.Join(c.Root, "proc/net"), 0o755); err != nil {
		t.Fatal(err)
	}
	table := "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
		"enp0s31f6\t0000000A\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n"
	if err := os.WriteFile(filepath.Join(c.Root, "proc/net/route"), []byte(table), 0o644); err != nil {
		t.Fatal(err)
	}
	got = checkRoute(context.Background(), c)
	if got.Status != diag.StatusFailing || got.Fix != catalog.RenewDHCP || len(got.Evidence) != 1 || got.Evidence[0].Value != "1, none default" {
		t.Errorf("LAN route only: %+v", got)
	}
}
