package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/tierline/tierline/agent/cmdline"
	"github.com/tierline/tierline/agent/execx"
	"github.com/tierline/tierline/agent/gethelp"
	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/shared/wire"
)

func init() {
	register("help", `ask for help: file a ticket with this machine's diagnostics ("Get help" from a shell)`, runHelp)
	register("kb", `search the help desk's published knowledge-base articles: kb "words"`, runKB)
	register("software", "the organisation's software you may install yourself; software install ID installs one",
		shellCommand("software", "[--state DIR] [--json] [install ID]", "List the software your organisation offers you to install yourself, or install one.",
			gethelp.Shell.SoftwareCommand))
	register("tickets", "this computer's tickets: state, tier, technicians' messages (--json for JSON)",
		shellCommand("tickets", "[--state DIR] [--json]", "List this computer's tickets as the help desk last described them.",
			func(sh gethelp.Shell, ctx context.Context, _ []string) error { return sh.Tickets(ctx) }))
	register("reply", `answer a technician on one of this computer's tickets: reply --ticket ID "text"`, runReply)
	register("survey", "rate how a resolved ticket was handled: survey --ticket ID --score 1-5 [--comment C]", runSurvey)
	register("gethelp", "open the local Get help page (self-help first, then a ticket) in your browser", runInTray("gethelp"))
	register("tray", "the tray icon for the logged-in user: Get help, My tickets, Fix it myself, Status", runInTray("tray"))
}

func runHelp(ctx context.Context, args []string) int {
	fs := newFlags("help", `[--state DIR] [--category C] [--request-id ID] "what is wrong"`,
		"File a help request through the running agent: your words, plus a snapshot of this machine\n"+
			"(health checks now, the latest telemetry, the inventory and the last day's history). The\n"+
			"hub files it as a ticket and you see its number. When the hub cannot be reached the request\n"+
			"waits in the agent's spool and is sent later. Categories: "+strings.Join(wire.HelpCategories, ", ")+".\n"+
			"Repeating the command with the same --request-id never files a second ticket.")
	agent := addAgentFlags(fs)
	call := localipc.HelpCall{Wait: 10 * time.Second}
	fs.StringVar(&call.Category, "category", "", "one of: "+strings.Join(wire.HelpCategories, ", "))
	fs.StringVar(&call.RequestID, "request-id", "", "idempotency key (default: a new random id)")
	fs.Var(cmdline.Duration{D: &call.Wait}, "wait", "how long to wait for the ticket number")
	noSuggest := fs.Bool("no-suggest", false, "file at once, without first showing matching knowledge-base articles")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	call.Text = strings.TrimSpace(strings.Join(fs.Args(), " "))
	if call.Text == "" {
		fmt.Fprintln(stderr, `tierline-agent help: say what is wrong, e.g. tierline-agent help "the printer on floor 2 jams"`)
		return exitUsage
	}
	return agent.done(agent.shell().File(ctx, call, !*noSuggest))
}

func runKB(ctx context.Context, args []string) int {
	fs := newFlags("kb", `[--state DIR | --socket PATH] [--json] "words"`,
		"Search the help desk's published knowledge-base articles through the running agent. The\n"+
			"articles linked to this machine's failing health checks come first. When the hub cannot\n"+
			"be reached, the agent answers from the articles it saw before, and says so.")
	agent := addAgentFlags(fs)
	full := fs.Bool("full", false, "print each article's whole text")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	return agent.done(agent.shell().Search(ctx, strings.TrimSpace(strings.Join(fs.Args(), " ")), *full))
}

// shellCommand is a command with only the local socket's flags whose work
// is one call of the Get help shell.
func shellCommand(name, usage, doc string, call func(gethelp.Shell, context.Context, []string) error) cmdline.RunFunc {
	return func(ctx context.Context, args []string) int {
		fs := newFlags(name, usage, doc)
		agent := addAgentFlags(fs)
		if code, ok := parseFlags(fs, args); !ok {
			return code
		}
		return agent.done(call(agent.shell(), ctx, fs.Args()))
	}
}

func runReply(ctx context.Context, args []string) int {
	fs := newFlags("reply", `--ticket ID [--state DIR] "text"`, "Send a message to the technicians on one of this computer's tickets.")
	agent := addAgentFlags(fs)
	ticket := fs.String("ticket", "", "ticket id (see tierline-agent tickets)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	r := wire.UserReply{TicketID: *ticket, Text: strings.TrimSpace(strings.Join(fs.Args(), " "))}
	return agent.done(agent.shell().Reply(ctx, r))
}

func runSurvey(ctx context.Context, args []string) int {
	fs := newFlags("survey", "--ticket ID --score 1-5 [--comment C] [--state DIR]",
		"Answer the one-question satisfaction survey of a resolved ticket: 1 very unhappy ... 5 very happy.")
	agent := addAgentFlags(fs)
	var a wire.SurveyAnswer
	fs.StringVar(&a.TicketID, "ticket", "", "ticket id (see tierline-agent tickets)")
	fs.IntVar(&a.Score, "score", 0, "1 (very unhappy) to 5 (very happy)")
	fs.StringVar(&a.Comment, "comment", "", "optional comment")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	return agent.done(agent.shell().Survey(ctx, a))
}

// agentFlags are the flags of a client of the local socket.
type agentFlags struct {
	fs     *flag.FlagSet
	state  *string
	socket *string
	json   *bool
}

func addAgentFlags(fs *flag.FlagSet) agentFlags {
	a := agentFlags{fs: fs,
		state: fs.String("state", defaultStateDir(), "the running agent's state directory (its socket is STATE/agent.sock)"),
		socket: fs.String("socket", "", "the running agent's local socket (default: STATE/agent.sock when --state is given, else "+
			localipc.DefaultSocket()+" when it exists, else STATE/agent.sock)"),
	}
	switch fs.Name() {
	case "help":
		a.json = fs.Bool("json", false, "print the answer as JSON")
	case "kb", "tickets", "software":
		a.json = fs.Bool("json", false, "print JSON")
	}
	return a
}

// stateSet reports whether --state was given (or TIERLINE_STATE).
func (a agentFlags) stateSet() bool { return cmdline.Given(a.fs, "state") }

// path is the socket to call (localipc.Find).
func (a agentFlags) path() string { return localipc.Find(*a.socket, *a.state, a.stateSet()) }

func (a agentFlags) shell() gethelp.Shell {
	return gethelp.Shell{Agent: localipc.NewClient(a.path()), Out: stdout, JSON: a.json != nil && *a.json}
}

// done is a subcommand's exit status after its call to the agent.
func (a agentFlags) done(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, new(*gethelp.InputError)):
		return fail(a.fs, exitUsage, err)
	case errors.Is(err, localipc.ErrNotRunning):
		err = fmt.Errorf("the Tierline agent is not running (no socket at %s); start it and try again", a.path())
	}
	return fail(a.fs, exitError, err)
}

// trayProgram is the user's session program, installed beside the agent:
// the tray and the Get help page. They live apart so that the service
// never links their GUI, D-Bus and web server code (docs/benchmarks.md).
const trayProgram = "tierline-tray"

// runInTray makes subcommand sub run tierline-tray's own sub, with the
// same arguments and environment, in place of this process.
func runInTray(sub string) cmdline.RunFunc {
	return func(_ context.Context, args []string) int {
		path, err := execx.Companion(trayProgram)
		if errors.Is(err, execx.ErrNoCompanion) {
			fmt.Fprintf(stderr, "tierline-agent %s: the tray and the Get help page are the program %s, which is not installed beside this agent (%s); install it from the same package or release\n", sub, trayProgram, path)
			return exitError
		}
		if err == nil {
			var code int
			if code, err = execx.Become(path, append([]string{sub}, args...)); err == nil {
				return code
			}
		}
		fmt.Fprintf(stderr, "tierline-agent %s: %v\n", sub, err)
		return exitError
	}
}
