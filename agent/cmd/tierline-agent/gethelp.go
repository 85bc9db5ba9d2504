package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/tierline/tierline/agent/selfhelp"
)

func init() {
	register("gethelp", "open the local Get help page (self-help first, then a ticket) in your browser", runGetHelp)
}

// openURL opens a link in the user's browser; nil when this build has no
// way to (the link is then only printed).
var openURL func(ctx context.Context, url string) error

func runGetHelp(ctx context.Context, args []string) int {
	fs := newFlags("gethelp", "[--state DIR | --socket PATH] [--no-browser]",
		"Serve the Get help page on 127.0.0.1 (a random port) for you, the logged-in user, and open it\n"+
			"in your browser: what this computer's health checks find, matching articles from your help\n"+
			"desk, the fixes you may run yourself, and a ticket with all of it when that is not enough.\n"+
			"The printed link works once; it serves until Ctrl-C.")
	agent := addAgentFlags(fs)
	noBrowser := fs.Bool("no-browser", false, "print the link only; do not open a browser")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	stateSet := os.Getenv(envName("state")) != ""
	fs.Visit(func(f *flag.Flag) { stateSet = stateSet || f.Name == "state" })
	if stateSet && *agent.socket != "" {
		fmt.Fprintln(stderr, "tierline-agent gethelp: give --state or --socket, not both")
		return exitUsage
	}
	path := agent.path()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := selfhelp.Start(ctx, selfhelp.Config{Socket: path, Logger: log})
	if err != nil {
		fmt.Fprintf(stderr, "tierline-agent gethelp: %v\n", err)
		return exitError
	}
	url := srv.URL()
	fmt.Fprintf(stdout, "Get help is open at:\n%s\n", url)
	opened := false
	if !*noBrowser && openURL != nil {
		if err := openURL(ctx, url); err != nil {
			fmt.Fprintf(stderr, "tierline-agent gethelp: could not open a browser (%v); open the link above yourself\n", err)
		} else {
			opened = true
		}
	}
	if !opened && !*noBrowser {
		fmt.Fprintln(stdout, "Open the link above in your browser.")
	}
	fmt.Fprintln(stdout, "Press Ctrl-C to stop.")
	<-ctx.Done()
	srv.Close()
	return exitOK
}
