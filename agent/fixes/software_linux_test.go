package fixes

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/tierline/tierline/shared/software"
)

// TestVerifyPackageReal reads this machine's dpkg database: dpkg itself
// is installed on every Debian; a package that is not is reported so.
func TestVerifyPackageReal(t *testing.T) {
	if _, err := os.Stat("/var/lib/dpkg/status"); err != nil {
		t.Skip("not a dpkg system")
	}
	ctx := context.Background()
	v, ok, err := InstalledVersion(ctx, software.Apt, "dpkg")
	if err != nil || !ok || v == "" {
		t.Fatalf("dpkg: %q %v %v", v, ok, err)
	}
	res := verifyPackage(ctx, map[string]string{"manager": software.Apt, "package": "dpkg", "min_version": "1.0"})
	if res.Err != nil || !strings.Contains(res.Summary, "Verified: dpkg "+v) {
		t.Errorf("verify dpkg: %+v", res)
	}
	res = verifyPackage(ctx, map[string]string{"manager": software.Apt, "package": "dpkg", "min_version": "999"})
	if res.Err == nil || !strings.Contains(res.Err.Error(), "version 999 or later") {
		t.Errorf("verify dpkg >= 999: %+v", res)
	}
	res = verifyPackage(ctx, map[string]string{"manager": software.Apt, "package": "tierline-not-a-package"})
	if res.Err == nil || !strings.Contains(res.Err.Error(), "not in the package database") {
		t.Errorf("verify a missing package: %+v", res)
	}
}
