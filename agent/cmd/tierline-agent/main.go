// Command tierline-agent is the Tierline agent. The logic lives in
// agent/... packages; this main only parses flags and wires them.
//
// Subcommands register themselves from init() in one file each:
//
//	func init() { register("name", "one-line summary", runName) }
//
// where runName(ctx, args) returns the process exit status (0 ok, 1 error,
// 2 usage error, 3 revoked).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Exit statuses.
const (
	exitOK      = 0
	exitError   = 1
	exitUsage   = 2
	exitRevoked = 3
)

// commands maps a subcommand name to its entry point.
var commands = map[string]func(ctx context.Context, args []string) int{}

// summaries holds the one-line description of each subcommand for usage.
var summaries = map[string]string{}

// register adds a subcommand. Call it from init().
func register(name, summary string, run func(ctx context.Context, args []string) int) {
	if _, dup := commands[name]; dup {
		panic("tierline-agent: duplicate subcommand " + name)
	}
	commands[name] = run
	summaries[name] = summary
}

var stderr io.Writer = os.Stderr
var stdout io.Writer = os.Stdout

func usage(w io.Writer) {
	fmt.Fprintf(w, "tierline-agent: the Tierline device agent\n\nUsage:\n  tierline-agent <command> [flags]\n\nCommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, summaries[n])
	}
	fmt.Fprintf(w, "\nRun 'tierline-agent <command> -h' for a command's flags. Every flag can also be set\n"+
		"with a TIERLINE_* environment variable (e.g. --state -> TIERLINE_STATE); flags win.\n")
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := dispatch(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

func dispatch(ctx context.Context, args []string) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	}
	if args[0] != "tray" {
		// fyne.io/systray pins the main goroutine to the main thread at
		// init, which only the tray's event loop needs.
		runtime.UnlockOSThread()
	}
	run, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "tierline-agent: unknown command %q\n\n", args[0])
		usage(stderr)
		return exitUsage
	}
	return run(ctx, args[1:])
}

// newFlags makes a flag set for a subcommand with a usage text.
func newFlags(name, synopsis, description string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: tierline-agent %s %s\n\n%s\n\nFlags (environment variable in brackets):\n", name, synopsis, description)
		fs.VisitAll(func(f *flag.Flag) {
			def := ""
			if f.DefValue != "" && f.DefValue != "false" {
				def = fmt.Sprintf(" (default %s)", f.DefValue)
			}
			fmt.Fprintf(fs.Output(), "  --%s [%s]\n      %s%s\n", f.Name, envName(f.Name), f.Usage, def)
		})
	}
	return fs
}

// envName is the TIERLINE_* variable of a flag: --spool-max-bytes -> TIERLINE_SPOOL_MAX_BYTES.
func envName(flagName string) string {
	return "TIERLINE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// takesText names the subcommands whose arguments after the flags are the
// user's words.
var takesText = map[string]bool{"help": true, "reply": true, "kb": true}

// parseFlags parses args, then fills unset flags from TIERLINE_* variables.
// It returns exitOK to continue, or the status to exit with.
func parseFlags(fs *flag.FlagSet, args []string) (int, bool) {
	full := fs.Usage
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(stderr)
	fs.Usage = full
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			full()
			return exitOK, false
		}
		fmt.Fprintf(stderr, "tierline-agent %s: %v\nRun 'tierline-agent %s -h' for usage.\n", fs.Name(), err, fs.Name())
		return exitUsage, false
	}
	if fs.NArg() > 0 && !takesText[fs.Name()] {
		fmt.Fprintf(stderr, "tierline-agent %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return exitUsage, false
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var bad error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || bad != nil {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok && v != "" {
			if err := f.Value.Set(v); err != nil {
				bad = fmt.Errorf("%s=%q: %w", envName(f.Name), v, err)
			}
		}
	})
	if bad != nil {
		fmt.Fprintf(stderr, "tierline-agent %s: %v\n", fs.Name(), bad)
		return exitUsage, false
	}
	return exitOK, true
}

// defaultStateDir is where the agent keeps its identity and spool.
func defaultStateDir() string {
	switch runtime.GOOS {
	case "windows":
		base := os.Getenv("ProgramData")
		if base == "" {
			base = `C:\ProgramData`
		}
		return filepath.Join(base, "Tierline", "agent")
	case "darwin":
		return "/Library/Application Support/Tierline/agent"
	default:
		return "/var/lib/tierline-agent"
	}
}

// newLogger makes the agent's stderr logger.
func newLogger(level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// durationFlag rejects non-positive durations.
type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if f.d == nil {
		return ""
	}
	return f.d.String()
}

func (f durationFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	if d <= 0 {
		return errors.New("must be positive")
	}
	*f.d = d
	return nil
}
