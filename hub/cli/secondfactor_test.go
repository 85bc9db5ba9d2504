package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/server"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/wire"
)

// An admin locked out by a lost authenticator gets back in from the hub's
// machine: `user reset-2fa` removes the second factor and says what
// happens at the next login.
func TestUserReset2FA(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := server.OpenStore(ctx, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	u := store.User{ID: wire.NewID(), Name: "root-admin", Role: store.RoleAdmin, PasswordHash: "x"}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	st.StartTOTP(ctx, u.ID, "JBSWY3DPEHPK3PXP")
	st.UseTOTPStep(ctx, u.ID, 1, true, time.Now())
	st.SetSecondFactorRoles(ctx, map[store.Role]bool{store.RoleAdmin: true})
	st.Close()

	run := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := Main(append([]string{"user", "reset-2fa", "--data", dir}, args...), IO{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut})
		return code, out.String() + errOut.String()
	}
	if code, out := run(); code == 0 || !strings.Contains(out, "--name is required") {
		t.Fatalf("without --name: %d %q", code, out)
	}
	if code, out := run("--name", "ghost"); code == 0 || !strings.Contains(out, `no user named "ghost"`) {
		t.Fatalf("unknown user: %d %q", code, out)
	}
	code, out := run("--name", "root-admin")
	if code != 0 || !strings.Contains(out, "set a new one up at their next login") {
		t.Fatalf("reset: %d %q", code, out)
	}
	st, err = server.OpenStore(ctx, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.GetTOTP(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second factor after the reset: %v", err)
	}
	if ev, _ := st.ListAudit(ctx, store.AuditFilter{ActionPrefix: "user.second_factor.reset"}); len(ev) != 1 || ev[0].Actor != "cli" {
		t.Errorf("audit: %+v", ev)
	}
}
