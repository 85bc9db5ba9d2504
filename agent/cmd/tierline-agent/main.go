// Command tierline-agent is the Tierline agent. The logic lives in
// agent/... packages (the running agent in agent/daemon); this main only
// declares the subcommands and their flags and wires them.
//
// Subcommands register themselves from init() in the file of their area:
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
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/tierline/tierline/agent/cmdline"
	"github.com/tierline/tierline/agent/diagnose"
	"github.com/tierline/tierline/agent/hubpolicy"
	"github.com/tierline/tierline/agent/service"
	"github.com/tierline/tierline/agent/version"
	"github.com/tierline/tierline/shared/wire"
)

func init() {
	register("version", "print the agent version", runVersion)
	register("diagnose", "check this machine and print a report (no hub needed; --json for JSON)", runDiagnose)
	register("fixes", "list the fixes this machine offers under its local policy, and the organisation's signed recipes it accepted (--json for JSON)", runFixes)
}

// Exit statuses.
const (
	exitOK      = cmdline.ExitOK
	exitError   = cmdline.ExitError
	exitUsage   = cmdline.ExitUsage
	exitRevoked = 3
)

// commands are the subcommands; each file registers its own from init().
var commands cmdline.Commands

// register adds a subcommand.
var register = commands.Register

// stdout and stderr are the subcommands' output (tests capture them).
var stdout, stderr io.Writer = os.Stdout, os.Stderr

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := dispatch(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

func dispatch(ctx context.Context, args []string) int {
	return commands.Dispatch(ctx, args, stdout, stderr)
}

// newFlags makes a subcommand's flag set (envflag: each flag has a
// TIERLINE_* variable).
func newFlags(name, synopsis, description string) *flag.FlagSet {
	return cmdline.NewFlags(name, synopsis, description, stderr)
}

// fail prints err for subcommand fs and returns code.
func fail(fs *flag.FlagSet, code int, err error) int {
	fmt.Fprintf(stderr, "tierline-agent %s: %v\n", fs.Name(), err)
	return code
}

// takesText names the subcommands whose arguments after the flags are the
// user's words.
var takesText = map[string]bool{"help": true, "reply": true, "kb": true, "software": true}

// parseFlags parses args and the TIERLINE_* variables. It reports false
// with the status to exit with when the subcommand must not go on.
func parseFlags(fs *flag.FlagSet, args []string) (int, bool) {
	err := cmdline.Parse(fs, args, takesText[fs.Name()], stdout)
	switch {
	case err == nil:
		return exitOK, true
	case errors.Is(err, flag.ErrHelp):
		return exitOK, false
	}
	return fail(fs, exitUsage, err), false
}

// defaultStateDir is the --state default.
var defaultStateDir = service.DefaultStateDir

func runVersion(_ context.Context, args []string) int {
	fs := newFlags("version", "", "Print the agent version, protocol version and platform.")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	fmt.Fprintf(stdout, "tierline-agent %s (protocol %d, %s, %s/%s)\n", version.Version, wire.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}

// runDiagnose exits 1 when a health check fails, so scripts can act on it.
func runDiagnose(ctx context.Context, args []string) int {
	return diagnose.Main(ctx, args, stdout, stderr)
}

func runFixes(_ context.Context, args []string) int {
	fs := newFlags("fixes", "[--state DIR] [--policy FILE] [--json]",
		"List the fix catalog compiled into this agent as it applies to this machine: which fixes\n"+
			"run here, at which tier, which need the user's consent, and which the device policy\n"+
			"refuses and by which rule (the policy file narrowed by the hub's policy last applied);\n"+
			"then the organisation's signed recipes this agent accepted (version, tier, signing key) and\n"+
			"those it refused, with the reason.\n"+
			"Also checks the policy file: exit status 1 when it is invalid.")
	state := fs.String("state", defaultStateDir(), "state directory (for the default policy file)")
	policyFile := fs.String("policy", "", "device fix policy file (default STATE/policy.json)")
	asJSON := fs.Bool("json", false, "print JSON")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if err := hubpolicy.ListFixes(stdout, stderr, *state, *policyFile, *asJSON); err != nil {
		return fail(fs, exitError, err)
	}
	return exitOK
}
