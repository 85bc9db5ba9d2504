package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tierline/tierline/agent/execx"
	"github.com/tierline/tierline/agent/selfhelp"
	"github.com/tierline/tierline/agent/tray"
	"github.com/tierline/tierline/agent/version"
)

func init() {
	register("tray", "the tray icon for the logged-in user: Get help, My tickets, Fix it myself, Status", runTray)
	// The browser is opened from the user's own session (the tray's or
	// gethelp's process), never from the service.
	openURL = func(_ context.Context, url string) error { return execx.OpenURL(url) }
}

func runTray(ctx context.Context, args []string) int {
	fs := newFlags("tray", "[--state DIR | --socket PATH] [--poll 5s]",
		"Show the Tierline icon in your desktop's tray, for the logged-in user. It shows whether the\n"+
			"help desk can be reached, a problem found on this computer, or a message waiting; its menu\n"+
			"opens Get help and My tickets (the local page, on 127.0.0.1), runs the fixes you may run\n"+
			"yourself, and shows the status. Installers start it at sign-in. It talks to the agent\n"+
			"service over the local socket only, as you: it can do no more than you may.")
	agent := addAgentFlags(fs)
	poll := 5 * time.Second
	fs.Var(durationFlag{&poll}, "poll", "how often the tray asks the agent for its state")
	logLevel := fs.String("log-level", "warn", "log level: debug, info, warn, error")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	log, err := newLogger(*logLevel, "text")
	if err != nil {
		fmt.Fprintf(stderr, "tierline-agent tray: %v\n", err)
		return exitUsage
	}
	socket := agent.path()
	// The Get help page starts on first use and serves until the tray ends.
	var pageMu sync.Mutex
	var page *selfhelp.Server
	defer func() {
		if page != nil {
			page.Close()
		}
	}()
	helpPage := func(context.Context) (string, error) {
		pageMu.Lock()
		defer pageMu.Unlock()
		if page == nil {
			p, err := selfhelp.Start(ctx, selfhelp.Config{Socket: socket, Logger: log})
			if err != nil {
				return "", err
			}
			page = p
		}
		return page.URL(), nil
	}
	err = tray.Run(ctx, tray.Config{Socket: socket, Poll: poll, HelpPage: helpPage,
		OpenURL: execx.OpenURL, Version: version.Version, Logger: log})
	if err != nil {
		fmt.Fprintf(stderr, "tierline-agent tray: %v\n", err)
		return exitError
	}
	return exitOK
}
