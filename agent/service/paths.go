package service

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// DefaultStateDir is where the agent keeps its identity and spool.
func DefaultStateDir() string {
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

// DefaultLogDir is where the service logs when it has no journal ("" for
// the journal).
func DefaultLogDir() string {
	switch runtime.GOOS {
	case "windows":
		return filepath.Join(filepath.Dir(DefaultStateDir()), "logs")
	case "darwin":
		return "/Library/Logs/Tierline"
	}
	return "" // the journal
}

// Prepare readies the process the service manager started. On Windows it
// changes to the executable's directory (services start in system32) and
// returns the log file in c.LogDir to write the log to; elsewhere the
// service manager keeps the log and Prepare returns nil.
func Prepare(c Config) io.WriteCloser {
	if runtime.GOOS != "windows" {
		return nil
	}
	if exe, err := os.Executable(); err == nil {
		_ = os.Chdir(filepath.Dir(exe))
	}
	if err := os.MkdirAll(c.LogDir, 0o700); err != nil {
		return nil
	}
	f, err := os.OpenFile(filepath.Join(c.LogDir, "agent.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil
	}
	return f
}

// RunArgs splits the arguments the installed service starts `service-run`
// with: the state directory they name (default state), the enrollment
// token of --enroll-token (the MSI's TOKEN property, which enrolls a device
// not enrolled yet; default $TIERLINE_ENROLL_TOKEN), the organisation's
// recipe key of --enroll-recipe-key (the MSI's RECIPE_KEY property, pinned
// at that enrollment; default $TIERLINE_RECIPE_KEY), and the arguments
// for `run`, which takes neither.
func RunArgs(args []string, state string) (string, string, string, []string) {
	token := strings.TrimSpace(os.Getenv("TIERLINE_ENROLL_TOKEN"))
	recipeKey := strings.TrimSpace(os.Getenv("TIERLINE_RECIPE_KEY"))
	var run []string
	for i := 0; i < len(args); i++ {
		if args[i] == "--enroll-token" && i+1 < len(args) {
			token = strings.TrimSpace(args[i+1])
			i++
			continue
		}
		if args[i] == "--enroll-recipe-key" && i+1 < len(args) {
			recipeKey = strings.TrimSpace(args[i+1])
			i++
			continue
		}
		if (args[i] == "--state" || args[i] == "-state") && i+1 < len(args) {
			state = args[i+1]
		}
		run = append(run, args[i])
	}
	return state, token, recipeKey, run
}
