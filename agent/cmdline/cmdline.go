// Package cmdline is the agent's command-line machinery: a program of
// subcommands registered by name, the usage text that lists them, and
// flag sets whose every flag can also be set with a TIERLINE_* environment
// variable (--spool-max-bytes is TIERLINE_SPOOL_MAX_BYTES; a flag given
// on the command line wins), with the flag types the subcommands share.
// agent/cmd/tierline-agent declares the subcommands and their flags.
package cmdline

import (
	"context"
	"fmt"
	"io"
	"sort"
)

// Prog is the program named in usage texts and errors; tierline-tray
// sets its own name.
var Prog = "tierline-agent"

// Exit statuses of a subcommand.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// RunFunc runs a subcommand with its arguments and returns the exit status.
type RunFunc func(ctx context.Context, args []string) int

// Commands are a program's subcommands.
type Commands struct {
	run     map[string]RunFunc
	summary map[string]string
}

// Register adds subcommand name; a name registered twice panics.
func (c *Commands) Register(name, summary string, run RunFunc) {
	if c.run == nil {
		c.run, c.summary = map[string]RunFunc{}, map[string]string{}
	}
	if _, dup := c.run[name]; dup {
		panic(Prog + ": duplicate subcommand " + name)
	}
	c.run[name], c.summary[name] = run, summary
}

// Lookup returns subcommand name.
func (c *Commands) Lookup(name string) (RunFunc, bool) {
	run, ok := c.run[name]
	return run, ok
}

// Usage writes the program's usage: its subcommands and their summaries.
func (c *Commands) Usage(w io.Writer) {
	fmt.Fprintf(w, "%s: the Tierline device agent\n\nUsage:\n  %s <command> [flags]\n\nCommands:\n", Prog, Prog)
	names := make([]string, 0, len(c.run))
	for n := range c.run {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, c.summary[n])
	}
	fmt.Fprintf(w, "\nRun '%s <command> -h' for a command's flags. Every flag can also be set\n"+
		"with a TIERLINE_* environment variable (e.g. --state -> TIERLINE_STATE); flags win.\n", Prog)
}

// Dispatch runs the subcommand args[0] names with the rest of args. No
// subcommand or an unknown one prints the usage to stderr (ExitUsage);
// -h prints it to stdout.
func (c *Commands) Dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		c.Usage(stderr)
		return ExitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help":
		c.Usage(stdout)
		return ExitOK
	}
	run, ok := c.run[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "%s: unknown command %q\n\n", Prog, args[0])
		c.Usage(stderr)
		return ExitUsage
	}
	return run(ctx, args[1:])
}
