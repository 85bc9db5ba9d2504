//go:build !windows

package health

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"time"

	"github.com/tierline/tierline/agent/execx"
)

// readPrinting asks CUPS, but only when it has printers configured: a
// machine without printers.conf or without a printer in it costs nothing.
func readPrinting(c *Config) func(ctx context.Context) (printState, error) {
	return func(ctx context.Context) (printState, error) {
		b, err := readBounded(c.path("/etc/cups/printers.conf"), 1<<20)
		if errors.Is(err, os.ErrNotExist) || err == nil && !bytes.Contains(b, []byte("<Printer ")) && !bytes.Contains(b, []byte("<DefaultPrinter ")) {
			return printState{None: true}, nil
		}
		if err != nil {
			return printState{}, err
		}
		out, err := execx.Output(ctx, 5*time.Second, 256<<10, "lpstat", "-p", "-o")
		if err != nil {
			if errors.Is(err, execx.ErrNotFound) {
				return printState{}, err
			}
			if msg := strings.TrimSpace(out); strings.Contains(msg, "not running") || strings.Contains(msg, "Unable to connect") ||
				strings.Contains(msg, "Bad file descriptor") || strings.Contains(msg, "No such file or directory") {
				return printState{Source: "lpstat", Down: firstLine(msg)}, nil
			}
			if strings.TrimSpace(out) == "" {
				return printState{}, err
			}
		}
		return parseLpstat(out, time.Local), nil
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
