package gethelp

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/health"
	"github.com/tierline/tierline/agent/history"
	"github.com/tierline/tierline/agent/link"
	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/agent/spool"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// TestHelpRequestOwnerIsKept: a user who learns another user's pending
// help request id and files with it is refused, and the ticket the hub
// makes of the request still goes to the user who filed it first; filing
// the same request again as its own user still works.
func TestHelpRequestOwnerIsKept(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	aliceID := wire.NewID()
	// Alice's request was queued while the hub was out of reach.
	b, _ := json.Marshal(map[string]string{aliceID: "alice"})
	if err := os.WriteFile(filepath.Join(dir, "help-requests.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, key, _ := ed25519.GenerateKey(nil)
	l, err := link.New(link.Config{URL: "wss://127.0.0.1:1/agent/v1/connect", DeviceID: strings.Repeat("ab", 16), Key: key, Spool: spool.NewMem(1<<20, log), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	d := NewDesk(Config{Link: l, Checks: health.NewRunnerOf(time.Second), History: history.New(history.Config{}), Logger: log, Dir: dir})
	ctx := context.Background()

	_, err = d.file(ctx, HelpCall{RequestID: aliceID, Text: "my printer is mine now", User: "bob", Wait: time.Millisecond})
	var le *localipc.Error
	if !errors.As(err, &le) || le.Code != localipc.CodeForbidden || !strings.Contains(le.Message, "another user") {
		t.Fatalf("bob filing with alice's request id: %v, want forbidden", err)
	}
	if d.link.State().SpoolDepth != 0 {
		t.Fatal("bob's request was sent to the hub")
	}
	saved, _ := os.ReadFile(filepath.Join(dir, "help-requests.json"))
	if !strings.Contains(string(saved), `"alice"`) || strings.Contains(string(saved), `"bob"`) {
		t.Fatalf("pending requests on disk: %s", saved)
	}

	// Alice sends her request again (the first answer was lost): fine.
	ans, err := d.file(ctx, HelpCall{RequestID: aliceID, Text: "printer jams", User: "alice", Wait: time.Millisecond})
	if err != nil || ans.RequestID != aliceID || !ans.Queued {
		t.Fatalf("alice filing again: %+v %v", ans, err)
	}
	// A fresh request of bob's gets its own id.
	ans, err = d.file(ctx, HelpCall{Text: "slow laptop", User: "bob", Wait: time.Millisecond})
	if err != nil || ans.RequestID == "" || ans.RequestID == aliceID {
		t.Fatalf("bob's own request: %+v %v", ans, err)
	}

	// The hub's receipt gives the ticket to alice: bob cannot see it.
	d.Receipt(wire.HelpReceipt{RequestID: aliceID, TicketID: "t-1", Number: 7, Tier: 1})
	if tk := d.tickets["t-1"]; tk == nil || tk.User != "alice" {
		t.Fatalf("ticket owner: %+v", tk)
	}
	if err := d.allowed("t-1", localipc.Caller{UID: 1001, User: "bob"}); !errors.As(err, &le) || le.Code != localipc.CodeForbidden {
		t.Fatalf("bob may answer alice's ticket: %v", err)
	}
}

// TestHelpRequestsFloodKeepsOthers: a user filing request after request
// pushes out its own pending requests, never another user's, so it cannot
// empty the list to claim that user's id.
func TestHelpRequestsFloodKeepsOthers(t *testing.T) {
	dir := t.TempDir()
	d := NewDesk(Config{Dir: dir})
	aliceID := wire.NewID()
	if err := d.claim(aliceID, "alice"); err != nil {
		t.Fatal(err)
	}
	for range 3 * MaxTickets {
		if err := d.claim(wire.NewID(), "bob"); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.claim(aliceID, "bob"); err == nil || d.requesters[aliceID] != "alice" {
		t.Fatalf("after bob's flood alice's request belongs to %q (claim: %v)", d.requesters[aliceID], err)
	}
}

// TestHelpRequestsFullOfOthers: when the pending list is full of other
// users' requests, a new request is refused with a clear reason and
// nobody's request is dropped; a user with requests of its own gives up
// its oldest.
func TestHelpRequestsFullOfOthers(t *testing.T) {
	dir := t.TempDir()
	d := NewDesk(Config{Dir: dir})
	var alice []string
	for range MaxTickets - 2 {
		id := wire.NewID()
		alice = append(alice, id)
		if err := d.claim(id, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	bob1, bob2 := wire.NewID(), wire.NewID()
	for _, id := range []string{bob1, bob2} {
		if err := d.claim(id, "bob"); err != nil {
			t.Fatal(err)
		}
	}
	err := d.claim(wire.NewID(), "carol")
	var le *localipc.Error
	if !errors.As(err, &le) || le.Code != localipc.CodeFailed || !strings.Contains(le.Message, "no more can be queued") {
		t.Fatalf("carol filing into a full list: %v", err)
	}
	// Bob's third request pushes out his first, and nobody else's.
	bob3 := wire.NewID()
	if err := d.claim(bob3, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.requesters[bob1]; ok || d.requesters[bob2] != "bob" || d.requesters[bob3] != "bob" {
		t.Fatalf("bob's requests after his third: %v %v %v", d.requesters[bob1], d.requesters[bob2], d.requesters[bob3])
	}
	for _, id := range alice {
		if d.requesters[id] != "alice" {
			t.Fatalf("alice's request %s was dropped", id)
		}
	}
	saved, _ := os.ReadFile(filepath.Join(dir, "help-requests.json"))
	if strings.Contains(string(saved), "carol") || strings.Contains(string(saved), bob1) {
		t.Fatalf("pending requests on disk: %s", saved)
	}
}

// TestSnapshotWaitsForFirstSample: a request filed before the telemetry
// loop has taken its first sample (the agent collects its inventory first)
// carries that sample and history, not an empty snapshot.
func TestSnapshotWaitsForFirstSample(t *testing.T) {
	hist := history.New(history.Config{})
	d := NewDesk(Config{Checks: health.NewRunnerOf(time.Second), History: hist, Dir: t.TempDir()})
	sampled := d.ExpectSamples()
	go func() {
		time.Sleep(300 * time.Millisecond)
		hist.Add(diag.Sample{Time: time.Now().UTC(), CPU: diag.CPU{TotalPct: 12}})
		sampled()
	}()
	snap := d.snapshot(context.Background())
	if snap.Sample == nil || snap.Sample.CPU.TotalPct != 12 || len(snap.History.Full) != 1 {
		t.Fatalf("snapshot %+v: want the first sample and its history point", snap)
	}
}

// TestTicketUpdatesCaughtUp: the hub sends a connecting agent its tickets'
// recent updates again; each message is kept once and in time order, an
// older update does not take the state back, and an answered survey is
// not asked again until the ticket is reopened and resolved anew.
func TestTicketUpdatesCaughtUp(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, TicketsFile)
	d := NewDesk(Config{Dir: dir})
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	up := func(min int, state, from, msg string, survey bool) wire.TicketUpdate {
		return wire.TicketUpdate{TicketID: "tk1", Number: 7, State: state, Tier: 1, Time: t0.Add(time.Duration(min) * time.Minute),
			From: from, Message: msg, AskSurvey: survey}
	}
	get := func() MyTicket {
		d.mu.Lock()
		defer d.mu.Unlock()
		return *d.tickets["tk1"]
	}
	// Live: a message at 10, the resolution at 20.
	d.Update(up(10, "open", "tess", "Try again now", false))
	d.Update(up(20, "resolved", "", "VPN renewed", true))
	// The catch-up after a reconnect: an older message the agent missed,
	// the two it has, the resolution and the state now.
	for _, u := range []wire.TicketUpdate{up(5, "resolved", "tess", "Which network?", false), up(10, "resolved", "tess", "Try again now", false),
		up(20, "resolved", "", "VPN renewed", true), up(20, "resolved", "", "", false)} {
		d.Update(u)
	}
	// The same catch-up again (the next reconnect) changes nothing and
	// writes nothing.
	if err := os.Remove(cache); err != nil {
		t.Fatal(err)
	}
	for _, u := range []wire.TicketUpdate{up(5, "resolved", "tess", "Which network?", false), up(20, "resolved", "", "VPN renewed", true), up(20, "resolved", "", "", false)} {
		d.Update(u)
	}
	if _, err := os.Stat(cache); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a catch-up with nothing new rewrote %s (%v)", cache, err)
	}
	tk := get()
	var texts []string
	for _, n := range tk.Messages {
		texts = append(texts, n.Text)
	}
	if got := strings.Join(texts, "|"); got != "Which network?|Try again now|VPN renewed" || tk.State != "resolved" || !tk.AskSurvey {
		t.Fatalf("after the catch-up: %s, state %s, survey %v; want each message once in order, resolved, survey asked", got, tk.State, tk.AskSurvey)
	}
	// An older update does not take the state back.
	d.Update(up(15, "open", "", "", false))
	if tk = get(); tk.State != "resolved" {
		t.Fatalf("an older update set the state to %s", tk.State)
	}
	// The user answers; a catch-up with the resolution does not ask again.
	d.mu.Lock()
	d.tickets["tk1"].AskSurvey, d.tickets["tk1"].Surveyed = false, true
	d.mu.Unlock()
	d.Update(up(20, "resolved", "", "VPN renewed", true))
	if tk = get(); tk.AskSurvey {
		t.Fatal("an answered survey was asked again")
	}
	// Reopened and resolved again: a new survey.
	d.Update(up(30, "open", "", "", false))
	d.Update(up(40, "resolved", "", "Replaced the router", true))
	if tk = get(); !tk.AskSurvey || len(tk.Messages) != 4 {
		t.Fatalf("after a second resolution: survey %v, %d messages; want the survey asked and the new resolution kept", tk.AskSurvey, len(tk.Messages))
	}
}

type crashList []diag.AppCrashes

func (c crashList) Recent(context.Context) []diag.AppCrashes { return c }

// TestSnapshotCarriesCrashes: a ticket's snapshot lists the applications
// that crashed before it was filed, bounded for the wire.
func TestSnapshotCarriesCrashes(t *testing.T) {
	var many crashList
	for i := range wire.MaxSnapshotCrashes + 5 {
		many = append(many, diag.AppCrashes{App: fmt.Sprintf("app%d", i), Crashes: 1, Today: 1, Last: time.Now().UTC()})
	}
	many[0] = diag.AppCrashes{App: "OUTLOOK.EXE", Crashes: 4, Today: 4, Reason: "0xc0000005"}
	d := NewDesk(Config{Checks: health.NewRunnerOf(time.Second), History: history.New(history.Config{}), Crashes: many, Dir: t.TempDir()})
	snap := d.snapshot(context.Background())
	if len(snap.Crashes) != wire.MaxSnapshotCrashes || snap.Crashes[0].App != "OUTLOOK.EXE" || snap.Crashes[0].Crashes != 4 {
		t.Fatalf("snapshot crashes: %+v", snap.Crashes)
	}
}

// Articles read in a terminal show their words, not Markdown's marks.
func TestPlainMarkdown(t *testing.T) {
	for in, want := range map[string]string{
		"- Run **Clear temporary files** below.":             "- Run Clear temporary files below.",
		"*Still full?* Ask the help desk.":                   "Still full? Ask the help desk.",
		"Use `ipconfig /flushdns` or __restart__ it.":        "Use ipconfig /flushdns or restart it.",
		"## When the disk is full":                           "When the disk is full",
		"See [the guide](https://kb.example/disk) for more.": "See the guide (https://kb.example/disk) for more.",
		"file_name_with_underscores and 2*3*4 stay":          "file_name_with_underscores and 2*3*4 stay",
		"- a list item": "- a list item",
	} {
		if got := PlainMarkdown(in); got != want {
			t.Errorf("PlainMarkdown(%q) = %q, want %q", in, got, want)
		}
	}
}
