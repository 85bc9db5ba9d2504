//go:build linux

package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/shared/orgdoc"
)

// TestRunProgressOnTicketPage follows a long-ish fix run's progress from
// a real agent through a real hub to the ticket page in Debian's
// chromium: a signed recipe of two steps, the second waiting for the test
// to let it finish. While it waits, the run's row on the ticket page shows
// the agent's step live, as text (the step names an argument that is
// markup), and GET /api/v1/runs/{id} has it; once the step ends the row
// shows the result and no progress (the API keeps the last step).
func TestRunProgressOnTicketPage(t *testing.T) {
	b := newConsoleBrowser(t)
	h := startHub(t)
	const adminPW = "progress console pw 1"
	must(t, adminPW+"\n", "tierline-hub", "user", "add", "--data", h.data, "--name", "boss", "--role", "admin")
	keys, work := t.TempDir(), t.TempDir()
	org := filepath.Join(keys, "org")
	must(t, "", "tierline-hub", "recipe", "keygen", "--out", org)
	first, gate, open := filepath.Join(work, "first"), filepath.Join(work, "gate"), filepath.Join(work, "open")
	if err := os.WriteFile(first, []byte("#!/bin/sh\necho first step done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The second step runs until the test creates the file open: the
	// page is looked at while the run is certainly in progress.
	if err := os.WriteFile(gate, []byte("#!/bin/sh\nwhile [ ! -e "+open+" ]; do sleep 0.05; done\necho gate opened\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	const markup = `<img src=x onerror=window.pwned=1>`
	doc := fmt.Sprintf(`{"id":"rebuild-search-index","version":1,"title":"Rebuild the search index","tier":1,"oses":["linux"],"timeout_sec":120,
		"user_text":"Rebuilds the desktop search index.","steps":[{"argv":[%q]},{"argv":[%q,%q]}]}`, first, gate, markup)
	if code, msg := h.publishRecipe(signRecipe(t, work, filepath.Join(org, orgdoc.PrivateKeyFile), "rebuild", doc), "default"); code != http.StatusCreated {
		t.Fatalf("publish: %d %s", code, msg)
	}
	a := enroll(t, h.tokenCreate("--recipe-key", filepath.Join(org, orgdoc.PublicKeyFile)))
	a.run()
	var list recipeListing
	eventually(t, "the agent accepting the recipe", 60*time.Second, func() bool {
		h.get("/api/v1/recipes", &list)
		n, _ := list.find("rebuild-search-index")
		return n == 1
	})
	var opened struct {
		Ticket ticketJSON `json:"ticket"`
	}
	if code := h.do("POST", "/api/v1/tickets", h.token, strings.NewReader(`{"device":"`+a.id+`","requester":"maria","text":"Search finds nothing","channel":"phone"}`), &opened); code != http.StatusCreated {
		t.Fatalf("file a ticket: %d", code)
	}

	b.login(h, "boss", adminPW)
	b.open(h, "/tickets/"+opened.Ticket.ID, "#runs")
	code, run := h.requestRun(h.token, a.id, `{"fix":"rebuild-search-index","params":{},"ticket":"`+opened.Ticket.ID+`"}`)
	if code != http.StatusAccepted || run.ID == "" {
		t.Fatalf("request the run: %d %+v", code, run)
	}
	row := `#runs li[data-run="` + run.ID + `"]`
	want := "Running… Step 2 of 2: gate " + markup
	b.waitText(row+" .run-progress", want)
	var got struct {
		State    string `json:"state"`
		Progress *struct {
			Percent *int      `json:"percent"`
			Text    string    `json:"text"`
			At      time.Time `json:"at"`
		} `json:"progress"`
	}
	if code := h.get("/api/v1/runs/"+run.ID, &got); code != http.StatusOK || got.State != "sent" || got.Progress == nil ||
		got.Progress.Text != "Step 2 of 2: gate "+markup || got.Progress.Percent != nil || got.Progress.At.IsZero() {
		t.Fatalf("GET the running run: %d %+v %+v", code, got, got.Progress)
	}
	if v := b.eval(`String(window.pwned)`); v != "undefined" {
		t.Fatalf("the agent's progress text ran as markup on the ticket page (window.pwned = %s)", v)
	}
	b.noXSS("the ticket page with a run in progress")
	b.shot("run-progress")

	if err := os.WriteFile(open, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	b.waitText(row+" .run-outcome", "succeeded")
	if s := b.text(row); strings.Contains(s, "Step 2 of 2") {
		t.Errorf("the finished run still shows progress: %q", s)
	}
	var done struct {
		State    string `json:"state"`
		Progress struct {
			Text string `json:"text"`
		} `json:"progress"`
	}
	if code := h.get("/api/v1/runs/"+run.ID, &done); code != http.StatusOK || done.State != "done" || done.Progress.Text != "Step 2 of 2: gate "+markup {
		t.Errorf("the finished run over the API: %d %s, last step %q", code, done.State, done.Progress.Text)
	}
}
