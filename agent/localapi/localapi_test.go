package localapi

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/execx"
	"github.com/tierline/tierline/agent/fixes"
	"github.com/tierline/tierline/agent/gethelp"
	"github.com/tierline/tierline/agent/link"
	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/agent/spool"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// TestMain: started with TIERLINE_OPS_CHILD=SOCKET, the test binary is a
// local client (run as another user by the tests) making the calls in
// TIERLINE_OPS, one "op body" per line, and printing each answer.
func TestMain(m *testing.M) {
	if path := os.Getenv("TIERLINE_OPS_CHILD"); path != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, line := range strings.Split(os.Getenv("TIERLINE_OPS"), "\n") {
			op, body, _ := strings.Cut(line, " ")
			var in json.RawMessage
			if body != "" {
				in = json.RawMessage(body)
			}
			out, err := localipc.NewClient(path).Raw(ctx, localipc.Op(op), in)
			var re *localipc.RemoteError
			switch {
			case errors.As(err, &re):
				fmt.Printf("%s refused %s: %s\n", op, re.Code, re.Message)
			case err != nil:
				fmt.Printf("%s error: %v\n", op, err)
			default:
				fmt.Printf("%s ok %s\n", op, out)
			}
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// recorder carries out nothing: it records the commands a fix would run,
// so the tests can run network fixes on the test machine safely.
type recorder struct {
	mu   sync.Mutex
	argv [][]string
	// requesters are the fixes.Requester of the actions done, in order.
	requesters []int
	// hold, if set, is called in each command before it "ends".
	hold func()
}

func (r *recorder) Run(ctx context.Context, c execx.Cmd) (execx.Result, error) {
	r.mu.Lock()
	r.argv = append(r.argv, c.Argv)
	hold := r.hold
	r.mu.Unlock()
	if hold != nil {
		hold()
	}
	return execx.Result{Argv: c.Argv}, nil
}

func (r *recorder) Do(ctx context.Context, a fixes.Action) fixes.ActionResult {
	r.mu.Lock()
	r.requesters = append(r.requesters, fixes.Requester(ctx))
	r.mu.Unlock()
	return fixes.ActionResult{}
}

func (r *recorder) ran() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, a := range r.argv {
		out = append(out, strings.Join(a, " "))
	}
	return strings.Join(out, "; ")
}

type opsFixture struct {
	ops     *API
	consent *gethelp.ConsentBroker
	runner  *fixes.Runner
	socket  string
	exec    *recorder
	results chan wire.RunResult
}

// newOpsFixture serves the local operations on a real socket with a real
// fixes runner (journal on disk, consent through the broker) whose
// commands are recorded instead of run; rs, when given, are the signed
// recipes the agent accepted.
func newOpsFixture(t *testing.T, rs ...fixes.RecipeSource) *opsFixture {
	t.Helper()
	dir, err := os.MkdirTemp("", "ops") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	journal, err := fixes.OpenJournal(filepath.Join(dir, "journal"), fixes.JournalOptions{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	f := &opsFixture{socket: filepath.Join(dir, localipc.SocketName), exec: &recorder{}, results: make(chan wire.RunResult, 8)}
	consent := gethelp.NewConsentBroker(20 * time.Second)
	var recipes fixes.RecipeSource
	if len(rs) > 0 {
		recipes = rs[0]
	}
	runner, err := fixes.New(fixes.Config{Journal: journal, Exec: f.exec, Consent: consent.Ask, Recipes: recipes,
		Machine: func() fixes.Machine {
			return fixes.Machine{GOOS: catalog.Linux, Has: func(p string) bool { return p == "nmcli" || p == "resolvectl" }}
		},
		Deliver: func(r wire.RunResult) { f.results <- r }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runner.Start(ctx)
	tickets, _ := json.Marshal(map[string]*localipc.MyTicket{
		"t-nobody": {ID: "t-nobody", Number: 1, State: "open", Tier: 1, User: "nobody",
			Messages: []localipc.TicketNote{{From: "tech1", Text: "Try again now", Time: time.Now()}}},
		"t-alice": {ID: "t-alice", Number: 2, State: "open", Tier: 1, User: "alice"},
	})
	if err := os.WriteFile(filepath.Join(dir, gethelp.TicketsFile), tickets, 0o600); err != nil {
		t.Fatal(err)
	}
	desk := gethelp.NewDesk(gethelp.Config{Logger: log, Dir: dir})
	consent.SetOwner(desk.Owner)
	f.consent, f.runner = consent, runner
	f.ops = New(Config{Runner: runner, Policy: fixes.DefaultPolicy(), Desk: desk, Consent: consent, Logger: log, Recipes: recipes,
		KB: gethelp.OpenKBCache(filepath.Join(dir, "kb.json"), log)})
	f.ops.SetChecks([]diag.CheckResult{{Name: "dns-resolution", Status: diag.StatusFailing, Summary: "Names do not resolve"}})
	srv, err := localipc.Listen(f.socket, log)
	if err != nil {
		t.Fatal(err)
	}
	f.ops.Register(srv)
	done := make(chan struct{})
	go func() { srv.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; runner.Stop() })
	return f
}

// client is a client of the fixture's socket, and a context for one call.
func (f *opsFixture) client(t *testing.T) (context.Context, *localipc.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx, localipc.NewClient(f.socket)
}

// TestConsentThroughTray: a fix the hub asks for that needs the user's
// consent waits for the tray's answer: allowed, it runs; declined, it is
// refused with the reason the technician sees; with no tray polling,
// nobody can be asked.
func TestConsentThroughTray(t *testing.T) {
	f := newOpsFixture(t)
	request := func(runID string) {
		// On no ticket: any local user's tray may answer.
		f.runner.Submit(wire.RunRequest{RunID: runID, Fix: catalog.ResetNetwork, Tier: 1, RequestedBy: "tech1"}, nil)
	}
	result := func() wire.RunResult {
		select {
		case r := <-f.results:
			return r
		case <-time.After(30 * time.Second):
			t.Fatal("no run result")
		}
		return wire.RunResult{}
	}
	pending := func(runID string) localipc.ConsentItem {
		deadline := time.Now().Add(20 * time.Second)
		for {
			ctx, c := f.client(t)
			items, err := c.ConsentPending(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range items {
				if it.RunID == runID {
					return it
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("run %s never waited for consent: %+v", runID, items)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// Nobody polls yet: refused at once, saying why.
	request("run-no-tray-1")
	if r := result(); r.Outcome != wire.OutcomeRefused || r.Code != wire.RefuseConsent || !strings.Contains(r.Reason, "tray is not running") {
		t.Errorf("no tray: %+v", r)
	}

	// The tray polls; allowed, it runs.
	none, err := localipc.NewClient(f.socket).ConsentPending(context.Background())
	if err != nil || len(none) != 0 {
		t.Fatalf("nothing pending: %v %v", none, err)
	}
	request("run-consent-allow")
	it := pending("run-consent-allow")
	if it.Technician != "tech1" || it.Title != "Reset network" || it.Reason == "" || it.Expires.IsZero() {
		t.Errorf("consent item %+v", it)
	}
	if _, err := localipc.NewClient(f.socket).ConsentAnswer(context.Background(), localipc.ConsentAnswerCall{RunID: "run-consent-allow", Allow: true}); err != nil {
		t.Fatal(err)
	}
	if r := result(); r.Outcome == wire.OutcomeRefused || !strings.Contains(f.exec.ran(), "nmcli networking off") {
		t.Errorf("allowed: %+v, ran %q", r, f.exec.ran())
	}

	// Declined: refused, and the technician is told.
	request("run-consent-decline")
	pending("run-consent-decline")
	if _, err := localipc.NewClient(f.socket).ConsentAnswer(context.Background(), localipc.ConsentAnswerCall{RunID: "run-consent-decline", Allow: false}); err != nil {
		t.Fatal(err)
	}
	if r := result(); r.Outcome != wire.OutcomeRefused || r.Code != wire.RefuseConsent || !strings.Contains(r.Reason, "the user declined") {
		t.Errorf("declined: %+v", r)
	}
}

// TestTrayIconPriority: when several states apply, the icon shows the one
// the user should act on first: a message or consent request, then a
// problem on this machine, then offline, then all well.
func TestTrayIconPriority(t *testing.T) {
	failing := []localipc.Check{{Name: "dns-resolution", Status: "failing"}}
	for _, c := range []struct {
		name string
		st   localipc.Status
		want string
	}{
		{"all well", localipc.Status{Connected: true}, localipc.IconConnected},
		{"offline", localipc.Status{}, localipc.IconOffline},
		{"offline with queued requests", localipc.Status{Queued: 3}, localipc.IconOffline},
		{"problem", localipc.Status{Connected: true, Failing: failing}, localipc.IconProblem},
		{"problem while offline", localipc.Status{Failing: failing}, localipc.IconProblem},
		{"message", localipc.Status{Connected: true, MessagesWaiting: 1}, localipc.IconMessage},
		{"consent", localipc.Status{Connected: true, PendingConsent: 1}, localipc.IconMessage},
		{"message over problem", localipc.Status{Connected: true, Failing: failing, MessagesWaiting: 2}, localipc.IconMessage},
		{"consent over problem while offline", localipc.Status{Failing: failing, PendingConsent: 1}, localipc.IconMessage},
	} {
		if got := trayIcon(c.st); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// TestStatusIcon: the status operation puts the state together from the
// link, the health checks and the caller's tickets (the link here never
// reaches a hub, so it is offline).
func TestStatusIcon(t *testing.T) {
	f := newOpsFixture(t)
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	f.ops.link, err = link.New(link.Config{URL: "wss://127.0.0.1:1/agent/v1/connect", DeviceID: "abcdefabcdefabcdefabcdefabcdef12",
		Key: key, Spool: spool.NewMem(1<<20, slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	alice := localipc.Caller{UID: 1001, User: "alice"}
	nobody := localipc.Caller{UID: 65534, User: "nobody"}

	// dns-resolution fails and alice has no message: a problem.
	st := f.ops.status(ctx, alice)
	if st.Icon != localipc.IconProblem || st.Connected || len(st.Failing) != 1 || st.MessagesWaiting != 0 {
		t.Errorf("alice with a failing check: %+v", st)
	}
	// nobody has a technician's message waiting: that comes first.
	if st := f.ops.status(ctx, nobody); st.Icon != localipc.IconMessage || st.MessagesWaiting != 1 {
		t.Errorf("nobody with a message: icon %q, %d waiting", st.Icon, st.MessagesWaiting)
	}
	// The check recovers: offline is all that is left.
	f.ops.SetChecks([]diag.CheckResult{{Name: "dns-resolution", Status: diag.StatusOK, Summary: "Names resolve"}})
	if st := f.ops.status(ctx, alice); st.Icon != localipc.IconOffline || len(st.Failing) != 0 {
		t.Errorf("alice, all checks ok, offline: icon %q, failing %+v", st.Icon, st.Failing)
	}
}

// TestKBSearchLongText: Get help sends the whole problem as the user
// wrote it; a text longer than the hub's search limit still finds
// articles instead of being refused.
func TestKBSearchLongText(t *testing.T) {
	f := newOpsFixture(t)
	_, key, _ := ed25519.GenerateKey(nil)
	l, err := link.New(link.Config{URL: "wss://127.0.0.1:1/agent/v1/connect", DeviceID: strings.Repeat("ab", 16), Key: key,
		Spool: spool.NewMem(1<<20, f.ops.log), Logger: f.ops.log})
	if err != nil {
		t.Fatal(err)
	}
	f.ops.link, f.ops.kbWait = l, time.Second
	f.ops.kb.Remember([]wire.KBArticle{{ID: "kb-1", Title: "Printer jams", Body: "Open the tray and remove the paper."}})
	text := "my printer jams é " + strings.Repeat("ü and it will not print ", 3<<10/24)
	if len(text) < 3<<10-30 {
		t.Fatalf("test text is only %d bytes", len(text))
	}
	ctx, c := f.client(t)
	ans, err := c.KB(ctx, localipc.KBCall{Text: text})
	if err != nil {
		t.Fatalf("kb with %d bytes of text: %v", len(text), err)
	}
	if len(ans.Articles) != 1 || ans.Articles[0].ID != "kb-1" {
		t.Fatalf("kb with a long text: %+v", ans)
	}
}

// TestLocalRunActsForItsUser: a fix a local user runs acts for that user
// only (clear-temp then removes only that user's files); one the
// administrator runs acts for everyone.
func TestLocalRunActsForItsUser(t *testing.T) {
	f := newOpsFixture(t)
	ctx := context.Background()
	for _, who := range []localipc.Caller{{UID: 65534, User: "nobody"}, {UID: 0, User: "root", Privileged: true}} {
		res, err := f.ops.run(localipc.WithCaller(ctx, who), who, localipc.RunCall{Fix: catalog.ClearTemp})
		if err != nil || res.Outcome != wire.OutcomeSucceeded {
			t.Fatalf("%s runs clear-temp: %+v %v", who.User, res, err)
		}
	}
	f.exec.mu.Lock()
	defer f.exec.mu.Unlock()
	if !slices.Equal(f.exec.requesters, []int{65534, -1}) {
		t.Fatalf("clear-temp ran for uids %v, want [65534 -1]", f.exec.requesters)
	}
}

// TestHelpDeskBodiesAreStrict: the help desk's operations refuse a body
// they do not understand (an unknown field, something after the JSON)
// instead of reading half of it.
func TestHelpDeskBodiesAreStrict(t *testing.T) {
	f := newOpsFixture(t)
	for _, c := range []struct {
		op   localipc.Op
		body string
	}{
		{localipc.OpReply, `{"ticket_id":"t-nobody","text":"hello","cc":"someone"}`},
		{localipc.OpSurvey, `{"ticket_id":"t-nobody","score":5,"extra":true}`},
		{localipc.OpHelp, `{"text":"printer jams","urgent":true}`},
		{localipc.OpTickets, `{"peek":true,"all":true}`},
	} {
		ctx, cl := f.client(t)
		_, err := cl.Raw(ctx, c.op, json.RawMessage(c.body))
		var re *localipc.RemoteError
		if !errors.As(err, &re) || re.Code != localipc.CodeBadRequest || !strings.Contains(re.Message, "the request body is not valid") {
			t.Errorf("%s %s: %v, want bad_request", c.op, c.body, err)
		}
	}
	// The socket's framing carries one JSON value; in-process callers are
	// held to it too.
	var r wire.UserReply
	err := decodeBody(json.RawMessage(`{"ticket_id":"t-nobody","text":"hello"} {"ticket_id":"t-alice"}`), &r)
	if err == nil || !strings.Contains(err.Error(), "more after the JSON value") {
		t.Errorf("a body with trailing data: %v", err)
	}
	if err := decodeBody(json.RawMessage("{\"ticket_id\":\"t-nobody\",\"text\":\"hello\"}\n"), &r); err != nil {
		t.Errorf("a body with a trailing newline: %v", err)
	}
}

// TestFixListLeavesOutWhatDoesNotApply: on a machine without CUPS (the
// fixture's has NetworkManager and systemd-resolved only), the printing
// fixes are listed as not applicable, with the plain reason a run would
// give, so the Get help page and the tray do not offer them; flush-dns is
// offered.
func TestFixListLeavesOutWhatDoesNotApply(t *testing.T) {
	f := newOpsFixture(t)
	ctx, c := f.client(t)
	list, err := c.Fixes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		catalog.RestartPrintSpooler: "Printing cannot be restarted on this computer: it has no print service of its own (CUPS is not installed)",
		catalog.ResumePrinter:       "There is no printer to resume on this computer: it has no print service (CUPS is not installed)",
		catalog.CancelPrintJobs:     "There are no print jobs to cancel on this computer: it has no print service (CUPS is not installed)",
		catalog.ClearTemp:           "",
	}
	seen := 0
	for _, x := range list.Fixes {
		reason, ok := want[x.ID]
		if !ok {
			continue
		}
		seen++
		if x.Applicable != (reason == "") || x.Reason != reason {
			t.Errorf("%s: applicable %v, reason %q; want %q", x.ID, x.Applicable, x.Reason, reason)
		}
	}
	if seen != len(want) {
		t.Errorf("the list has %d of %v: %+v", seen, want, list.Fixes)
	}
}
