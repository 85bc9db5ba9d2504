package diagnose

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/testnet"
)

// loopbackResolvers makes the DNS check ask only a loopback resolver:
// tests send nothing off the machine.
func loopbackResolvers(t *testing.T) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(p, []byte("nameserver 127.0.0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TIERLINE_RESOLV_CONF", p)
}

func TestJSONAndExitCode(t *testing.T) {
	loopbackResolvers(t)
	var out, errOut bytes.Buffer
	hub := testnet.ClosedAddr(t)
	code := Main(context.Background(), []string{"--json", "--gap", "200ms", "--hub", hub}, &out, &errOut)
	if code != 1 {
		t.Fatalf("exit %d with an unreachable hub, want 1; stderr: %s", code, errOut.String())
	}
	var rep diag.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("not one JSON document: %v\n%s", err, out.String())
	}
	var raw map[string]json.RawMessage
	json.Unmarshal(out.Bytes(), &raw)
	for _, k := range []string{"inventory", "sample", "checks"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	if rep.Inventory.Hostname == "" || rep.Sample.Memory.Total == 0 || len(rep.Checks) != len(diag.CheckNames) {
		t.Errorf("report incomplete: host %q, mem %d, %d checks", rep.Inventory.Hostname, rep.Sample.Memory.Total, len(rep.Checks))
	}
	found := false
	for _, c := range rep.Checks {
		if c.Name == "hub-reachable" {
			found = true
			// A refused connection is the hub's fault: no network fix.
			if c.Status != diag.StatusFailing || c.Fix != "" {
				t.Errorf("hub-reachable: %+v", c)
			}
		}
	}
	if !found {
		t.Error("no hub-reachable check")
	}
	if _, ok := rep.Sample.Unavailable["network"]; ok {
		t.Errorf("second sample lacks network rates: %v", rep.Sample.Unavailable)
	}
}

func TestTextReport(t *testing.T) {
	t.Setenv("TIERLINE_HUB", "")
	t.Setenv("TIERLINE_WATCH_SERVICES", "")
	loopbackResolvers(t)
	var out, errOut bytes.Buffer
	code := Main(context.Background(), []string{"--gap", "100ms"}, &out, &errOut)
	if code != 0 && code != 1 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"Machine", "Now", "Health checks", "disk-almost-full", "Result:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	// Without a hub, network checks say there is nothing to check.
	if !strings.Contains(out.String(), "No hub configured") {
		t.Errorf("report should say no hub is configured:\n%s", out.String())
	}
}

func TestUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Main(context.Background(), []string{"--bogus"}, &out, &errOut); code != 2 {
		t.Errorf("unknown flag: exit %d, want 2", code)
	}
}

// TestPrintStuckAfterFlag: a bad --print-stuck-after is a usage error that
// names the flag.
func TestPrintStuckAfterFlag(t *testing.T) {
	for _, v := range []string{"soon", "-5m", "0s"} {
		var out, errOut bytes.Buffer
		if code := Main(context.Background(), []string{"--print-stuck-after", v}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "--print-stuck-after") {
			t.Errorf("--print-stuck-after %s: exit %d %q; want 2 naming the flag", v, code, errOut.String())
		}
	}
}
