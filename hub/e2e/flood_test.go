package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHelpFloodIsCut: with real hub and agent processes, a flood of help
// requests is cut and the user is told when they can ask again, at both
// ends.
//
//   - Agent limit: a user who asks for help past --help-limit (4 an hour
//     here) is refused by the agent with the time to ask again; none of the
//     flood reaches the hub. Asking again with the same words a moment
//     later joins the open ticket instead of opening another.
//   - Hub budget: an agent without limits of its own (a modified or old
//     one) files past the hub's --device-budgets help_request=5/1h; the hub
//     refuses the rest, counts and logs them, and the user still hears
//     why and when to ask again.
func TestHelpFloodIsCut(t *testing.T) {
	t.Parallel()
	h := startHub(t, "--device-budgets", "help_request=5/1h")
	limited := enroll(t, h.tokenCreate())
	limited.run("--help-limit", "4/1h")
	open := enroll(t, h.tokenCreate())
	open.run("--help-limit", "off", "--help-device-limit", "off")
	for _, a := range []*agent{limited, open} {
		eventually(t, "the agent online", 60*time.Second, func() bool {
			var d device
			return h.get("/api/v1/devices/"+a.id, &d) == http.StatusOK && d.Online
		})
	}
	tickets := func(a *agent) int {
		var ts struct{ Tickets []struct{ ID string } }
		if code := h.get("/api/v1/tickets?device="+a.id, &ts); code != http.StatusOK {
			t.Fatalf("list tickets: %d", code)
		}
		return len(ts.Tickets)
	}
	ask := func(a *agent, text string) (string, string, int) {
		return run(t, "", "tierline-agent", "help", "--state", a.state, "--no-suggest", "--wait", "25s", text)
	}

	// The agent's limit, and a repeat joining its ticket.
	out, errOut, code := ask(limited, "The printer on floor 2 jams")
	if code != 0 || !strings.Contains(out, "Ticket #") {
		t.Fatalf("first request: exit %d\n%s\n%s", code, out, errOut)
	}
	out, errOut, code = ask(limited, "the printer on floor 2   JAMS")
	if code != 0 || !strings.Contains(out, "Added to your ticket #") {
		t.Fatalf("the same words again: exit %d, want joined to the first ticket\n%s\n%s", code, out, errOut)
	}
	for i := range 2 {
		if out, errOut, code := ask(limited, fmt.Sprintf("Problem number %d", i)); code != 0 || !strings.Contains(out, "Ticket #") {
			t.Fatalf("request %d: exit %d\n%s\n%s", i+3, code, out, errOut)
		}
	}
	for i := range 20 {
		_, errOut, code := ask(limited, fmt.Sprintf("Flood %d", i))
		if code == 0 || !strings.Contains(errOut, "You have already asked for help as often as one person may from this computer (4 an hour)") ||
			!strings.Contains(errOut, "You can ask again at ") {
			t.Fatalf("flood request %d: exit %d, stderr %q; want the limit and when to ask again", i, code, errOut)
		}
	}
	if n := tickets(limited); n != 3 {
		t.Fatalf("%d tickets from the limited agent, want 3 (one joined, the flood cut)", n)
	}

	// The hub's budget.
	for i := range 5 {
		if out, errOut, code := ask(open, fmt.Sprintf("Unlimited %d", i)); code != 0 || !strings.Contains(out, "Ticket #") {
			t.Fatalf("request %d within the hub's budget: exit %d\n%s\n%s", i+1, code, out, errOut)
		}
	}
	for i := range 3 {
		_, errOut, code := ask(open, fmt.Sprintf("Over the budget %d", i))
		if code == 0 || !strings.Contains(errOut, "more often than it takes from one computer (5 an hour), so no ticket was opened") ||
			!strings.Contains(errOut, "You can ask again at ") {
			t.Fatalf("request over the hub's budget: exit %d, stderr %q; want the hub's refusal and when to ask again", code, errOut)
		}
	}
	if n := tickets(open); n != 5 {
		t.Fatalf("%d tickets from the unlimited agent, want the hub's budget of 5", n)
	}
	waitMetrics(t, h, `tierline_agent_budget_refusals_total{type="help_request"} 3`, `tierline_agent_budget_refusals_total{type="user_reply"} 0`)
	eventually(t, "the hub's log of the refusals", 10*time.Second, func() bool {
		return strings.Contains(h.proc.output(), "device over its budget: message refused")
	})
}

// waitMetrics waits until the hub's /metrics has every line start wanted.
func waitMetrics(t *testing.T, h *hub, wants ...string) {
	t.Helper()
	var missing []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := h.client.Get(h.url() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		missing = missing[:0]
		for _, want := range wants {
			if !strings.Contains(string(body), want) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics after 30 s has no\n%s", strings.Join(missing, "\n"))
		}
	}
}
