// Package service installs and runs the agent under the operating system's
// service manager through github.com/kardianos/service: systemd on Linux,
// launchd on macOS, the Service Control Manager on Windows (with recovery
// actions that restart it on failure). Other init systems are refused with
// a clear error rather than half-installed.
package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	ks "github.com/kardianos/service"
)

// Name is the service's name on every system.
const Name = "tierline-agent"

// Config describes the installed service.
type Config struct {
	// StateDir is the agent's state directory, passed to `service-run`.
	StateDir string
	// Executable is the agent binary (default: this program).
	Executable string
	// LogDir is where the service logs on Windows and macOS.
	LogDir string
	// Root prefixes the paths probed to detect the service manager (tests).
	Root string
}

// ErrUnsupported: no supported service manager runs here.
var ErrUnsupported = errors.New("no supported service manager")

// Detect checks that this system runs a service manager the agent installs
// under; on Linux that is systemd (/run/systemd/system exists).
func Detect(root string) error {
	switch runtime.GOOS {
	case "windows", "darwin":
		return nil
	case "linux":
		if fi, err := os.Stat(filepath.Join(root, "/run/systemd/system")); err == nil && fi.IsDir() {
			return nil
		}
		return fmt.Errorf("%w: systemd is not running on this machine (no /run/systemd/system). "+
			"Install the .deb or .rpm package on a systemd system, or start `tierline-agent run --state DIR` from your own init system", ErrUnsupported)
	}
	return fmt.Errorf("%w on %s: start `tierline-agent run --state DIR` from your init system", ErrUnsupported, runtime.GOOS)
}

type program struct {
	start func()
	stop  func()
}

func (p *program) Start(ks.Service) error { p.start(); return nil }
func (p *program) Stop(ks.Service) error  { p.stop(); return nil }

func (c Config) kardianos(p ks.Interface) (ks.Service, error) {
	opts := ks.KeyValue{
		// Windows: restart on failure, also when the agent exits non-zero
		// to restart into an update.
		"OnFailure": "restart", "OnFailureDelayDuration": "5s", "OnFailureResetPeriod": 3600,
		"DelayedAutoStart": false, "StartType": "automatic",
		// launchd: keep it running, start at load.
		"KeepAlive": true, "RunAtLoad": true,
		// systemd: restart when it exits with a failure (exit 75 after an update).
		"Restart": "on-failure",
	}
	if c.LogDir != "" && runtime.GOOS == "darwin" {
		opts["LogOutput"] = true
		opts["LogDirectory"] = c.LogDir
	}
	return ks.New(p, &ks.Config{
		Name:        Name,
		DisplayName: "Tierline agent",
		Description: "Tierline device agent: diagnostics, health checks and approved fixes for IT support.",
		Executable:  c.Executable,
		Arguments:   []string{"service-run", "--state", c.StateDir},
		Dependencies: []string{
			"Wants=network-online.target", "After=network-online.target",
		},
		Option: opts,
	})
}

func (c Config) service() (ks.Service, error) {
	if err := Detect(c.Root); err != nil {
		return nil, err
	}
	s, err := c.kardianos(&program{start: func() {}, stop: func() {}})
	if err != nil {
		return nil, fmt.Errorf("service manager: %w", err)
	}
	return s, nil
}

// Install registers the service (it does not start it).
func Install(c Config) error {
	s, err := c.service()
	if err != nil {
		return err
	}
	if err := s.Install(); err != nil {
		return fmt.Errorf("install the %s service (run as root/Administrator; `tierline-agent uninstall` removes an old one): %w", Name, err)
	}
	return nil
}

// InstallAndStart registers the service and starts it.
func InstallAndStart(c Config) error {
	if err := Install(c); err != nil {
		return err
	}
	if err := Control(c, "start"); err != nil {
		return fmt.Errorf("installed, but: %w", err)
	}
	return nil
}

// Remove uninstalls the service and, with purge, deletes its state
// directory: the device's identity, key and spool.
func Remove(c Config, purge bool) error {
	if err := Uninstall(c); err != nil {
		return err
	}
	if purge {
		if err := os.RemoveAll(c.StateDir); err != nil {
			return fmt.Errorf("service removed, but removing %s failed: %w", c.StateDir, err)
		}
	}
	return nil
}

// Uninstall stops (when running) and removes the service.
func Uninstall(c Config) error {
	s, err := c.service()
	if err != nil {
		return err
	}
	_ = s.Stop()
	if err := s.Uninstall(); err != nil {
		return fmt.Errorf("remove the %s service: %w", Name, err)
	}
	return nil
}

// Control runs start, stop or restart.
func Control(c Config, action string) error {
	s, err := c.service()
	if err != nil {
		return err
	}
	if err := ks.Control(s, action); err != nil {
		return fmt.Errorf("%s the %s service (is it installed? `tierline-agent install`): %w", action, Name, err)
	}
	return nil
}

// Status is "running", "stopped" or "not installed".
func Status(c Config) (string, error) {
	s, err := c.service()
	if err != nil {
		return "", err
	}
	st, err := s.Status()
	switch {
	case errors.Is(err, ks.ErrNotInstalled):
		return "not installed", nil
	case err != nil:
		return "", err
	case st == ks.StatusRunning:
		return "running", nil
	case st == ks.StatusStopped:
		return "stopped", nil
	}
	return "unknown", nil
}

// Run runs fn under the service manager until it returns or the manager
// stops the service (or ctx ends); it returns fn's exit status. Windows
// needs this (the SCM must hear from the program); elsewhere it handles
// SIGTERM the same way.
func Run(ctx context.Context, c Config, fn func(ctx context.Context) int) int {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan int, 1)
	p := &program{
		start: func() { go func() { done <- fn(ctx) }() },
		stop:  cancel,
	}
	s, err := c.kardianos(p)
	if err != nil {
		fmt.Fprintf(os.Stderr, "tierline-agent service-run: %v\n", err)
		return 1
	}
	runErr := make(chan error, 1)
	go func() { runErr <- s.Run() }()
	select {
	case code := <-done:
		// The agent stopped on its own (an update, a revoked device): exit
		// with its status so the manager acts on it.
		return code
	case err := <-runErr:
		cancel()
		code := <-done
		if err != nil {
			fmt.Fprintf(os.Stderr, "tierline-agent service-run: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
		return code
	}
}
