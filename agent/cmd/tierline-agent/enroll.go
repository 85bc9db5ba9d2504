package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tierline/tierline/agent/identity"
	"github.com/tierline/tierline/shared/wire"
)

func init() { register("enroll", "enroll this device with a hub using an enrollment token", runEnroll) }

func runEnroll(ctx context.Context, args []string) int {
	fs := newFlags("enroll", "--token TOKEN [--state DIR] [--force]",
		"Enroll this device with the hub named in TOKEN (from `tierline-hub token create`).\n"+
			"The hub is verified against the CA fingerprint inside the token. The device's key,\n"+
			"identity and the hub CA are written to the state directory.")
	token := fs.String("token", "", "enrollment token (tl1....)")
	state := fs.String("state", defaultStateDir(), "state directory")
	force := fs.Bool("force", false, "enroll again even if the state directory already holds an identity (replaces it and clears the spool)")
	timeout := 30 * time.Second
	fs.Var(durationFlag{&timeout}, "timeout", "time limit for contacting the hub")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *token == "" {
		fmt.Fprintln(stderr, "tierline-agent enroll: --token is required (get one with `tierline-hub token create`)")
		return exitUsage
	}
	tok, err := wire.ParseEnrollToken(*token)
	if err != nil {
		fmt.Fprintf(stderr, "tierline-agent enroll: %v\n", err)
		return exitUsage
	}
	if identity.Exists(*state) && !*force {
		if old, err := identity.Load(*state); err == nil {
			fmt.Fprintf(stderr, "tierline-agent enroll: %s is already enrolled as device %s with hub %s; use --force to replace that identity\n",
				*state, old.DeviceID, old.HubURL)
		} else {
			fmt.Fprintf(stderr, "tierline-agent enroll: %s already holds an identity (%v); use --force to replace it\n", *state, err)
		}
		return exitError
	}
	id, err := identity.Enroll(ctx, identity.EnrollOptions{Token: tok, Host: identity.LocalHostInfo(ctx), Timeout: timeout})
	if err != nil {
		fmt.Fprintf(stderr, "tierline-agent enroll: %v\n", err)
		return exitError
	}
	if *force {
		// A new device starts a new sequence; the old device's spool is not ours.
		if err := os.RemoveAll(filepath.Join(*state, identity.SpoolDir)); err != nil {
			fmt.Fprintf(stderr, "tierline-agent enroll: clear old spool: %v\n", err)
			return exitError
		}
	}
	if err := identity.Save(*state, id); err != nil {
		fmt.Fprintf(stderr, "tierline-agent enroll: save identity: %v\n", err)
		return exitError
	}
	fmt.Fprintf(stdout, "enrolled as device %s with hub %s\nstate: %s\nstart the agent with: tierline-agent run --state %s\n",
		id.DeviceID, id.HubURL, *state, *state)
	return exitOK
}
