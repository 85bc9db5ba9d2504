package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A second hub on the same --data is refused, naming the running one, and
// the first one's devices stay online (a second start used to reset
// presence). The first one going away frees the directory.
func TestSecondHubOnSameDataRefused(t *testing.T) {
	h := startHub(t)
	a := enroll(t, h.tokenCreate())
	a.run()
	online := func() bool {
		var d device
		return h.get("/api/v1/devices/"+a.id, &d) == http.StatusOK && d.Online
	}
	eventually(t, "the device online", 60*time.Second, online)

	out, errOut, code := run(t, "", "tierline-hub", "serve", "--data", h.data, "--listen", freePort(t))
	if code == 0 {
		t.Fatalf("second hub on %s started (exit 0):\n%s%s", h.data, out, errOut)
	}
	want := fmt.Sprintf("another tierline-hub (pid %d, started ", h.proc.cmd.Process.Pid)
	if !strings.Contains(errOut, want) || !strings.Contains(errOut, h.data) {
		t.Fatalf("second hub's refusal does not name the running one (%q):\n%s", want, errOut)
	}
	if !online() {
		t.Fatal("the device shows offline after a second hub was refused")
	}
	// Admin verbs still work beside the running hub.
	h.cli("device", "list")

	if code := h.proc.stop(); code != 0 {
		t.Fatalf("hub exit %d", code)
	}
	h.start() // the same directory, free again
}

// A second `tierline-agent run` on the same state directory is refused,
// naming the running one; the first keeps its connection.
func TestSecondAgentOnSameStateRefused(t *testing.T) {
	h := startHub(t)
	a := enroll(t, h.tokenCreate())
	first := a.run()
	eventually(t, "the agent connected", 60*time.Second, func() bool {
		return strings.Contains(first.output(), "connected to hub")
	})
	out, errOut, code := run(t, "", "tierline-agent", "run", "--state", a.state)
	if code == 0 {
		t.Fatalf("second agent on %s ran (exit 0):\n%s%s", a.state, out, errOut)
	}
	want := fmt.Sprintf("another tierline-agent (pid %d, started ", first.cmd.Process.Pid)
	if !strings.Contains(errOut, want) || !strings.Contains(errOut, a.state) {
		t.Fatalf("second agent's refusal does not name the running one (%q):\n%s", want, errOut)
	}
	select {
	case <-first.done:
		t.Fatalf("the first agent stopped:\n%s", first.output())
	default:
	}
	if code := first.stop(); code != 0 {
		t.Fatalf("agent exit %d", code)
	}
	// Stopped, it frees the directory.
	a.run()
	eventually(t, "the agent back online", 60*time.Second, func() bool {
		var d device
		return h.get("/api/v1/devices/"+a.id, &d) == http.StatusOK && d.Online
	})
}
