//go:build linux

package machine

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/shared/software"
)

// requestTicket is a ticket as GET /api/v1/tickets shows it.
type requestTicket struct {
	ID         string `json:"id"`
	Number     int64  `json:"number"`
	State      string `json:"state"`
	Type       string `json:"type"`
	Resolution string `json:"resolution"`
	Request    *struct {
		Software string `json:"software"`
	} `json:"request"`
}

// softwareRequest has alice ask for entry from its request template and
// returns the ticket the hub filed.
func (p *pc) softwareRequest(entry string) requestTicket {
	p.t.Helper()
	out := p.exec("runuser", "-u", "alice", "--", "tierline-agent", "software", "request", entry)
	if !strings.Contains(out, "Ticket #") {
		p.t.Fatalf("alice's request for %s: %s", entry, out)
	}
	var tk requestTicket
	eventually(p.t, "the request for "+entry+" on the hub", 30*time.Second, func() bool {
		var list struct {
			Tickets []requestTicket `json:"tickets"`
		}
		p.hub.get("/api/v1/tickets?type=request&device="+p.id, &list)
		for _, t := range list.Tickets {
			var full requestTicket
			if p.hub.get("/api/v1/tickets/"+t.ID, &struct {
				Ticket *requestTicket `json:"ticket"`
			}{&full}) == http.StatusOK && full.Request != nil && full.Request.Software == entry {
				tk = full
				return true
			}
		}
		return false
	})
	return tk
}

// TestSoftwareRequestApproval: "I need Tierline Tools" becomes an
// approval and an install. An admin makes request templates that name
// software catalog entries; alice asks for one with `tierline-agent
// software request`; the hub files a request whose form names the entry;
// a technician approves it through the API and the hub queues
// install-software on the machine, where apt installs the package
// (dpkg has it, the run on the ticket says so, verified). A second
// approval is refused. Another request is refused with a note: alice
// reads it in `tierline-agent tickets`, the ticket is resolved, and
// nothing was installed.
func TestSoftwareRequestApproval(t *testing.T) {
	p, keys, _ := newSoftwarePC(t)
	for _, e := range []software.Entry{
		{ID: "tierline-tools", Version: 1, Title: "Tierline Tools", Manager: software.Apt, Package: "tierline-tools", MinVersion: "2.0"},
		{ID: "tierline-hello", Version: 1, Title: "Tierline Hello", Manager: software.Apt, Package: "tierline-hello"},
	} {
		p.hub.cli("recipe", "add", "--groups", "*", signEntry(t, keys, e))
	}
	eventually(t, "both entries accepted by the device", 60*time.Second, func() bool {
		return p.published("tierline-tools").Accepted == 1 && p.published("tierline-hello").Accepted == 1
	})
	for _, tpl := range []map[string]any{
		{"name": "Tierline Tools", "description": "The tools for the team", "tier": 1, "priority": 4, "fields": []any{}, "software": "tierline-tools"},
		{"name": "Tierline Hello", "tier": 2, "priority": 4, "fields": []any{}, "software": "tierline-hello"},
	} {
		body, _ := json.Marshal(tpl)
		var resp struct {
			Error string `json:"error"`
		}
		if code := p.hub.do("POST", "/api/v1/request-templates", strings.NewReader(string(body)), &resp); code != http.StatusCreated && code != http.StatusOK {
			t.Fatalf("create template %s: %d %s", tpl["name"], code, resp.Error)
		}
	}

	// Approved: the install runs on the machine.
	tk := p.softwareRequest("tierline-tools")
	if tk.Type != "request" || tk.State == "resolved" {
		t.Fatalf("the request: %+v", tk)
	}
	decide := func(id string, approve bool, note string) (int, string, string) {
		body, _ := json.Marshal(map[string]any{"approve": approve, "note": note})
		var resp struct {
			Error string `json:"error"`
			Run   struct {
				ID string `json:"id"`
			} `json:"run"`
		}
		code := p.hub.do("POST", "/api/v1/tickets/"+id+"/software", strings.NewReader(string(body)), &resp)
		return code, resp.Run.ID, resp.Error
	}
	code, runID, msg := decide(tk.ID, true, "")
	if code != http.StatusAccepted || runID == "" {
		t.Fatalf("approve: %d %s", code, msg)
	}
	var run runView
	eventually(t, "the approved install finished", 3*time.Minute, func() bool {
		return p.hub.get("/api/v1/runs/"+runID+"?wait=10s", &run) == http.StatusOK && run.State == "done"
	})
	if run.Outcome != "succeeded" || !strings.Contains(run.Reason, "Verified: tierline-tools 2.1-1 is installed") {
		t.Fatalf("the approved install: %+v", run)
	}
	if got := p.installedOnMachine("tierline-tools"); got != "install ok installed 2.1-1" {
		t.Fatalf("dpkg after the approval: %q", got)
	}
	var tv struct {
		Timeline []struct {
			Kind string          `json:"kind"`
			Data json.RawMessage `json:"data"`
		} `json:"timeline"`
	}
	eventually(t, "the install on the ticket's timeline", 30*time.Second, func() bool {
		p.hub.get("/api/v1/tickets/"+tk.ID, &tv)
		for _, e := range tv.Timeline {
			if e.Kind == "run" && strings.Contains(string(e.Data), runID) && strings.Contains(string(e.Data), "succeeded") {
				return true
			}
		}
		return false
	})
	if code, _, msg := decide(tk.ID, true, ""); code != http.StatusConflict || !strings.Contains(msg, "already approved") {
		t.Errorf("a second approval: %d %s", code, msg)
	}

	// Refused: alice is told why, nothing is installed.
	tk2 := p.softwareRequest("tierline-hello")
	if code, _, msg := decide(tk2.ID, false, "Please use the web version."); code != http.StatusOK {
		t.Fatalf("refuse: %d %s", code, msg)
	}
	eventually(t, "alice reads the refusal in tierline-agent tickets", 60*time.Second, func() bool {
		out, _ := p.try("runuser", "-u", "alice", "--", "tierline-agent", "tickets")
		return strings.Contains(out, "Your request to install Tierline Hello was not approved. Please use the web version.")
	})
	var after struct {
		Ticket requestTicket `json:"ticket"`
	}
	p.hub.get("/api/v1/tickets/"+tk2.ID, &after)
	if after.Ticket.State != "resolved" || !strings.Contains(after.Ticket.Resolution, "refused") {
		t.Errorf("the refused request: %+v", after.Ticket)
	}
	if got := p.installedOnMachine("tierline-hello"); got != "" {
		t.Errorf("tierline-hello was installed after a refusal: %q", got)
	}
}
