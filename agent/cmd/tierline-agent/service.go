package main

import (
	"context"
	"fmt"
	"time"

	"github.com/tierline/tierline/agent/cmdline"
	"github.com/tierline/tierline/agent/daemon"
	"github.com/tierline/tierline/agent/identity"
	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/agent/recipes"
	"github.com/tierline/tierline/agent/service"
	"github.com/tierline/tierline/shared/wire"
)

func init() {
	register("enroll", "enroll this device with a hub using an enrollment token", runEnroll)
	register("install", "enroll (with --token) and install and start the agent service", runInstall)
	register("uninstall", "stop and remove the agent service (--purge: also its state and identity)", runUninstall)
	for _, action := range []string{"start", "stop", "restart"} {
		register(action, action+" the agent service", func(ctx context.Context, a []string) int { return runControl(ctx, action, a) })
	}
	register("status", "show the service state, enrollment, hub reachability, spool depth and version", runStatus)
	register("service-run", "run the agent under the service manager (what the installed service starts)", runServiceRun)
}

// serviceRoot lets tests point service-manager detection at a fake root.
var serviceRoot = ""

func serviceConfig(state string) service.Config {
	return service.Config{StateDir: state, LogDir: service.DefaultLogDir(), Root: serviceRoot}
}

func runInstall(ctx context.Context, args []string) int {
	fs := newFlags("install", "[--token TOKEN] [--state DIR]",
		"Install the agent as a service (systemd, launchd or the Windows Service Control Manager)\n"+
			"and start it. With --token, enroll first unless the state directory already holds an\n"+
			"identity. Run as root/Administrator.")
	token := fs.String("token", "", "enrollment token (tl1....); not needed when already enrolled")
	state := fs.String("state", defaultStateDir(), "state directory")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	cfg := serviceConfig(*state)
	if err := service.Detect(cfg.Root); err != nil {
		return fail(fs, exitError, err)
	}
	if !identity.Exists(*state) {
		if *token == "" {
			fmt.Fprintf(stderr, "tierline-agent install: %s holds no identity; pass --token (from `tierline-hub token create`)\n", *state)
			return exitUsage
		}
		if code := runEnroll(ctx, []string{"--token", *token, "--state", *state}); code != exitOK {
			return code
		}
	}
	if err := service.InstallAndStart(cfg); err != nil {
		return fail(fs, exitError, err)
	}
	fmt.Fprintf(stdout, "tierline-agent service installed and started (state %s)\n", *state)
	return exitOK
}

func runUninstall(ctx context.Context, args []string) int {
	fs := newFlags("uninstall", "[--purge] [--state DIR]",
		"Stop and remove the agent service. --purge also deletes the state directory: the device's\n"+
			"identity, key and spool (it must be enrolled again afterwards).")
	purge := fs.Bool("purge", false, "also remove state and identity")
	state := fs.String("state", defaultStateDir(), "state directory")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if err := service.Remove(serviceConfig(*state), *purge); err != nil {
		return fail(fs, exitError, err)
	}
	fmt.Fprintln(stdout, "tierline-agent service removed")
	return exitOK
}

func runControl(_ context.Context, action string, args []string) int {
	fs := newFlags(action, "", "Ask the service manager to "+action+" the agent service.")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if err := service.Control(serviceConfig(defaultStateDir()), action); err != nil {
		return fail(fs, exitError, err)
	}
	return exitOK
}

func runStatus(ctx context.Context, args []string) int {
	fs := newFlags("status", "[--state DIR]", "Show the service state, enrollment, hub reachability, spool depth,\npending update and version.")
	state := fs.String("state", defaultStateDir(), "state directory")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	svc, err := service.Status(serviceConfig(*state))
	if err != nil {
		svc = err.Error()
	}
	if !daemon.Status(ctx, stdout, *state, svc) {
		return exitError
	}
	return exitOK
}

// runServiceRun is what the installed service starts: `run` under the
// service manager. On Windows it changes to its own directory (services
// start in system32) and logs to a file.
func runServiceRun(ctx context.Context, args []string) int {
	underServiceManager = true
	state, token, recipeKey, args := service.RunArgs(args, defaultStateDir())
	cfg := serviceConfig(state)
	if f := service.Prepare(cfg); f != nil {
		stderr = f
		defer f.Close()
	}
	if token != "" && !identity.Exists(state) {
		if code := runEnroll(ctx, []string{"--token", token, "--state", state, "--recipe-key", recipeKey}); code != exitOK {
			fmt.Fprintf(stderr, "tierline-agent service-run: enrollment with the configured token failed; fix the token and restart the service\n")
		}
	}
	return service.Run(ctx, cfg, func(ctx context.Context) int {
		// The service's socket is where users' trays find it (the state
		// directory is 0700); flags given to service-run still win.
		return runRun(ctx, append([]string{"--log-format", "json", "--socket", localipc.DefaultSocket()}, args...))
	})
}

func runEnroll(ctx context.Context, args []string) int {
	fs := newFlags("enroll", "--token TOKEN [--state DIR] [--force]",
		"Enroll this device with the hub named in TOKEN (from `tierline-hub token create`).\n"+
			"The hub is verified against the CA fingerprint inside the token. The device's key,\n"+
			"identity and the hub CA are written to the state directory.")
	token := fs.String("token", "", "enrollment token (tl1....)")
	state := fs.String("state", defaultStateDir(), "state directory")
	force := fs.Bool("force", false, "enroll again even if the state directory already holds an identity (replaces it and clears the spool)")
	recipeKey := fs.String("recipe-key", "", "the organisation's recipe public key to pin (the base64 key or its file); default: the token's, if any")
	timeout := 30 * time.Second
	fs.Var(cmdline.Duration{D: &timeout}, "timeout", "time limit for contacting the hub")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *token == "" {
		fmt.Fprintln(stderr, "tierline-agent enroll: --token is required (get one with `tierline-hub token create`)")
		return exitUsage
	}
	tok, err := wire.ParseEnrollToken(*token)
	if err != nil {
		return fail(fs, exitUsage, err)
	}
	if err := recipes.CheckEnrollmentKey(*state, *recipeKey, tok.RecipeKey); err != nil { // before the hub is contacted
		return fail(fs, exitUsage, err)
	}
	id, err := identity.EnrollInto(ctx, *state, identity.EnrollOptions{Token: tok, Host: identity.LocalHostInfo(ctx), Timeout: timeout}, *force)
	if err != nil {
		return fail(fs, exitError, err)
	}
	keyID, err := recipes.PinAtEnrollment(*state, *recipeKey, tok.RecipeKey, time.Now())
	if err != nil {
		return fail(fs, exitError, err)
	}
	fmt.Fprintf(stdout, "enrolled as device %s with hub %s\nstate: %s\nrecipe signing key pinned: %s\nstart the agent with: tierline-agent run --state %s\n",
		id.DeviceID, id.HubURL, *state, keyID, *state)
	return exitOK
}
