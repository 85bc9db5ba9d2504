package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/user"
	"path/filepath"
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
	state := fs.String("state", defaultStateDir(), "the running agent's state directory")
	category := fs.String("category", "", "one of: "+strings.Join(wire.HelpCategories, ", "))
	requestID := fs.String("request-id", "", "idempotency key (default: a new random id)")
	wait := 10 * time.Second
	fs.Var(durationFlag{&wait}, "wait", "how long to wait for the ticket number")
	asJSON := fs.Bool("json", false, "print the answer as JSON")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	text := strings.TrimSpace(strings.Join(fs.Args(), " "))
	if text == "" {
		fmt.Fprintln(stderr, `tierline-agent help: say what is wrong, e.g. tierline-agent help "the printer on floor 2 jams"`)
		return exitUsage
	}
	call := HelpCall{RequestID: *requestID, Text: text, Category: *category, Wait: wait}
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
	cctx, cancel := context.WithTimeout(ctx, wait+30*time.Second)
	defer cancel()
	var ans HelpAnswer
	err := localipc.Call(cctx, filepath.Join(*state, localipc.SocketName), "help", call, &ans)
	if errors.Is(err, localipc.ErrNotRunning) {
		fmt.Fprintf(stderr, "tierline-agent help: the Tierline agent is not running for %s; start it (tierline-agent start, or run --state %s) and try again\n", *state, *state)
		return exitError
	}
	if err != nil {
		fmt.Fprintf(stderr, "tierline-agent help: %v\n", err)
		return exitError
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
