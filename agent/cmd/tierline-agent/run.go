package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tierline/tierline/agent/cmdline"
	"github.com/tierline/tierline/agent/daemon"
	"github.com/tierline/tierline/agent/link"
	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/agent/update"
	"github.com/tierline/tierline/agent/version"
	"github.com/tierline/tierline/shared/logging"
)

func init() {
	register("run", "run the agent in the foreground (connect to the hub, stream telemetry)", runRun)
	register("update-probe", "check that this binary can load the identity and reach the hub (used before an update)", runUpdateProbe)
}

// exitRestart asks the service manager to start the agent again (daemon.RestartError).
const exitRestart = 75

// underServiceManager is set by service-run.
var underServiceManager bool

func runRun(ctx context.Context, args []string) int {
	fs := newFlags("run", "[--state DIR] [flags]",
		"Run the agent in the foreground: connect to the enrolled hub, send a telemetry sample\n"+
			"every --interval, and keep unsent messages in the on-disk spool. Stops cleanly on\n"+
			"SIGINT/SIGTERM. Exit status 3 means the hub revoked this device.")
	cfg := daemon.DefaultConfig()
	fs.StringVar(&cfg.State, "state", defaultStateDir(), "state directory written by `tierline-agent enroll`")
	fs.Var(cmdline.Duration{D: &cfg.Interval}, "interval", "telemetry sample interval")
	fs.Var(cmdline.Bytes{N: &cfg.SpoolMaxBytes}, "spool-max-bytes", "spool size cap; above it the oldest telemetry is dropped")
	fs.Var(cmdline.Duration{D: &cfg.Backoff.Base}, "backoff-base", "reconnect backoff base (delay is random in [0, min(max, base*2^attempt)))")
	fs.Var(cmdline.Duration{D: &cfg.Backoff.Max}, "backoff-max", "reconnect backoff cap")
	fs.Var(cmdline.Duration{D: &cfg.PingInterval}, "ping-interval", "a connection to the hub that goes silent (half-open) is noticed and dropped within this: the agent pings when the hub has been quiet for this less --ping-timeout")
	fs.Var(cmdline.Duration{D: &cfg.PingTimeout}, "ping-timeout", "how long the agent waits for the hub's pong before it drops the connection and dials again (shorter than --ping-interval; half of it when not)")
	fs.Var(cmdline.Duration{D: &cfg.CheckEvery}, "check-interval", "how often health checks run (results travel with telemetry)")
	fs.Var(cmdline.Duration{D: &cfg.InventoryEvery}, "inventory-interval", "how often the inventory is re-read (sent only when it changed)")
	cfg.AddCheckFlags(fs)
	cfg.AddLimitFlags(fs)
	fs.StringVar(&cfg.PolicyFile, "policy", "", "device fix policy file (JSON; default STATE/policy.json; absent means the defaults)")
	fs.StringVar(&cfg.Socket, "socket", "", "local socket for the tray, the Get help page and the help command (default STATE/agent.sock; the packaged service uses "+localipc.DefaultSocket()+")")
	fs.Var(cmdline.Duration{D: &cfg.ConsentWait}, "consent-wait", "how long a fix that needs the user's consent waits for the answer from the tray")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	logFormat := fs.String("log-format", "text", "log format on stderr: text or json")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	log, err := logging.New(stderr, *logLevel, *logFormat)
	if err != nil {
		return fail(fs, exitUsage, err)
	}
	cfg.Logger, cfg.ServiceManaged = log, underServiceManager
	agent, err := daemon.New(cfg)
	if err != nil {
		return fail(fs, exitError, err)
	}
	switch err := agent.Run(ctx); {
	case err == nil:
		return exitOK
	case errors.Is(err, link.ErrRevoked):
		return exitRevoked
	case errors.As(err, new(*daemon.RestartError)):
		return exitRestart
	case errors.As(err, new(*daemon.ConfigError)):
		return fail(fs, exitUsage, err)
	default:
		log.Error("agent stopped", "err", err)
		return exitError
	}
}

func runUpdateProbe(ctx context.Context, args []string) int {
	fs := newFlags("update-probe", "[--state DIR] [--timeout 60s]",
		"Load the identity in the state directory, connect to the hub once and exit 0 when the\n"+
			"hub welcomes this device. The running agent calls this on a new release before\n"+
			"installing it.")
	state := fs.String("state", defaultStateDir(), "state directory written by `tierline-agent enroll`")
	timeout := 60 * time.Second
	fs.Var(cmdline.Duration{D: &timeout}, "timeout", "give up after this long")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch err := daemon.Probe(ctx, *state, timeout); {
	case err == nil:
		fmt.Fprintf(stdout, "%s%s\n", update.ProbeOK, version.Version)
		return exitOK
	case errors.Is(err, link.ErrRevoked):
		return fail(fs, exitRevoked, err)
	default:
		return fail(fs, exitError, err)
	}
}
