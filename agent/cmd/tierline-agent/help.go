package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/shared/wire"
)

func init() {
	register("help", `ask for help: file a ticket with this machine's diagnostics ("Get help" from a shell)`, runHelp)
}

func runHelp(ctx context.Context, args []string) int {
	fs := newFlags("help", `[--state DIR] [--category C] [--request-id ID] "what is wrong"`,
		"File a help request through the running agent: your words, plus a snapshot of this machine\n"+
			"(health checks now, the latest telemetry, the inventory and the last day's history). The\n"+
			"hub files it as a ticket and you see its number. When the hub cannot be reached the request\n"+
			"waits in the agent's spool and is sent later. Categories: "+strings.Join(wire.HelpCategories, ", ")+".\n"+
			"Repeating the command with the same --request-id never files a second ticket.")
	agent := addAgentFlags(fs)
	category := fs.String("category", "", "one of: "+strings.Join(wire.HelpCategories, ", "))
	requestID := fs.String("request-id", "", "idempotency key (default: a new random id)")
	wait := 10 * time.Second
	fs.Var(durationFlag{&wait}, "wait", "how long to wait for the ticket number")
	asJSON := fs.Bool("json", false, "print the answer as JSON")
	noSuggest := fs.Bool("no-suggest", false, "file at once, without first showing matching knowledge-base articles")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	text := strings.TrimSpace(strings.Join(fs.Args(), " "))
	if text == "" {
		fmt.Fprintln(stderr, `tierline-agent help: say what is wrong, e.g. tierline-agent help "the printer on floor 2 jams"`)
		return exitUsage
	}
	var tried []string
	if !*noSuggest && !*asJSON {
		tried = suggest(ctx, agent, text)
	}
	call := localipc.HelpCall{RequestID: *requestID, Text: text, Category: *category, Wait: wait, Tried: wire.SelfHelp{Articles: tried}}
	if call.RequestID == "" {
		call.RequestID = wire.NewID()
	}
	if u, err := user.Current(); err == nil {
		call.User = u.Username
	}
	if err := (wire.HelpRequest{RequestID: call.RequestID, Text: text, Category: *category, User: call.User}).Validate(); err != nil {
		fmt.Fprintf(stderr, "tierline-agent help: %v\n", err)
		return exitUsage
	}
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	ans, err := agent.client().Help(cctx, call)
	if err != nil {
		return agentFailed("help", agent, err)
	}
	if *asJSON {
		b, _ := json.MarshalIndent(ans, "", "  ")
		fmt.Fprintln(stdout, string(b))
		return exitOK
	}
	switch {
	case ans.Number > 0:
		fmt.Fprintf(stdout, "Ticket #%d filed with the Tier %d help desk.\n", ans.Number, ans.Tier)
		if ans.Next != "" {
			fmt.Fprintln(stdout, ans.Next)
		}
	case ans.Connected:
		fmt.Fprintf(stdout, "Your request is on its way to the help desk (request %s); its ticket number will follow.\n", ans.RequestID)
	default:
		fmt.Fprintf(stdout, "The help desk cannot be reached right now. Your request is saved on this computer (request %s)\n"+
			"and will be sent automatically as soon as the connection is back.\n", ans.RequestID)
	}
	return exitOK
}

// suggest prints the knowledge-base articles matching text, one line
// each, and returns their ids (the self-help shown).
func suggest(ctx context.Context, agent agentFlags, text string) []string {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ans, err := agent.client().KB(cctx, localipc.KBCall{Text: text})
	if err != nil || len(ans.Articles) == 0 {
		return nil
	}
	fmt.Fprintln(stdout, "These help desk articles may solve it (tierline-agent kb \"words\" shows them in full):")
	var ids []string
	for _, a := range ans.Articles {
		fmt.Fprintf(stdout, "  - %s  (article %s)\n", oneLine(a.Title, 100), a.ID)
		ids = append(ids, a.ID)
	}
	fmt.Fprintln(stdout, "Filing your request anyway; it says which articles you were shown.")
	return ids
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	return s
}

func init() {
	register("kb", `search the help desk's published knowledge-base articles: kb "words"`, runKB)
}

func runKB(ctx context.Context, args []string) int {
	fs := newFlags("kb", `[--state DIR | --socket PATH] [--json] "words"`,
		"Search the help desk's published knowledge-base articles through the running agent. The\n"+
			"articles linked to this machine's failing health checks come first. When the hub cannot\n"+
			"be reached, the agent answers from the articles it saw before, and says so.")
	agent := addAgentFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	full := fs.Bool("full", false, "print each article's whole text")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	text := strings.TrimSpace(strings.Join(fs.Args(), " "))
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	ans, err := agent.client().KB(cctx, localipc.KBCall{Text: text})
	if err != nil {
		return agentFailed("kb", agent, err)
	}
	if *asJSON {
		b, _ := json.MarshalIndent(ans, "", "  ")
		fmt.Fprintln(stdout, string(b))
		return exitOK
	}
	if ans.Cached {
		fmt.Fprintln(stdout, "(The help desk cannot be reached; these are from the articles this computer saw before.)")
	}
	if len(ans.Articles) == 0 {
		fmt.Fprintln(stdout, `No matching articles. Ask for help with: tierline-agent help "what is wrong"`)
		return exitOK
	}
	for _, a := range ans.Articles {
		fmt.Fprintf(stdout, "%s  (article %s)\n", oneLine(a.Title, 100), a.ID)
		switch {
		case *full:
			for _, l := range strings.Split(strings.TrimSpace(a.Body), "\n") {
				fmt.Fprintf(stdout, "    %s\n", l)
			}
		case a.Snippet != "":
			fmt.Fprintf(stdout, "    %s\n", oneLine(a.Snippet, 160))
		}
		if len(a.Fixes) > 0 {
			fmt.Fprintf(stdout, "    Fixes: %s\n", strings.Join(a.Fixes, ", "))
		}
	}
	return exitOK
}

func init() {
	register("tickets", "this computer's tickets: state, tier, technicians' messages (--json for JSON)", runTickets)
	register("reply", `answer a technician on one of this computer's tickets: reply --ticket ID "text"`, runReply)
	register("survey", "rate how a resolved ticket was handled: survey --ticket ID --score 1-5 [--comment C]", runSurvey)
}

// agentFlags are the flags of a client of the local socket.
type agentFlags struct {
	fs     *flag.FlagSet
	state  *string
	socket *string
}

func addAgentFlags(fs *flag.FlagSet) agentFlags {
	return agentFlags{fs: fs,
		state: fs.String("state", defaultStateDir(), "the running agent's state directory (its socket is STATE/agent.sock)"),
		socket: fs.String("socket", "", "the running agent's local socket (default: STATE/agent.sock when --state is given, else "+
			localipc.DefaultSocket()+" when it exists, else STATE/agent.sock)"),
	}
}

// path resolves the socket: --socket, else the state directory's when
// --state was given, else the packaged service's, else the default state
// directory's.
func (a agentFlags) path() string {
	if *a.socket != "" {
		return *a.socket
	}
	stateSet := os.Getenv(envName("state")) != ""
	a.fs.Visit(func(f *flag.Flag) { stateSet = stateSet || f.Name == "state" })
	if runtime.GOOS == "windows" {
		return localipc.DefaultSocket()
	}
	if !stateSet {
		if _, err := os.Stat(localipc.DefaultSocket()); err == nil {
			return localipc.DefaultSocket()
		}
	}
	return filepath.Join(*a.state, localipc.SocketName)
}

// callTimeout bounds one call of a subcommand to the running agent.
const callTimeout = 30 * time.Second

func (a agentFlags) client() *localipc.Client { return localipc.NewClient(a.path()) }

// agentFailed prints a failed local call the way every subcommand does.
func agentFailed(name string, agent agentFlags, err error) int {
	if errors.Is(err, localipc.ErrNotRunning) {
		fmt.Fprintf(stderr, "tierline-agent %s: the Tierline agent is not running (no socket at %s); start it and try again\n", name, agent.path())
	} else {
		fmt.Fprintf(stderr, "tierline-agent %s: %v\n", name, err)
	}
	return exitError
}

func runTickets(ctx context.Context, args []string) int {
	fs := newFlags("tickets", "[--state DIR] [--json]", "List this computer's tickets as the help desk last described them.")
	agent := addAgentFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	list, err := agent.client().Tickets(cctx, localipc.TicketsCall{})
	if err != nil {
		return agentFailed("tickets", agent, err)
	}
	if *asJSON {
		b, _ := json.MarshalIndent(list, "", "  ")
		fmt.Fprintln(stdout, string(b))
		return exitOK
	}
	if len(list) == 0 {
		fmt.Fprintln(stdout, `No tickets. Ask for help with: tierline-agent help "what is wrong"`)
	}
	for _, t := range list {
		fmt.Fprintf(stdout, "#%d  %s  Tier %d  %s  (id %s)\n", t.Number, t.State, t.Tier, t.Title, t.ID)
		for _, m := range t.Messages {
			fmt.Fprintf(stdout, "    %s %s: %s\n", m.Time.Local().Format("2006-01-02 15:04"), m.From, m.Text)
		}
		if t.AskSurvey {
			fmt.Fprintf(stdout, "    Resolved. How did we do? tierline-agent survey --ticket %s --score 1-5\n", t.ID)
		}
	}
	return exitOK
}

func runReply(ctx context.Context, args []string) int {
	fs := newFlags("reply", `--ticket ID [--state DIR] "text"`, "Send a message to the technicians on one of this computer's tickets.")
	agent := addAgentFlags(fs)
	ticket := fs.String("ticket", "", "ticket id (see tierline-agent tickets)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	// The id makes the reply count once however often it is delivered.
	r := wire.UserReply{TicketID: *ticket, Text: strings.TrimSpace(strings.Join(fs.Args(), " ")), ID: wire.NewID()}
	if u, err := user.Current(); err == nil {
		r.User = u.Username
	}
	if err := r.Validate(); err != nil {
		fmt.Fprintf(stderr, "tierline-agent reply: %v\n", err)
		return exitUsage
	}
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if _, err := agent.client().Reply(cctx, r); err != nil {
		return agentFailed("reply", agent, err)
	}
	fmt.Fprintln(stdout, "Reply saved; it reaches the help desk as soon as the hub can be reached.")
	return exitOK
}

func runSurvey(ctx context.Context, args []string) int {
	fs := newFlags("survey", "--ticket ID --score 1-5 [--comment C] [--state DIR]",
		"Answer the one-question satisfaction survey of a resolved ticket: 1 very unhappy ... 5 very happy.")
	agent := addAgentFlags(fs)
	ticket := fs.String("ticket", "", "ticket id (see tierline-agent tickets)")
	score := fs.Int("score", 0, "1 (very unhappy) to 5 (very happy)")
	comment := fs.String("comment", "", "optional comment")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	a := wire.SurveyAnswer{TicketID: *ticket, Score: *score, Comment: *comment}
	if err := a.Validate(); err != nil {
		fmt.Fprintf(stderr, "tierline-agent survey: %v\n", err)
		return exitUsage
	}
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if _, err := agent.client().Survey(cctx, a); err != nil {
		return agentFailed("survey", agent, err)
	}
	fmt.Fprintln(stdout, "Thank you. Your answer reaches the help desk as soon as the hub can be reached.")
	return exitOK
}
