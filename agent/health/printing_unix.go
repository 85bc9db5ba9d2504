//go:build !windows

package health

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/tierline/tierline/agent/execx"
)

// lpstatTimeout bounds one `lpstat -p -o -a`; a scheduler that has not
// answered by then is hung.
const lpstatTimeout = 5 * time.Second

// readPrinting asks CUPS, but only when printers are set up: in
// printers.conf or the printcap (cupsd writes both up to 30 s after a
// change, its DirtyCleanInterval), with a document in its spool (written
// as the job arrives), or on a print server named in client.conf. A
// machine without printers costs no program run, and an idle on-demand
// cupsd is not woken.
func readPrinting(c *Config) func(ctx context.Context) (printState, error) {
	return func(ctx context.Context) (printState, error) {
		set, err := printersSetUp(c)
		if err != nil {
			return printState{}, err
		}
		if !set {
			return printState{None: true}, nil
		}
		out, err := execx.Output(ctx, lpstatTimeout, 256<<10, "lpstat", "-p", "-o", "-a")
		if err != nil {
			if errors.Is(err, execx.ErrNotFound) {
				// Queues left behind by a CUPS that is gone.
				return printState{None: true}, nil
			}
			var te *execx.TimeoutError
			if errors.As(err, &te) && ctx.Err() == nil {
				return printState{Source: "lpstat", Down: fmt.Sprintf("the print service (cupsd) did not answer within %s", lpstatTimeout)}, nil
			}
			msg := strings.TrimSpace(out)
			if strings.Contains(msg, "No destinations added") {
				return printState{None: true}, nil
			}
			if strings.Contains(msg, "not running") || strings.Contains(msg, "Unable to connect") ||
				strings.Contains(msg, "Bad file descriptor") || strings.Contains(msg, "No such file or directory") {
				return printState{Source: "lpstat", Down: firstLine(msg)}, nil
			}
			if msg == "" {
				return printState{}, err
			}
		}
		return parseLpstat(out, time.Local), nil
	}
}

// printersSetUp reports whether CUPS has queues here or a print server to
// ask.
func printersSetUp(c *Config) (bool, error) {
	b, err := readBounded(c.path("/etc/cups/printers.conf"), 1<<20)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	if bytes.Contains(b, []byte("<Printer ")) || bytes.Contains(b, []byte("<DefaultPrinter ")) {
		return true, nil
	}
	for _, f := range []string{"/run/cups/printcap", "/etc/printcap"} {
		if b, err := readBounded(c.path(f), 1<<20); err == nil && hasLine(b, func(l string) bool { return !strings.HasPrefix(l, "#") }) {
			return true, nil
		}
	}
	if spooled(c.path("/var/spool/cups")) {
		return true, nil
	}
	b, _ = readBounded(c.path("/etc/cups/client.conf"), 64<<10)
	return hasLine(b, func(l string) bool { return strings.HasPrefix(strings.ToLower(l), "servername ") }), nil
}

// spooled reports whether CUPS's spool holds a document (d00001-001: job
// 1's first file).
func spooled(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	for {
		// A bounded look: a spool is small, and one document is enough.
		names, err := f.Readdirnames(256)
		for _, n := range names {
			if len(n) > 1 && n[0] == 'd' && n[1] >= '0' && n[1] <= '9' {
				return true
			}
		}
		if err != nil || len(names) == 0 {
			return false
		}
	}
}

// hasLine reports whether a non-empty line of b (trimmed) satisfies ok.
func hasLine(b []byte, ok func(string) bool) bool {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && ok(l) {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
