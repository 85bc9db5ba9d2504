//go:build linux

// Command testmachine boots the end-to-end test machine by hand (see
// docs/testmachine.md):
//
//	go run ./scripts/testmachine build          # build the cached root if missing
//	go run ./scripts/testmachine boot [NAME]    # boot it, joined to netns tl-NAME
//	go run ./scripts/testmachine shell [NAME]   # a root shell in it
//	go run ./scripts/testmachine exec NAME CMD… # run one command in it
//	go run ./scripts/testmachine copy NAME SRC DST # copy a file into it
//	go run ./scripts/testmachine stop [NAME]    # halt it, remove its network
//
// NAME defaults to "pc". The machine's state is kept in
// /run/tierline-testmachine/NAME.json between the commands.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/tierline/tierline/scripts/testmachine/nspawn"
)

const stateDir = "/run/tierline-testmachine"

type state struct {
	Name      string `json:"name"`
	PID       int    `json:"pid"`
	NS        string `json:"netns"`
	HostIf    string `json:"host_if"`
	MachineIf string `json:"machine_if"`
	Console   string `json:"console"`
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	if why := nspawn.Unavailable(); why != "" {
		fail(fmt.Errorf("%s", why))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	name := "pc"
	if len(os.Args) > 2 {
		name = os.Args[2]
	}
	switch os.Args[1] {
	case "build":
		root, err := nspawn.EnsureRoot(ctx, nspawn.DefaultCacheDir(), os.Stderr)
		if err != nil {
			fail(err)
		}
		fmt.Println(root)
	case "boot":
		fail(boot(ctx, name))
	case "shell":
		m := attach(name)
		cmd := m.Command(ctx, "/bin/bash", "-l")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		_ = cmd.Run()
	case "exec":
		if len(os.Args) < 4 {
			usage()
		}
		cmd := attach(name).Command(ctx, os.Args[3:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fail(err)
		}
	case "copy":
		if len(os.Args) != 5 {
			usage()
		}
		if err := attach(name).CopyIn(os.Args[3], os.Args[4], 0o644); err != nil {
			fail(err)
		}
	case "stop":
		s := load(name)
		if m, err := nspawn.Attach(s.Name, s.PID); err == nil {
			if err := m.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, err)
			}
		}
		n := &nspawn.Network{NS: s.NS, HostIf: s.HostIf, MachineIf: s.MachineIf}
		if err := n.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		os.Remove(filepath.Join(stateDir, name+".json"))
		os.Remove(s.Console)
		fmt.Printf("machine %s stopped, netns %s removed\n", name, s.NS)
	default:
		usage()
	}
}

func boot(ctx context.Context, name string) error {
	if _, err := os.Stat(filepath.Join(stateDir, name+".json")); err == nil {
		return fmt.Errorf("machine %s is already booted (stop it first: go run ./scripts/testmachine stop %s)", name, name)
	}
	root, err := nspawn.EnsureRoot(ctx, nspawn.DefaultCacheDir(), os.Stderr)
	if err != nil {
		return err
	}
	n, err := nspawn.NewNetwork(name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return err
	}
	console := filepath.Join(stateDir, name+".console")
	log, err := os.Create(console)
	if err != nil {
		return err
	}
	defer log.Close()
	start := time.Now()
	m, err := nspawn.Boot(ctx, nspawn.Config{Name: "tierline-" + name, Root: root, Network: n, Detach: true, Log: log})
	if err != nil {
		n.Close()
		return err
	}
	s := state{Name: m.Name, PID: m.PID, NS: n.NS, HostIf: n.HostIf, MachineIf: n.MachineIf, Console: console}
	b, _ := json.MarshalIndent(s, "", "  ")
	if err := os.WriteFile(filepath.Join(stateDir, name+".json"), b, 0o644); err != nil {
		return err
	}
	fmt.Printf("machine %s booted in %s: systemd-nspawn pid %d, init pid %d, console %s\n",
		m.Name, time.Since(start).Round(time.Millisecond), m.PID, m.Leader, console)
	fmt.Printf("network: netns %s holds %s (%s); the machine is %s on %s\n", n.NS, n.HostIf, nspawn.HubIP, nspawn.MachineIP, n.MachineIf)
	fmt.Printf("shell:   go run ./scripts/testmachine shell %s\nstop:    go run ./scripts/testmachine stop %s\n", name, name)
	os.Exit(0)
	return nil
}

func load(name string) state {
	b, err := os.ReadFile(filepath.Join(stateDir, name+".json"))
	if err != nil {
		fail(fmt.Errorf("machine %s is not booted (go run ./scripts/testmachine boot %s): %w", name, name, err))
	}
	var s state
	if err := json.Unmarshal(b, &s); err != nil {
		fail(err)
	}
	return s
}

func attach(name string) *nspawn.Machine {
	s := load(name)
	m, err := nspawn.Attach(s.Name, s.PID)
	if err != nil {
		fail(err)
	}
	return m
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: testmachine build | boot [NAME] | shell [NAME] | exec NAME CMD... | copy NAME SRC DST | stop [NAME]")
	os.Exit(2)
}

func fail(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "testmachine:", err)
		os.Exit(1)
	}
}
