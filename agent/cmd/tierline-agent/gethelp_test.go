package main

import (
	"context"
	"strings"
	"testing"
)

// TestGetHelpFlags: gethelp takes the socket flags every client of the
// local socket takes, and refuses --state with --socket.
func TestGetHelpFlags(t *testing.T) {
	_, e := capture(t)
	if code := runGetHelp(context.Background(), []string{"--state", t.TempDir(), "--socket", "/nonexistent/agent.sock"}); code != exitUsage {
		t.Fatalf("--state with --socket: exit %d", code)
	}
	if got := e.String(); !strings.Contains(got, "give --state or --socket, not both") {
		t.Fatalf("stderr: %q", got)
	}
}
