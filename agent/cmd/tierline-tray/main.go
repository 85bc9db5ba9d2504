// Command tierline-tray is the Tierline agent's program for the logged-in
// user's session: the tray icon (the default) and the Get help page
// (`tierline-tray gethelp`). It is a program of its own, apart from the
// tierline-agent service, so that the service never links the tray's GUI
// and D-Bus code nor the page's web server (docs/benchmarks.md, "where the
// memory goes"). It talks to the service only over the local socket, as the
// user who runs it. `tierline-agent tray` and `tierline-agent gethelp` run
// it from beside the agent. This main only declares flags and wires the
// agent/tray and agent/selfhelp packages.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tierline/tierline/agent/cmdline"
	"github.com/tierline/tierline/agent/execx"
	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/agent/selfhelp"
	"github.com/tierline/tierline/agent/service"
	"github.com/tierline/tierline/agent/tray"
	"github.com/tierline/tierline/agent/version"
	"github.com/tierline/tierline/shared/logging"
)

func main() {
	cmdline.Prog = "tierline-tray"
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// dispatch runs the tray, or the page when the first argument is gethelp.
// A first argument "tray" is the tray, as tierline-agent passes it on.
func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "tray":
			return runTray(ctx, args[1:], stdout, stderr)
		case "gethelp":
			return runGetHelp(ctx, args[1:], stdout, stderr)
		}
	}
	return runTray(ctx, args, stdout, stderr)
}

// socketFlags are --state and --socket: where the running agent listens.
type socketFlags struct {
	fs            *flag.FlagSet
	state, socket *string
}

func addSocketFlags(fs *flag.FlagSet) socketFlags {
	return socketFlags{fs: fs,
		state: fs.String("state", service.DefaultStateDir(), "the running agent's state directory (its socket is STATE/agent.sock)"),
		socket: fs.String("socket", "", "the running agent's local socket (default: STATE/agent.sock when --state is given, else "+
			localipc.DefaultSocket()+" when it exists, else STATE/agent.sock)"),
	}
}

func (s socketFlags) path() string {
	return localipc.Find(*s.socket, *s.state, cmdline.Given(s.fs, "state"))
}

// parse parses args; ok is false when the program must exit with code.
func parse(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (code int, ok bool) {
	err := cmdline.Parse(fs, args, false, stdout)
	switch {
	case err == nil:
		return cmdline.ExitOK, true
	case errors.Is(err, flag.ErrHelp):
		return cmdline.ExitOK, false
	}
	fmt.Fprintf(stderr, "%s %s: %v\n", cmdline.Prog, fs.Name(), err)
	return cmdline.ExitUsage, false
}

func runTray(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := cmdline.NewFlags("tray", "[--state DIR | --socket PATH] [--poll 5s]",
		"Show the Tierline icon in your desktop's tray, for the logged-in user. It shows whether the\n"+
			"help desk can be reached, a problem found on this computer, or a message waiting; its menu\n"+
			"opens Get help and My tickets (the local page, on 127.0.0.1), runs the fixes you may run\n"+
			"yourself, and shows the status. Installers start it at sign-in. It talks to the agent\n"+
			"service over the local socket only, as you: it can do no more than you may.", stderr)
	sock := addSocketFlags(fs)
	poll := 5 * time.Second
	fs.Var(cmdline.Duration{D: &poll}, "poll", "how often the tray asks the agent for its state")
	logLevel := fs.String("log-level", "warn", "log level: debug, info, warn, error")
	if code, ok := parse(fs, args, stdout, stderr); !ok {
		return code
	}
	log, err := logging.New(stderr, *logLevel, "text")
	if err != nil {
		fmt.Fprintf(stderr, "%s tray: %v\n", cmdline.Prog, err)
		return cmdline.ExitUsage
	}
	// The Get help page starts on first use and serves until the tray ends.
	helpPage, stopPage := selfhelp.OnDemand(ctx, selfhelp.Config{Socket: sock.path(), Logger: log})
	defer stopPage()
	err = tray.Run(ctx, tray.Config{Socket: sock.path(), Poll: poll, HelpPage: helpPage,
		OpenURL: execx.OpenURL, Version: version.Version, Logger: log})
	if err != nil {
		fmt.Fprintf(stderr, "%s tray: %v\n", cmdline.Prog, err)
		return cmdline.ExitError
	}
	return cmdline.ExitOK
}

func runGetHelp(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := cmdline.NewFlags("gethelp", "[--state DIR | --socket PATH] [--no-browser]",
		"Serve the Get help page on 127.0.0.1 (a random port) for you, the logged-in user, and open it\n"+
			"in your browser: what this computer's health checks find, matching articles from your help\n"+
			"desk, the fixes you may run yourself, and a ticket with all of it when that is not enough.\n"+
			"The printed link works once; it serves until Ctrl-C.", stderr)
	sock := addSocketFlags(fs)
	noBrowser := fs.Bool("no-browser", false, "print the link only; do not open a browser")
	if code, ok := parse(fs, args, stdout, stderr); !ok {
		return code
	}
	if cmdline.Given(fs, "state") && *sock.socket != "" {
		fmt.Fprintf(stderr, "%s gethelp: give --state or --socket, not both\n", cmdline.Prog)
		return cmdline.ExitUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := selfhelp.Open(ctx, selfhelp.Config{Socket: sock.path(), Logger: log}, stdout, stderr, !*noBrowser); err != nil {
		fmt.Fprintf(stderr, "%s gethelp: %v\n", cmdline.Prog, err)
		return cmdline.ExitError
	}
	return cmdline.ExitOK
}
