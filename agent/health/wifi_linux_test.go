package health

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tierline/tierline/shared/diag"
)

// TestWiFiFixtureRoot reads a laptop's /sys tree with the inventory's
// recorded /proc/net/wireless beside it.
func TestWiFiFixtureRoot(t *testing.T) {
	root := t.TempDir()
	if err := os.CopyFS(root, os.DirFS("testdata/links/laptop-wifi")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../inventory/testdata/wireless/associated")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "proc/net"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "proc/net/wireless"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	c := defaults(t)
	c.Root = root
	got := checkWiFi(context.Background(), c, newLinkReader(c.Root))
	if got.Status != diag.StatusOK || !hasEvidence(got, "signal", "-56 dBm on wlp2s0") {
		t.Errorf("%+v", got)
	}
}
