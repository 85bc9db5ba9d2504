package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tierline/tierline/hub/store"
)

// userReset2FA removes a user's second factor from the hub's own machine:
// the way back in for an admin who lost their authenticator and recovery
// codes when no other admin can reset it in the console.
func userReset2FA(ctx context.Context, args []string, io IO) error {
	fs := flagSet("user reset-2fa", io)
	sf := addStoreFlags(fs)
	name := fs.String("name", "", "user whose second factor to remove")
	st, err := sf.parseAndOpen(ctx, fs, args, 0)
	if err != nil {
		return err
	}
	defer st.Close()
	if *name == "" {
		return errors.New("--name is required: the user whose second factor to remove (see `tierline-hub user list`)")
	}
	u, err := st.GetUserByName(ctx, *name)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no user named %q; see `tierline-hub user list`", *name)
	}
	if err != nil {
		return err
	}
	if err := st.ClearSecondFactor(ctx, u.ID); err != nil {
		return err
	}
	_ = st.AppendAudit(ctx, store.AuditEvent{Time: time.Now(), Actor: "cli", Action: "user.second_factor.reset", Target: u.Name, Outcome: "ok"})
	roles, err := st.SecondFactorRoles(ctx)
	if err != nil {
		return err
	}
	if roles[u.Role] {
		fmt.Fprintf(io.Stdout, "second factor of %s removed; their role requires one, so they set a new one up at their next login\n", u.Name)
	} else {
		fmt.Fprintf(io.Stdout, "second factor of %s removed; they log in with their password alone\n", u.Name)
	}
	return nil
}
