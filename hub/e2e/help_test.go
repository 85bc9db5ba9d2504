package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

type ticketJSON struct {
	ID       string `json:"id"`
	Number   int64  `json:"number"`
	DeviceID string `json:"device_id"`
	Title    string `json:"title"`
	Tier     int    `json:"tier"`
	State    string `json:"state"`
	Category string `json:"category"`
	Assignee string `json:"assignee"`
	CSAT     *int   `json:"csat"`
	Snapshot *struct {
		Checks []struct{ Name, Status string } `json:"checks"`
		Sample *struct {
			Time time.Time `json:"time"`
		} `json:"sample"`
		History struct {
			Full []json.RawMessage `json:"full"`
		} `json:"history"`
	} `json:"snapshot"`
}

type ticketDetail struct {
	Ticket   ticketJSON `json:"ticket"`
	Timeline []struct {
		Kind  string         `json:"kind"`
		Actor string         `json:"actor"`
		Data  map[string]any `json:"data"`
	} `json:"timeline"`
}

func (d ticketDetail) kinds() []string {
	var out []string
	for _, e := range d.Timeline {
		out = append(out, e.Kind)
	}
	return out
}

// helpCmd runs `tierline-agent help` and decodes its JSON answer.
func helpCmd(t *testing.T, a *agent, args ...string) (answer struct {
	RequestID string `json:"request_id"`
	Queued    bool   `json:"queued"`
	Connected bool   `json:"connected"`
	TicketID  string `json:"ticket_id"`
	Number    int64  `json:"number"`
	Tier      int    `json:"tier"`
}) {
	t.Helper()
	// A loaded machine may take more than the default 10 s to bring the
	// ticket number back; args may set --wait again.
	out := must(t, "", "tierline-agent", append([]string{"help", "--state", a.state, "--json", "--wait", "25s"}, args...)...)
	if err := json.Unmarshal([]byte(out), &answer); err != nil {
		t.Fatalf("help answer is not JSON: %v\n%s", err, out)
	}
	return answer
}

// TestGetHelpToResolution follows one ticket the whole way with real
// processes: `tierline-agent help` files it in Tier 1 with the machine's
// snapshot; nobody acts, so the Tier 1 limit (3 s here, set by flag)
// escalates it to Tier 2; a Tier 2 technician runs a fix on the ticket and
// resolves it; the user answers the survey from the agent; the support
// metrics show all of it.
func TestGetHelpToResolution(t *testing.T) {
	h := startHub(t, "--tier-limits", "1=3s,2=1h,3=2d")
	must(t, "tier two password\n", "tierline-hub", "user", "add", "--data", h.data, "--name", "t2", "--role", "tier2")
	t2 := must(t, "", "tierline-hub", "apitoken", "create", "--data", h.data, "--user", "t2")
	a := enroll(t, h.tokenCreate())
	a.run()
	eventually(t, "the agent online", 30*time.Second, func() bool {
		var d device
		h.get("/api/v1/devices/"+a.id, &d)
		return d.Online
	})

	ans := helpCmd(t, a, "--category", "printing", "The printer on floor 2 <b>jams</b> every time")
	if ans.Number == 0 || ans.Tier != 1 || ans.TicketID == "" {
		t.Fatalf("help answer %+v: want a ticket number in Tier 1", ans)
	}
	// My tickets names it at once, before anyone acts on it.
	if out := must(t, "", "tierline-agent", "tickets", "--state", a.state); !strings.Contains(out, fmt.Sprintf("#%d  new  Tier 1  ", ans.Number)) ||
		!strings.Contains(out, "The printer on floor 2 <b>jams</b> every time") {
		t.Errorf("tierline-agent tickets right after filing:\n%s\nwant the ticket with its title", out)
	}
	// Listed by device: with a 3 s Tier 1 limit it may already have left
	// the Tier 1 queue (the answer above says it was filed there).
	var list struct{ Tickets []ticketJSON }
	h.do("GET", "/api/v1/tickets?device="+a.id, t2, nil, &list)
	if len(list.Tickets) != 1 || list.Tickets[0].Number != ans.Number || list.Tickets[0].DeviceID != a.id {
		t.Fatalf("the device's tickets: %+v", list.Tickets)
	}
	var d ticketDetail
	h.do("GET", "/api/v1/tickets/"+ans.TicketID, t2, nil, &d)
	if d.Ticket.Category != "printing" || !strings.Contains(d.Ticket.Title, "<b>jams</b>") {
		t.Errorf("ticket %+v: want the user's words and category as given", d.Ticket)
	}
	if s := d.Ticket.Snapshot; s == nil || len(s.Checks) < 5 || s.Sample == nil || len(s.History.Full) == 0 {
		t.Fatalf("ticket has no diagnostics snapshot (checks, sample, history): %+v", s)
	}

	// Nobody picks it up: the Tier 1 limit passes and it escalates.
	eventually(t, "automatic escalation to Tier 2", 30*time.Second, func() bool {
		h.do("GET", "/api/v1/tickets/"+ans.TicketID, t2, nil, &d)
		return d.Ticket.Tier == 2
	})
	kinds := strings.Join(d.kinds(), ",")
	for _, want := range []string{"filed", "sla_warning", "sla_breach", "escalated"} {
		if !strings.Contains(kinds, want) {
			t.Errorf("timeline %s has no %s", kinds, want)
		}
	}

	// Tier 2 runs a fix on the ticket; it lands on the timeline.
	victim := sleeper(t)
	code, r := h.requestRun(t2, a.id, fmt.Sprintf(`{"fix":"end-process","params":{"pid":%d},"consent_obtained":true,"ticket":%q}`, victim.Process.Pid, ans.TicketID))
	if code != 202 {
		t.Fatalf("fix run on the ticket: %d %+v", code, r)
	}
	if r = h.waitRun(t2, r.ID); r.Outcome != "succeeded" && r.Outcome != "fixed" {
		t.Fatalf("fix run: %s %s", r.Outcome, r.Reason)
	}
	eventually(t, "the run on the ticket's timeline", 60*time.Second, func() bool {
		h.do("GET", "/api/v1/tickets/"+ans.TicketID, t2, nil, &d)
		return strings.Contains(strings.Join(d.kinds(), ","), "run")
	})
	if code := h.do("POST", "/api/v1/tickets/"+ans.TicketID+"/messages", t2, strings.NewReader(`{"text":"I cleared the stuck job; please try again."}`), nil); code != 200 {
		t.Fatalf("technician message: %d", code)
	}
	// A survey before the resolution is refused on the spot, in words,
	// not thanked for and dropped by the hub later.
	num := fmt.Sprintf("#%d", ans.Number)
	eventually(t, "the agent told of the message", 60*time.Second, func() bool {
		out, _, _ := run(t, "", "tierline-agent", "tickets", "--state", a.state)
		return strings.Contains(out, "please try again")
	})
	if out, errOut, code := run(t, "", "tierline-agent", "survey", "--state", a.state, "--ticket", num, "--score", "5"); code == 0 ||
		strings.Contains(out, "Thank you") || !strings.Contains(errOut, "the survey comes when it is resolved") {
		t.Errorf("survey before the resolution: exit %d, %q %q; want it refused, saying when it comes", code, out, errOut)
	}
	// Resolving drafts a knowledge base article from the ticket.
	var resolved struct {
		Article struct {
			ID           string   `json:"id"`
			State        string   `json:"state"`
			Body         string   `json:"body"`
			Fixes        []string `json:"fixes"`
			SourceTicket string   `json:"source_ticket"`
		} `json:"article"`
	}
	if code := h.do("POST", "/api/v1/tickets/"+ans.TicketID+"/resolve", t2, strings.NewReader(`{"resolution":"Stuck print job ended.","kb":true}`), &resolved); code != 200 {
		t.Fatalf("resolve: %d", code)
	}
	if a := resolved.Article; a.ID == "" || a.State != "draft" || a.SourceTicket != ans.TicketID || !strings.Contains(a.Body, "Stuck print job ended.") ||
		!strings.Contains(strings.Join(a.Fixes, ","), "end-process") {
		t.Errorf("knowledge base draft %+v: want a draft from the ticket with its resolution and the fix run", a)
	}

	// The user sees the message and the survey, and answers it.
	eventually(t, "the agent told of the resolution", 60*time.Second, func() bool {
		out, _, _ := run(t, "", "tierline-agent", "tickets", "--state", a.state)
		return strings.Contains(out, "please try again") && strings.Contains(out, "How did we do?")
	})
	// The user names the ticket by the number they are shown.
	must(t, "", "tierline-agent", "survey", "--state", a.state, "--ticket", num, "--score", "5")
	eventually(t, "the survey answer on the ticket", 60*time.Second, func() bool {
		h.do("GET", "/api/v1/tickets/"+ans.TicketID, t2, nil, &d)
		return d.Ticket.CSAT != nil && *d.Ticket.CSAT == 5
	})

	var m struct {
		Tickets int `json:"tickets"`
		Overall struct {
			Resolved int `json:"resolved"`
			CSAT     struct {
				Answers int     `json:"answers"`
				Mean    float64 `json:"mean"`
			} `json:"csat"`
		} `json:"overall"`
		Tiers []struct {
			Tier      int `json:"tier"`
			Escalated int `json:"escalated"`
			Breached  int `json:"breached"`
		} `json:"tiers"`
	}
	h.do("GET", "/api/v1/metrics/support", t2, nil, &m)
	tier1 := false
	for _, tm := range m.Tiers {
		if tm.Tier == 1 && tm.Escalated == 1 && tm.Breached == 1 {
			tier1 = true
		}
	}
	if m.Tickets != 1 || m.Overall.Resolved != 1 || m.Overall.CSAT.Answers != 1 || m.Overall.CSAT.Mean != 5 || !tier1 {
		raw, _ := json.Marshal(m)
		t.Errorf("support metrics %s: want 1 ticket, resolved, CSAT 5, one Tier 1 escalation and breach", raw)
	}
	// And in Prometheus: the counters move in the ticket-update hook, just
	// after the ticket is stored, so they are waited for.
	wantMetrics := []string{`tierline_tickets{state="resolved",tier="2"} 1`, `tierline_ticket_events_total{kind="sla_breach"} 1`,
		`tierline_ticket_events_total{kind="escalated"} 1`, `tierline_ticket_events_total{kind="survey"} 1`,
		// Resolved in Tier 2 after an escalation: not first contact.
		`tierline_tickets_resolved_total{first_contact="false",tier="2"} 1`,
		`tierline_ticket_escalations_total{from_tier="1",reason="sla"} 1`,
		`tierline_sla_breaches_total{clock="resolution",tier="1"} 1`,
		// The fix run was the first response, counted in the tier filed in.
		`tierline_ticket_first_response_seconds_count{tier="1"} 1`,
		`tierline_ticket_resolve_seconds_count{tier="2"} 1`,
		`tierline_csat_responses_total{score="5"} 1`, `tierline_csat_responses_total{score="1"} 0`,
		`tierline_ticket_backlog_oldest_seconds{tier="1"} 0`, `tierline_help_sessions_total{outcome="recovered"} `}
	var missing []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		resp, err := h.client.Get(h.url() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		missing = missing[:0]
		for _, want := range wantMetrics {
			if !strings.Contains(string(body), want) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics after 30 s has no\n%s", strings.Join(missing, "\n"))
		}
	}
}

// TestOfflineHelp: the hub is down when the user asks for help; the
// request waits in the agent's spool, and when the hub is back exactly one
// ticket arrives, even though the agent sends it again after a restart.
func TestOfflineHelp(t *testing.T) {
	h := startHub(t)
	a := enroll(t, h.tokenCreate())
	a.run()
	eventually(t, "the agent online", 30*time.Second, func() bool {
		var d device
		h.get("/api/v1/devices/"+a.id, &d)
		return d.Online
	})
	h.proc.stop()
	eventually(t, "the agent to notice the hub is gone", 30*time.Second, func() bool {
		return strings.Contains(a.proc.output(), "connection lost") || strings.Contains(a.proc.output(), "dial")
	})
	out := must(t, "", "tierline-agent", "help", "--state", a.state, "--wait", "1s", "--request-id", "offline-1", "No network since this morning")
	if !strings.Contains(out, "saved on this computer") {
		t.Fatalf("offline help told the user %q; want that the request is saved and will be sent", out)
	}
	// Filing again with the same request id (a user clicking twice) must
	// not make a second ticket either; restart the agent in between.
	must(t, "", "tierline-agent", "help", "--state", a.state, "--wait", "1s", "--request-id", "offline-1", "No network since this morning")
	a.proc.stop()
	h.start()
	a.run()
	var list struct{ Tickets []ticketJSON }
	eventually(t, "the ticket on the hub", 30*time.Second, func() bool {
		h.get("/api/v1/tickets", &list)
		return len(list.Tickets) > 0
	})
	time.Sleep(2 * time.Second) // let any duplicate arrive, so the count below can fail
	h.get("/api/v1/tickets", &list)
	if len(list.Tickets) != 1 || list.Tickets[0].DeviceID != a.id {
		t.Fatalf("tickets after the outage: %+v, want exactly one", list.Tickets)
	}

	// Now the computer is off while a technician answers: the agent hears
	// the message when it connects again, once.
	a.proc.stop()
	if code := h.do("POST", "/api/v1/tickets/"+list.Tickets[0].ID+"/messages", h.token, strings.NewReader(`{"text":"Is the cable plugged in?"}`), nil); code != 200 {
		t.Fatalf("technician message: %d", code)
	}
	a.run()
	eventually(t, "the message written while the computer was off", 60*time.Second, func() bool {
		out, _, _ := run(t, "", "tierline-agent", "tickets", "--state", a.state)
		return strings.Contains(out, "Is the cable plugged in?")
	})
	a.proc.stop()
	a.run() // a second catch-up (the message and the state) adds nothing
	eventually(t, "the second catch-up", 60*time.Second, func() bool {
		return strings.Count(a.proc.output(), `msg="ticket update`) >= 2 // "ticket update" or "... already known"
	})
	out, _, _ = run(t, "", "tierline-agent", "tickets", "--state", a.state)
	if n := strings.Count(out, "Is the cable plugged in?"); n != 1 {
		t.Fatalf("the message shows %d times after two reconnects:\n%s", n, out)
	}
}
