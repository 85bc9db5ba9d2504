package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tierline/tierline/agent/fixes"
)

func TestFixesCommand(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "policy.json"), []byte(`{"max_tier": 1, "disabled": ["flush-dns"], "allow_services": ["nginx"]}`), 0o600)
	out, errOut := capture(t)
	if code := dispatch(context.Background(), []string{"fixes", "--state", dir, "--json"}); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep fixes.Listing
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.OS != runtime.GOOS || rep.MaxTier != 1 || !strings.HasSuffix(rep.Policy, "policy.json") || rep.AllowServices[len(rep.AllowServices)-1] != "nginx" {
		t.Fatalf("report %+v", rep)
	}
	why := map[string]string{}
	for _, f := range rep.Fixes {
		why[f.ID] = f.Why
		if f.Available == (f.Why != "") {
			t.Errorf("%s: available %v why %q", f.ID, f.Available, f.Why)
		}
	}
	if !strings.Contains(why["flush-dns"], `rule "disabled"`) || !strings.Contains(why["end-process"], `rule "max_tier"`) || why["clear-temp"] != "" {
		t.Fatalf("why %v", why)
	}

	out.Reset()
	if code := dispatch(context.Background(), []string{"fixes", "--state", dir}); code != exitOK || !strings.Contains(out.String(), "restart-service allow-list") {
		t.Fatalf("text: exit %d\n%s", code, out)
	}
}

func TestBadPolicyStopsTheAgent(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "policy.json")
	os.WriteFile(bad, []byte(`{"disabled": ["run-anything"]}`), 0o600)
	for _, cmd := range []string{"run", "fixes"} {
		_, errOut := capture(t)
		code := dispatch(context.Background(), []string{cmd, "--state", dir})
		if code != exitError || !strings.Contains(errOut.String(), bad) || !strings.Contains(errOut.String(), `"run-anything"`) {
			t.Fatalf("%s: exit %d, stderr %q: want 1 and a message naming the file and the problem", cmd, code, errOut)
		}
	}
}
