package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/tierline/tierline/agent/daemon"
	"github.com/tierline/tierline/agent/link"
	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/agent/spool"
)

func init() {
	register("run", "run the agent in the foreground (connect to the hub, stream telemetry)", runRun)
}

// byteSize parses a byte count with an optional KiB/MiB/GiB suffix.
type byteSize struct{ n *int64 }

func (b byteSize) String() string {
	if b.n == nil {
		return ""
	}
	return strconv.FormatInt(*b.n, 10)
}

func (b byteSize) Set(s string) error {
	mult := int64(1)
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30} {
		if len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix {
			s, mult = s[:len(s)-len(suffix)], m
			break
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return errors.New("want a positive byte count, e.g. 67108864 or 64MiB")
	}
	*b.n = v * mult
	return nil
}

// exitRestart asks the service manager to start the agent again: a new
// version is in place or the previous one was restored. systemd
// (Restart=on-failure), launchd (KeepAlive) and the Windows service
// recovery actions all restart on it.
const exitRestart = 75

// underServiceManager is set by service-run: restarts then exit with
// exitRestart instead of re-executing in place.
var underServiceManager bool

func runRun(ctx context.Context, args []string) int {
	fs := newFlags("run", "[--state DIR] [flags]",
		"Run the agent in the foreground: connect to the enrolled hub, send a telemetry sample\n"+
			"every --interval, and keep unsent messages in the on-disk spool. Stops cleanly on\n"+
			"SIGINT/SIGTERM. Exit status 3 means the hub revoked this device.")
	cfg := daemon.Config{Interval: 10 * time.Second, SpoolMaxBytes: spool.DefaultMaxBytes,
		Backoff:    link.Backoff{Base: link.DefaultBackoffBase, Max: link.DefaultBackoffMax},
		CheckEvery: time.Minute, InventoryEvery: time.Hour, ConsentWait: 2 * time.Minute}
	fs.StringVar(&cfg.State, "state", defaultStateDir(), "state directory written by `tierline-agent enroll`")
	fs.Var(durationFlag{&cfg.Interval}, "interval", "telemetry sample interval")
	fs.Var(byteSize{&cfg.SpoolMaxBytes}, "spool-max-bytes", "spool size cap; above it the oldest telemetry is dropped")
	fs.Var(durationFlag{&cfg.Backoff.Base}, "backoff-base", "reconnect backoff base (delay is random in [0, min(max, base*2^attempt)))")
	fs.Var(durationFlag{&cfg.Backoff.Max}, "backoff-max", "reconnect backoff cap")
	fs.Var(durationFlag{&cfg.CheckEvery}, "check-interval", "how often health checks run (results travel with telemetry)")
	fs.Var(durationFlag{&cfg.InventoryEvery}, "inventory-interval", "how often the inventory is re-read (sent only when it changed)")
	watch := fs.String("watch-services", "", "comma-separated services the service-stopped check watches")
	fs.StringVar(&cfg.PolicyFile, "policy", "", "device fix policy file (JSON; default STATE/policy.json; absent means the defaults)")
	fs.StringVar(&cfg.Socket, "socket", "", "local socket for the tray, the Get help page and the help command (default STATE/agent.sock; "+
		"the packaged service uses "+localipc.DefaultSocket()+")")
	fs.Var(durationFlag{&cfg.ConsentWait}, "consent-wait", "how long a fix that needs the user's consent waits for the answer from the tray")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	logFormat := fs.String("log-format", "text", "log format on stderr: text or json")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	log, err := newLogger(*logLevel, *logFormat)
	if err != nil {
		fmt.Fprintf(stderr, "tierline-agent run: %v\n", err)
		return exitUsage
	}
	if *watch != "" {
		cfg.WatchServices = strings.Split(*watch, ",")
	}
	cfg.Logger = log
	if os.Getenv("GOGC") == "" {
		// The agent's heap is small and steady; collecting a little earlier
		// keeps its resident memory under its 15 MB budget.
		debug.SetGCPercent(50)
	}
	agent, err := daemon.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "tierline-agent run: %v\n", err)
		return exitError
	}
	err = agent.Run(ctx)
	var cfgErr *daemon.ConfigError
	var restart *daemon.RestartError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, link.ErrRevoked):
		return exitRevoked
	case errors.As(err, &cfgErr):
		fmt.Fprintf(stderr, "tierline-agent run: %v\n", err)
		return exitUsage
	case errors.As(err, &restart):
		if underServiceManager || runtime.GOOS == "windows" {
			log.Info("exiting so the service manager starts the installed version", "status", exitRestart, "reason", restart.Reason)
			return exitRestart
		}
		// In the foreground on Unix: replace this process with the
		// installed binary.
		log.Info("restarting in place", "reason", restart.Reason, "exe", restart.Executable)
		err := execSelf(restart.Executable, os.Args, os.Environ())
		fmt.Fprintf(stderr, "tierline-agent run: restart into %s failed: %v; start the agent again\n", restart.Executable, err)
		return exitOK
	}
	log.Error("agent stopped", "err", err)
	return exitError
}
