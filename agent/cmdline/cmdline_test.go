package cmdline

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

// TestFlagsFromEnvironment: a flag not given takes its TIERLINE_*
// variable, a flag given wins over it, a bad value in a variable is named
// in the error, and -h prints each flag with its variable.
func TestFlagsFromEnvironment(t *testing.T) {
	newSet := func() (*flag.FlagSet, *int64, *time.Duration, *[]string) {
		fs := NewFlags("run", "[flags]", "Run it.", io.Discard)
		var size int64
		var every time.Duration
		var list []string
		fs.Var(Bytes{N: &size}, "spool-max-bytes", "cap")
		fs.Var(Duration{D: &every}, "interval", "interval")
		fs.Var(List{L: &list}, "watch-services", "services")
		return fs, &size, &every, &list
	}
	t.Setenv("TIERLINE_SPOOL_MAX_BYTES", "64MiB")
	t.Setenv("TIERLINE_INTERVAL", "5s")
	t.Setenv("TIERLINE_WATCH_SERVICES", "cups,sshd")
	fs, size, every, list := newSet()
	if err := Parse(fs, []string{"--interval", "1m"}, false, io.Discard); err != nil {
		t.Fatal(err)
	}
	if *size != 64<<20 || *every != time.Minute || strings.Join(*list, "|") != "cups|sshd" {
		t.Fatalf("size %d, interval %v, list %q", *size, *every, *list)
	}

	t.Setenv("TIERLINE_INTERVAL", "-5s")
	fs, _, _, _ = newSet()
	if err := Parse(fs, nil, false, io.Discard); err == nil || !strings.Contains(err.Error(), `TIERLINE_INTERVAL="-5s"`) {
		t.Fatalf("a bad variable: %v", err)
	}
	fs, _, _, _ = newSet()
	if err := Parse(fs, []string{"--nope"}, false, io.Discard); err == nil || !strings.Contains(err.Error(), "Run 'tierline-agent run -h' for usage.") {
		t.Fatalf("an unknown flag: %v", err)
	}
	fs, _, _, _ = newSet()
	if err := Parse(fs, []string{"words"}, false, io.Discard); err == nil || !strings.Contains(err.Error(), `unexpected argument "words"`) {
		t.Fatalf("an argument to a command that takes none: %v", err)
	}
	var out bytes.Buffer
	fs, _, _, _ = newSet()
	if err := Parse(fs, []string{"-h"}, false, &out); !errors.Is(err, flag.ErrHelp) ||
		!strings.Contains(out.String(), "--spool-max-bytes [TIERLINE_SPOOL_MAX_BYTES]") {
		t.Fatalf("-h: %v\n%s", err, out.String())
	}
}

func TestBytes(t *testing.T) {
	var n int64
	for in, want := range map[string]int64{"1024": 1024, "64MiB": 64 << 20, "2G": 2 << 30, "8KiB": 8 << 10} {
		if err := (Bytes{N: &n}).Set(in); err != nil || n != want {
			t.Errorf("%s: %d %v, want %d", in, n, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1", "MiB", "12 MiB", "1TiB"} {
		if err := (Bytes{N: &n}).Set(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

// TestDispatch: an unknown or missing subcommand prints the usage to
// stderr with status 2, -h prints it to stdout, a registered one runs
// with its arguments, and a name registered twice panics.
func TestDispatch(t *testing.T) {
	var c Commands
	var got []string
	c.Register("echo", "say it", func(_ context.Context, args []string) int { got = args; return 7 })
	var out, errOut bytes.Buffer
	if code := c.Dispatch(context.Background(), []string{"echo", "a", "b"}, &out, &errOut); code != 7 || strings.Join(got, " ") != "a b" {
		t.Fatalf("echo: %d %q", code, got)
	}
	if code := c.Dispatch(context.Background(), []string{"nope"}, &out, &errOut); code != ExitUsage ||
		!strings.Contains(errOut.String(), `unknown command "nope"`) || !strings.Contains(errOut.String(), "echo       say it") {
		t.Fatalf("unknown: %d %q", code, errOut.String())
	}
	if code := c.Dispatch(context.Background(), []string{"-h"}, &out, &errOut); code != ExitOK || !strings.Contains(out.String(), "Commands:") {
		t.Fatalf("-h: %d %q", code, out.String())
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a duplicate subcommand did not panic")
		}
	}()
	c.Register("echo", "again", nil)
}
