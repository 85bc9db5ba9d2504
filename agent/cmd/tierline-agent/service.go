package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/tierline/tierline/agent/identity"
	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/agent/service"
	"github.com/tierline/tierline/agent/update"
	"github.com/tierline/tierline/agent/version"
)

func init() {
	register("install", "enroll (with --token) and install and start the agent service", runInstall)
	register("uninstall", "stop and remove the agent service (--purge: also its state and identity)", runUninstall)
	register("start", "start the agent service", func(ctx context.Context, a []string) int { return runControl(ctx, "start", a) })
	register("stop", "stop the agent service", func(ctx context.Context, a []string) int { return runControl(ctx, "stop", a) })
	register("restart", "restart the agent service", func(ctx context.Context, a []string) int { return runControl(ctx, "restart", a) })
	register("status", "show the service state, enrollment, hub reachability, spool depth and version", runStatus)
	register("service-run", "run the agent under the service manager (what the installed service starts)", runServiceRun)
}

// defaultLogDir is where the service logs when it has no journal.
func defaultLogDir() string {
	switch runtime.GOOS {
	case "windows":
		return filepath.Join(filepath.Dir(defaultStateDir()), "logs")
	case "darwin":
		return "/Library/Logs/Tierline"
	}
	return "" // the journal
}

// serviceRoot lets tests point service-manager detection at a fake root.
var serviceRoot = ""

func serviceConfig(state string) service.Config {
	return service.Config{StateDir: state, LogDir: defaultLogDir(), Root: serviceRoot}
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
		fmt.Fprintf(stderr, "tierline-agent install: %v\n", err)
		return exitError
	}
	if !identity.Exists(*state) {
		if *token == "" {
			fmt.Fprintf(stderr, "tierline-agent install: %s holds no identity; pass --token (from `tierline-hub token create`)\n", *state)
			return exitUsage
		}
		if code := commands["enroll"](ctx, []string{"--token", *token, "--state", *state}); code != exitOK {
			return code
		}
	}
	if err := service.Install(cfg); err != nil {
		fmt.Fprintf(stderr, "tierline-agent install: %v\n", err)
		return exitError
	}
	if err := service.Control(cfg, "start"); err != nil {
		fmt.Fprintf(stderr, "tierline-agent install: installed, but: %v\n", err)
		return exitError
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
	if err := service.Uninstall(serviceConfig(*state)); err != nil {
		fmt.Fprintf(stderr, "tierline-agent uninstall: %v\n", err)
		return exitError
	}
	if *purge {
		if err := os.RemoveAll(*state); err != nil {
			fmt.Fprintf(stderr, "tierline-agent uninstall: service removed, but removing %s failed: %v\n", *state, err)
			return exitError
		}
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
		fmt.Fprintf(stderr, "tierline-agent %s: %v\n", action, err)
		return exitError
	}
	return exitOK
}

func runStatus(ctx context.Context, args []string) int {
	fs := newFlags("status", "[--state DIR]", "Show the service state, enrollment, hub reachability, spool depth,\npending update and version.")
	state := fs.String("state", defaultStateDir(), "state directory")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	code := exitOK
	svc, err := service.Status(serviceConfig(*state))
	if err != nil {
		svc = err.Error()
	}
	fmt.Fprintf(stdout, "version:    %s (%s/%s)\nservice:    %s\n", version.Version, runtime.GOOS, runtime.GOARCH, svc)
	id, err := identity.Load(*state)
	if err != nil {
		fmt.Fprintf(stdout, "enrollment: %v\n", err)
		return exitError
	}
	fmt.Fprintf(stdout, "enrollment: device %s, hub %s, enrolled %s\n", id.DeviceID, id.HubURL, id.EnrolledAt.Local().Format(time.DateTime))
	if err := reachHub(ctx, id); err != nil {
		fmt.Fprintf(stdout, "hub:        unreachable: %v\n", err)
		code = exitError
	} else {
		fmt.Fprintln(stdout, "hub:        reachable (TLS with the pinned CA)")
	}
	ents, _ := os.ReadDir(filepath.Join(*state, identity.SpoolDir))
	depth := 0
	for _, e := range ents {
		if !e.IsDir() && filepath.Ext(e.Name()) != ".json" && e.Name()[0] != '.' {
			depth++
		}
	}
	fmt.Fprintf(stdout, "spool:      %d file(s) waiting for the hub\n", depth)
	if u, err := update.New(update.Config{StateDir: *state, HubURL: id.HubURL, DeviceID: id.DeviceID, Key: id.Key}); err == nil {
		if p, pending, _ := u.PendingUpdate(); pending {
			fmt.Fprintf(stdout, "update:     %s -> %s waiting to connect (previous binary %s)\n", p.From, p.To, p.Previous)
		} else if en, reason := u.Enabled(); !en {
			fmt.Fprintf(stdout, "update:     off: %v\n", reason)
		} else {
			fmt.Fprintln(stdout, "update:     on (signed releases only)")
		}
	}
	return code
}

// reachHub opens a TLS connection to the hub with the pinned CA.
func reachHub(ctx context.Context, id *identity.Identity) error {
	u, err := url.Parse(id.HubURL)
	if err != nil {
		return err
	}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: id.TLSConfig()}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return err
	}
	return c.Close()
}

// runServiceRun is what the installed service starts: `run` under the
// service manager. On Windows it changes to its own directory (services
// start in system32) and logs to a file.
func runServiceRun(ctx context.Context, args []string) int {
	underServiceManager = true
	state := defaultStateDir()
	token := strings.TrimSpace(os.Getenv("TIERLINE_ENROLL_TOKEN"))
	var runArgs []string
	for i := 0; i < len(args); i++ {
		// --enroll-token (the MSI's TOKEN property) enrolls a device that is
		// not enrolled yet; run itself does not take it.
		if args[i] == "--enroll-token" && i+1 < len(args) {
			token = strings.TrimSpace(args[i+1])
			i++
			continue
		}
		if (args[i] == "--state" || args[i] == "-state") && i+1 < len(args) {
			state = args[i+1]
		}
		runArgs = append(runArgs, args[i])
	}
	args = runArgs
	cfg := serviceConfig(state)
	if runtime.GOOS == "windows" {
		if exe, err := os.Executable(); err == nil {
			_ = os.Chdir(filepath.Dir(exe))
		}
		if err := os.MkdirAll(cfg.LogDir, 0o700); err == nil {
			if f, err := os.OpenFile(filepath.Join(cfg.LogDir, "agent.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err == nil {
				stderr = f
				defer f.Close()
			}
		}
	}
	if token != "" && !identity.Exists(state) {
		if code := commands["enroll"](ctx, []string{"--token", token, "--state", state}); code != exitOK {
			fmt.Fprintf(stderr, "tierline-agent service-run: enrollment with the configured token failed; fix the token and restart the service\n")
		}
	}
	return service.Run(cfg, func(sctx context.Context) int {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			<-sctx.Done()
			cancel()
		}()
		// The service's socket is where users' trays find it (the state
		// directory is 0700); flags given to service-run still win.
		return commands["run"](ctx, append([]string{"--log-format", "json", "--socket", localipc.DefaultSocket()}, args...))
	})
}
