package cmdline

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Var is the environment variable of a flag.
func Var(flagName string) string {
	return "TIERLINE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// NewFlags makes the flag set of subcommand name, whose usage (on -h) shows
// synopsis, description and each flag with its variable.
func NewFlags(name, synopsis, description string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s %s %s\n\n%s\n\nFlags (environment variable in brackets):\n", Prog, name, synopsis, description)
		fs.VisitAll(func(f *flag.Flag) {
			def := ""
			if f.DefValue != "" && f.DefValue != "false" {
				def = fmt.Sprintf(" (default %s)", f.DefValue)
			}
			fmt.Fprintf(fs.Output(), "  --%s [%s]\n      %s%s\n", f.Name, Var(f.Name), f.Usage, def)
		})
	}
	return fs
}

// Parse parses args, then fills the flags not given from their
// variables. With -h it prints the usage to stdout and returns
// flag.ErrHelp; any other error is a usage error, in words for the user.
// Arguments after the flags are refused unless takesText.
func Parse(fs *flag.FlagSet, args []string, takesText bool, stdout io.Writer) error {
	full, out := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(out)
	fs.Usage = full
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			full()
			return flag.ErrHelp
		}
		return &parseError{err: err, cmd: fs.Name()}
	}
	if fs.NArg() > 0 && !takesText {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var bad error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || bad != nil {
			return
		}
		if v, ok := os.LookupEnv(Var(f.Name)); ok && v != "" {
			if err := f.Value.Set(v); err != nil {
				bad = fmt.Errorf("%s=%q: %w", Var(f.Name), v, err)
			}
		}
	})
	return bad
}

// parseError is a flag the command line got wrong, with where to look.
type parseError struct {
	err error
	cmd string
}

func (e *parseError) Error() string {
	return fmt.Sprintf("%v\nRun '%s %s -h' for usage.", e.err, Prog, e.cmd)
}

func (e *parseError) Unwrap() error { return e.err }

// Given reports whether flag name was given on the command line or by its
// variable.
func Given(fs *flag.FlagSet, name string) bool {
	set := os.Getenv(Var(name)) != ""
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// Duration is a flag value of a positive duration.
type Duration struct{ D *time.Duration }

func (f Duration) String() string {
	if f.D == nil {
		return ""
	}
	return f.D.String()
}

// Set parses a positive duration.
func (f Duration) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	if d <= 0 {
		return errors.New("must be positive")
	}
	*f.D = d
	return nil
}

// Bytes is a flag value of a positive byte count with an optional KiB,
// MiB or GiB (or K, M, G) suffix.
type Bytes struct{ N *int64 }

func (b Bytes) String() string {
	if b.N == nil {
		return ""
	}
	return strconv.FormatInt(*b.N, 10)
}

// Set parses a byte count.
func (b Bytes) Set(s string) error {
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
	*b.N = v * mult
	return nil
}

// List is a flag value of a comma-separated list.
type List struct{ L *[]string }

func (f List) String() string {
	if f.L == nil {
		return ""
	}
	return strings.Join(*f.L, ",")
}

// Set splits s at its commas ("" is the empty list).
func (f List) Set(s string) error {
	*f.L = nil
	if s != "" {
		*f.L = strings.Split(s, ",")
	}
	return nil
}
