package daemon

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tierline/tierline/agent/fixes"
	"github.com/tierline/tierline/agent/link"
)

// TestNewRefusesWhatItCannotRun: a policy the agent cannot apply stops it
// before anything else, naming the file; without an identity it says the
// device is not enrolled.
func TestNewRefusesWhatItCannotRun(t *testing.T) {
	dir := t.TempDir()
	if _, err := New(Config{State: dir}); err == nil || !strings.Contains(err.Error(), "not enrolled") {
		t.Fatalf("no identity: %v", err)
	}
	bad := filepath.Join(dir, fixes.PolicyFile)
	if err := os.WriteFile(bad, []byte(`{"disabled": ["run-anything"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{State: dir}); err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("bad policy: %v", err)
	}
}

// TestRevokedIsLinkRevoked: the caller can tell a revoked device by
// link.ErrRevoked whichever way it was stopped.
func TestRevokedIsLinkRevoked(t *testing.T) {
	var err error = &RevokedError{State: "/var/lib/tierline-agent"}
	if !errors.Is(err, link.ErrRevoked) || !strings.Contains(err.Error(), "enroll --force") {
		t.Fatalf("%v", err)
	}
}
