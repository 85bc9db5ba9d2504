package cli

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"
)

// readPassword reads a new password: asked for twice, without echo, when
// standard input is a terminal; else the first line of standard input.
func readPassword(io IO, who string) (string, error) {
	if f, ok := io.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(io.Stderr, "Password for %s (at least 8 characters): ", who)
		first, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(io.Stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprintf(io.Stderr, "Again: ")
		again, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(io.Stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(first) != string(again) {
			return "", errors.New("the two passwords differ; nothing was added")
		}
		return string(first), nil
	}
	line, err := bufio.NewReader(io.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", errors.New("give the password on standard input, e.g. `echo 'long secret' | tierline-hub user add ...`, or run it in a terminal to be asked")
	}
	return strings.TrimRight(line, "\r\n"), nil
}
