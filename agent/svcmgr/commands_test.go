package svcmgr

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCommands(t *testing.T) {
	type cmdFunc func(goos, name string) ([]Command, error)
	one := func(f func(goos, name string) (Command, error)) cmdFunc {
		return func(goos, name string) ([]Command, error) {
			c, err := f(goos, name)
			return []Command{c}, err
		}
	}
	for _, tt := range []struct {
		name string
		f    cmdFunc
		goos string
		want []Command
	}{
		{"restart linux", Restart, "linux", []Command{{Argv: []string{"systemctl", "restart", "--", "cups"},
			NotFound: map[int]string{5: "there is no unit cups on this machine"}}}},
		{"restart windows", Restart, "windows", []Command{{Argv: []string{"net", "stop", "cups"}, Optional: true},
			{Argv: []string{"net", "start", "cups"}}}},
		{"restart darwin", Restart, "darwin", []Command{{Argv: []string{"launchctl", "kickstart", "-k", "system/cups"},
			NotFound: map[int]string{113: "there is no launchd service cups on this machine"}}}},
		{"builtin linux", RestartBuiltin, "linux", []Command{{Argv: []string{"systemctl", "restart", "cups"}}}},
		{"builtin windows", RestartBuiltin, "windows", []Command{{Argv: []string{"net", "stop", "cups"}, Optional: true},
			{Argv: []string{"net", "start", "cups"}}}},
		{"builtin darwin", RestartBuiltin, "darwin", []Command{{Argv: []string{"launchctl", "kickstart", "-k", "system/cups"}}}},
		{"stop linux", one(Stop), "linux", []Command{{Argv: []string{"systemctl", "stop", "--", "cups"}, Optional: true}}},
		{"stop windows", one(Stop), "windows", []Command{{Argv: []string{"net", "stop", "cups"}, Optional: true}}},
		{"stop darwin", one(Stop), "darwin", []Command{{Argv: []string{"launchctl", "kill", "SIGTERM", "system/cups"}, Optional: true}}},
		{"start linux", one(Start), "linux", []Command{{Argv: []string{"systemctl", "start", "--", "cups"}}}},
		{"start windows", one(Start), "windows", []Command{{Argv: []string{"net", "start", "cups"}}}},
		{"start darwin", one(Start), "darwin", []Command{{Argv: []string{"launchctl", "kickstart", "system/cups"}}}},
	} {
		got, err := tt.f(tt.goos, "cups")
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	for _, f := range []cmdFunc{Restart, RestartBuiltin, one(Stop), one(Start)} {
		if _, err := f("plan9", "cups"); !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("plan9: %v", err)
		}
	}
}
