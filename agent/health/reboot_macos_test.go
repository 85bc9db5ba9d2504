package health

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

func read(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMacPendingReboot(t *testing.T) {
	tests := []struct {
		file   string
		status diag.Status
		text   string
	}{
		{"macos/SoftwareUpdate-pending.plist", diag.StatusWarning, "macOS Sonoma 14.7 14.7"},
		{"macos/SoftwareUpdate-safari-only.plist", diag.StatusOK, "1, none needing a restart"},
		{"macos/SoftwareUpdate-none.plist", diag.StatusOK, "0, none needing a restart"},
	}
	for _, tt := range tests {
		u, err := ParseSoftwareUpdatePlist(read(t, tt.file))
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		got := gradeMacUpdates(u)
		if got.Status != tt.status || len(got.Evidence) == 0 || got.Evidence[0].Value != tt.text {
			t.Errorf("%s: %+v", tt.file, got)
		}
		if tt.status == diag.StatusWarning && got.Fix != catalog.ScheduleReboot {
			t.Errorf("%s: fix %q", tt.file, got.Fix)
		}
	}
	if _, err := ParseSoftwareUpdatePlist([]byte("not a plist")); err == nil {
		t.Error("garbage parsed")
	}
}

func FuzzSoftwareUpdatePlist(f *testing.F) {
	for _, p := range []string{"macos/SoftwareUpdate-pending.plist", "macos/SoftwareUpdate-safari-only.plist"} {
		f.Add(string(read(f, p)))
	}
	f.Fuzz(func(t *testing.T, s string) {
		if u, err := ParseSoftwareUpdatePlist([]byte(s)); err == nil {
			gradeMacUpdates(u)
		}
	})
}
