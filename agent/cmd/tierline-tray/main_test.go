package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestFlags: the tray and the page take the socket flags every client of
// the local socket takes; the page refuses --state with --socket, and bad
// flags are usage errors that name this program.
func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"gethelp", "--state", t.TempDir(), "--socket", "/nonexistent/agent.sock"}, 2, "give --state or --socket, not both"},
		{[]string{"--poll", "soon"}, 2, "tray: "},
		{[]string{"tray", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"--log-level", "loud"}, 2, "loud"},
	} {
		var o, e bytes.Buffer
		if code := dispatch(context.Background(), tc.args, &o, &e); code != tc.code || !strings.Contains(e.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, e.String(), tc.code, tc.want)
		}
	}
	var o, e bytes.Buffer
	if code := dispatch(context.Background(), []string{"gethelp", "-h"}, &o, &e); code != 0 || !strings.Contains(o.String(), "--no-browser") {
		t.Errorf("gethelp -h: exit %d, stdout %q", code, o.String())
	}
}
