package tray

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/shared/wire"
)

// fakeAgent answers the tray's operations on a real local socket, as the
// agent would, from fields the test sets, and records what the tray sends.
type fakeAgent struct {
	socket string

	mu       sync.Mutex
	status   localipc.Status
	fixes    []localipc.Fix
	consents []localipc.ConsentItem
	tickets  []localipc.MyTicket
	result   wire.RunResult
	answers  []localipc.ConsentAnswerCall
	runs     []localipc.RunCall
	// runErr, if set, is the agent's answer to a run (a refusal).
	runErr error
}

func startFakeAgent(t *testing.T) *fakeAgent {
	t.Helper()
	dir, err := os.MkdirTemp("", "tray") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	f := &fakeAgent{socket: filepath.Join(dir, localipc.SocketName),
		status: localipc.Status{Connected: true, Hub: "127.0.0.1:1", Icon: localipc.IconConnected, Failing: []localipc.Check{}}}
	srv, err := localipc.Listen(f.socket, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	answer := func(op localipc.Op, get func() any) {
		srv.HandleUser(op, func(context.Context, json.RawMessage) (any, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			return get(), nil
		})
	}
	answer(localipc.OpStatus, func() any { return f.status })
	answer(localipc.OpFixes, func() any { return localipc.FixList{Fixes: slices.Clone(f.fixes)} })
	answer(localipc.OpConsentPending, func() any { return slices.Clone(f.consents) })
	answer(localipc.OpTickets, func() any { return slices.Clone(f.tickets) })
	srv.HandleUser(localipc.OpConsentAnswer, func(_ context.Context, body json.RawMessage) (any, error) {
		var a localipc.ConsentAnswerCall
		if err := json.Unmarshal(body, &a); err != nil {
			return nil, err
		}
		f.mu.Lock()
		f.answers = append(f.answers, a)
		f.mu.Unlock()
		return localipc.OK{OK: true}, nil
	})
	srv.HandleUser(localipc.OpRun, func(_ context.Context, body json.RawMessage) (any, error) {
		var r localipc.RunCall
		if err := json.Unmarshal(body, &r); err != nil {
			return nil, err
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.runs = append(f.runs, r)
		if f.runErr != nil {
			return nil, f.runErr
		}
		return f.result, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return f
}

func (f *fakeAgent) set(change func(f *fakeAgent)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

// fakeView records what the tray shows.
type fakeView struct {
	mu    sync.Mutex
	icons []string // every icon change, in order
	tip   string
	stat  string
	fixes []fixItem
}

func (v *fakeView) setIcon(state string) {
	v.mu.Lock()
	v.icons = append(v.icons, state)
	v.mu.Unlock()
}
func (v *fakeView) setTooltip(text string) { v.mu.Lock(); v.tip = text; v.mu.Unlock() }
func (v *fakeView) setStatus(text string)  { v.mu.Lock(); v.stat = text; v.mu.Unlock() }
func (v *fakeView) setFixes(items []fixItem) {
	v.mu.Lock()
	v.fixes = slices.Clone(items)
	v.mu.Unlock()
}

func (v *fakeView) icon() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.icons) == 0 {
		return ""
	}
	return v.icons[len(v.icons)-1]
}

func (v *fakeView) labels() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	for _, it := range v.fixes {
		out = append(out, it.Label)
	}
	return out
}

// fakeNotifier records notifications.
type fakeNotifier struct {
	mu  sync.Mutex
	got []Notification
}

func (n *fakeNotifier) Notify(note Notification) error {
	n.mu.Lock()
	n.got = append(n.got, note)
	n.mu.Unlock()
	return nil
}

// take returns the notifications shown since the last take.
func (n *fakeNotifier) take() []Notification {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := n.got
	n.got = nil
	return out
}

func titles(ns []Notification) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Title)
	}
	return out
}

type trayFixture struct {
	agent *fakeAgent
	view  *fakeView
	note  *fakeNotifier
	app   *app
}

func newTrayFixture(t *testing.T) *trayFixture {
	t.Helper()
	f := &trayFixture{agent: startFakeAgent(t), view: &fakeView{}, note: &fakeNotifier{}}
	cfg := Config{Socket: f.agent.socket, Version: "test", Logger: slog.New(slog.DiscardHandler),
		HelpPage: func(context.Context) (string, error) { return "http://127.0.0.1:1/?token=x", nil },
		OpenURL:  func(string) error { return nil }}
	if err := cfg.CheckAndSetDefaults(); err != nil {
		t.Fatal(err)
	}
	f.app = newApp(cfg, f.view, f.note)
	return f
}

func (f *trayFixture) refresh() { f.app.refresh(context.Background()) }

// TestTrayIcon: the icon shows the agent's state; an agent that does not
// answer is shown offline, and the tooltip says the service is not running.
func TestTrayIcon(t *testing.T) {
	f := newTrayFixture(t)
	for _, state := range []string{localipc.IconConnected, localipc.IconProblem, localipc.IconMessage, localipc.IconOffline} {
		f.agent.set(func(a *fakeAgent) { a.status.Icon = state; a.status.Connected = state != localipc.IconOffline })
		f.refresh()
		if got := f.view.icon(); got != state {
			t.Errorf("agent says %s: icon %q", state, got)
		}
	}
	f.agent.set(func(a *fakeAgent) {
		a.status = localipc.Status{Icon: localipc.IconProblem, Connected: true, Failing: []localipc.Check{
			{Name: "dns-resolution", Status: "failing", Summary: "Names do not resolve"}}}
	})
	f.refresh()
	if f.view.icon() != localipc.IconProblem || !strings.Contains(f.view.tip, "Names do not resolve") {
		t.Errorf("problem: icon %q, tooltip %q", f.view.icon(), f.view.tip)
	}
	// Unchanged state: the icon is not redrawn.
	n := len(f.view.icons)
	f.refresh()
	if len(f.view.icons) != n {
		t.Errorf("icon redrawn without a change: %q", f.view.icons)
	}

	// The agent is gone.
	f.app.agent = localipc.NewClient(filepath.Join(t.TempDir(), "gone.sock"))
	f.refresh()
	if f.view.icon() != localipc.IconOffline || !strings.Contains(f.view.tip, "not running") ||
		!strings.Contains(f.view.stat, "agent not running") {
		t.Errorf("no agent: icon %q, tooltip %q, status %q", f.view.icon(), f.view.tip, f.view.stat)
	}
}

// TestTechnicianMessageNotifiedOnce: a technician's new message on a ticket
// is one notification, with its text, and is not shown again on the next
// refresh; the user's own messages are not notified.
func TestTechnicianMessageNotifiedOnce(t *testing.T) {
	f := newTrayFixture(t)
	f.refresh()
	if got := f.note.take(); len(got) != 0 {
		t.Fatalf("nothing waiting, yet notified %q", titles(got))
	}
	at := time.Now().Add(-time.Minute)
	f.agent.set(func(a *fakeAgent) {
		a.tickets = []localipc.MyTicket{{ID: "t1", Number: 12, State: "open", Tier: 1, Messages: []localipc.TicketNote{
			{From: "you", Text: "My mail does not arrive", Time: at},
			{From: "Sam (help desk)", Text: "Please restart Outlook and tell me if it works.", Time: at.Add(time.Second)},
		}}}
		a.status.MessagesWaiting, a.status.Icon = 1, localipc.IconMessage
	})
	f.refresh()
	got := f.note.take()
	if len(got) != 1 || got[0].Title != "New message from the help desk" ||
		got[0].Body != "Ticket #12, Sam (help desk): Please restart Outlook and tell me if it works." {
		t.Fatalf("notified %+v", got)
	}
	if len(got[0].Actions) != 1 || got[0].Actions[0].Label != "Open" {
		t.Errorf("actions %+v", got[0].Actions)
	}
	f.refresh()
	if again := f.note.take(); len(again) != 0 {
		t.Errorf("notified again on the next refresh: %q", titles(again))
	}
}

// TestMessagesWaitingAtStart: messages that arrived while the tray was not
// running are summed up once, not replayed one by one.
func TestMessagesWaitingAtStart(t *testing.T) {
	f := newTrayFixture(t)
	f.agent.set(func(a *fakeAgent) {
		a.tickets = []localipc.MyTicket{{ID: "t1", Number: 3, State: "open", Messages: []localipc.TicketNote{
			{From: "Sam", Text: "one", Time: time.Now().Add(-time.Hour)},
			{From: "Sam", Text: "two", Time: time.Now().Add(-time.Minute)}}}}
		a.status.MessagesWaiting, a.status.Icon = 2, localipc.IconMessage
	})
	f.refresh()
	f.refresh()
	got := f.note.take()
	if len(got) != 1 || got[0].Title != "Messages from the help desk are waiting" || !strings.Contains(got[0].Body, "2 waiting") {
		t.Errorf("notified %+v", got)
	}
}

// TestSurveyNotifiedOnce: a resolved ticket asks its one survey question
// once.
func TestSurveyNotifiedOnce(t *testing.T) {
	f := newTrayFixture(t)
	f.agent.set(func(a *fakeAgent) {
		a.tickets = []localipc.MyTicket{{ID: "t9", Number: 9, State: "resolved", AskSurvey: true}}
	})
	f.refresh()
	got := f.note.take()
	if len(got) != 1 || got[0].Title != "Ticket #9 is resolved" || !strings.Contains(got[0].Body, "How did we do?") {
		t.Fatalf("notified %+v", got)
	}
	f.refresh()
	if again := f.note.take(); len(again) != 0 {
		t.Errorf("survey asked again: %q", titles(again))
	}
}

// TestConsentNotification: a fix waiting for consent is a notification
// with Allow and Decline, shown once; the user's choice reaches the agent
// with the run's id.
func TestConsentNotification(t *testing.T) {
	f := newTrayFixture(t)
	f.agent.set(func(a *fakeAgent) {
		a.consents = []localipc.ConsentItem{
			{RunID: "run-1", Fix: "reset-network", Title: "Reset network", Technician: "Sam",
				Reason: "Restart this computer's network connections.", Expires: time.Now().Add(5 * time.Minute)},
			{RunID: "run-2", Fix: "end-process", Title: "End a process", Technician: "Sam",
				Reason: "Close a program that has stopped responding.", Target: "the program firefox (process 4242, run by alice)",
				Expires: time.Now().Add(5 * time.Minute)},
		}
		a.status.PendingConsent, a.status.Icon = 2, localipc.IconMessage
	})
	f.refresh()
	got := f.note.take()
	if len(got) != 2 {
		t.Fatalf("notified %q, want one per consent request", titles(got))
	}
	if got[0].Title != "Sam asks to run: Reset network" || !strings.HasPrefix(got[0].Body, "Restart this computer's network connections. Allow it before") {
		t.Errorf("consent notification %q / %q", got[0].Title, got[0].Body)
	}
	// Which program ends is said, not only that one will.
	if !strings.HasPrefix(got[1].Body, "Close a program that has stopped responding. It acts on the program firefox (process 4242, run by alice). Allow it before") {
		t.Errorf("end-process consent says %q; want the program it ends", got[1].Body)
	}
	for _, n := range got {
		if !slices.Equal(n.Actions, []Action{{Key: "allow", Label: "Allow"}, {Key: "decline", Label: "Decline"}}) || n.OnAction == nil {
			t.Errorf("%q: actions %+v", n.Title, n.Actions)
		}
	}
	got[0].OnAction("allow")
	got[1].OnAction("decline")
	got[1].OnAction("dismissed") // closing the notification is no answer
	f.agent.mu.Lock()
	answers := slices.Clone(f.agent.answers)
	f.agent.mu.Unlock()
	want := []localipc.ConsentAnswerCall{{RunID: "run-1", Allow: true}, {RunID: "run-2", Allow: false}}
	if !slices.Equal(answers, want) {
		t.Errorf("answers %+v, want %+v", answers, want)
	}
	f.refresh()
	if again := f.note.take(); len(again) != 0 {
		t.Errorf("asked again: %q", titles(again))
	}
}

// TestFixItMyself: the submenu lists the Tier 0 fixes that can run here,
// those for a problem found now first and marked; choosing one runs it and
// says how it went.
func TestFixItMyself(t *testing.T) {
	f := newTrayFixture(t)
	all := []localipc.Fix{
		{ID: "flush-dns", Title: "Flush DNS cache", Description: "Forget saved name lookups.", Applicable: true},
		{ID: "renew-dhcp", Title: "Renew DHCP lease", Applicable: true},
		{ID: "clear-temp", Title: "Clear temporary files", Applicable: false, Reason: "not allowed by your organisation"},
		{ID: "restart-print-spooler", Title: "Restart printing", Applicable: true},
		{ID: "reset-network", Title: "Reset network", Tier: 1, Applicable: true, Addresses: []string{"network-reachable"}},
	}
	f.agent.set(func(a *fakeAgent) { a.fixes = all })
	f.refresh()
	if got, want := f.view.labels(), []string{"Flush DNS cache", "Renew DHCP lease", "Restart printing"}; !slices.Equal(got, want) {
		t.Errorf("nothing failing: %q, want %q", got, want)
	}

	// Printing fails: its fix comes first, marked.
	all[3].Addresses = []string{"print-spooler"}
	f.agent.set(func(a *fakeAgent) { a.fixes = all })
	f.refresh()
	want := []string{"Restart printing (suggested)", "Flush DNS cache", "Renew DHCP lease"}
	if got := f.view.labels(); !slices.Equal(got, want) {
		t.Errorf("printing failing: %q, want %q", got, want)
	}

	// Nothing can run: the view is told so (it shows "Nothing to run right now").
	f.agent.set(func(a *fakeAgent) { a.fixes = all[2:3] })
	f.refresh()
	if got := f.view.labels(); len(got) != 0 {
		t.Errorf("nothing applicable: %q", got)
	}

	// Choosing Flush DNS cache runs it and tells the result.
	f.agent.set(func(a *fakeAgent) {
		a.fixes = all
		a.result = wire.RunResult{Fix: "flush-dns", Outcome: wire.OutcomeFixed, Reason: "Names resolve again."}
	})
	f.refresh()
	f.note.take()
	var dns localipc.Fix
	for _, it := range f.view.fixes {
		if it.Fix.ID == "flush-dns" {
			dns = it.Fix
		}
	}
	f.app.runFix(dns)
	f.agent.mu.Lock()
	runs := slices.Clone(f.agent.runs)
	f.agent.mu.Unlock()
	if len(runs) != 1 || runs[0].Fix != "flush-dns" || runs[0].Params != nil {
		t.Errorf("ran %+v", runs)
	}
	got := f.note.take()
	if len(got) != 2 || got[0].Title != "Running: Flush DNS cache" || got[1].Title != "Flush DNS cache: fixed" ||
		!strings.HasPrefix(got[1].Body, "Names resolve again.") {
		t.Errorf("notified %+v", got)
	}

	// The agent cannot be reached: the user is told the fix did not run.
	f.app.agent = localipc.NewClient(filepath.Join(t.TempDir(), "gone.sock"))
	f.app.runFix(dns)
	got = f.note.take()
	if len(got) != 2 || got[1].Title != "Flush DNS cache did not run" {
		t.Errorf("agent gone: %q", titles(got))
	}
}

func TestFixMenu(t *testing.T) {
	got := fixMenu([]localipc.Fix{
		{ID: "a", Title: "A", Applicable: true},
		{ID: "b", Title: "B", Applicable: true, Addresses: []string{"x"}},
		{ID: "c", Title: "C", Applicable: true, Tier: 2, Addresses: []string{"x"}},
		{ID: "d", Title: "D", Applicable: false, Addresses: []string{"x"}},
		{ID: "e", Title: "E", Applicable: true, Addresses: []string{"y", "z"}},
	})
	var labels []string
	for _, it := range got {
		labels = append(labels, it.Label+"="+it.Fix.ID)
	}
	if want := []string{"B (suggested)=b", "E (suggested)=e", "A=a"}; !slices.Equal(labels, want) {
		t.Errorf("got %q, want %q", labels, want)
	}
	if got := fixMenu(nil); len(got) != 0 {
		t.Errorf("no fixes: %+v", got)
	}
}
