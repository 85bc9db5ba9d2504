package health

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSystemctlFallback(t *testing.T) {
	show := string(read(t, "services/systemctl-show"))
	ran := fakeRun(t, func([]string) (string, error) { return show, nil })
	got, err := systemctlStates(context.Background(), []string{"ssh", "cups", "nosuch"})
	if err != nil || len(got) != 3 || !got[0].Running || got[1].State != "failed" {
		t.Errorf("states %+v, %v", got, err)
	}
	if want := []string{"systemctl show --property=Id,LoadState,ActiveState -- ssh.service cups.service nosuch.service"}; !cmp.Equal(want, *ran) {
		t.Errorf("ran %q", *ran)
	}
	fakeRun(t, func([]string) (string, error) {
		return "System has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: Host is down\n",
			errors.New("systemctl exited with status 1")
	})
	if _, err := systemctlStates(context.Background(), []string{"ssh"}); err == nil || !strings.Contains(err.Error(), "not been booted with systemd") {
		t.Errorf("no systemd: %v", err)
	}
}
