package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/wire"
)

// siteWords names a site list for people: "sites A,B" or "every site".
func siteWords(sites []string) string {
	if sites == nil {
		return "every site"
	}
	if len(sites) == 0 {
		return "no site"
	}
	return "sites " + strings.Join(sites, ",")
}

// deviceSite moves a device, and its open tickets, to a site.
func deviceSite(ctx context.Context, args []string, io IO) error {
	fs := flagSet("device site", io)
	sf := addStoreFlags(fs)
	if err := parse(fs, args, 2); err != nil {
		return err
	}
	id, site := fs.Arg(0), fs.Arg(1)
	if err := wire.ValidateDeviceID(id); err != nil {
		return fmt.Errorf("%q: %w (see `tierline-hub device list`)", id, err)
	}
	if err := store.ValidateSite(site); err != nil {
		return err
	}
	st, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	from, err := st.SetDeviceSite(ctx, id, site)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no device %s (see `tierline-hub device list`)", id)
	}
	if err != nil {
		return err
	}
	_ = st.AppendAudit(ctx, store.AuditEvent{Time: time.Now(), Actor: "cli", Action: "device.site", Target: id, Outcome: "ok",
		Detail: map[string]any{"from": from, "to": site}})
	fmt.Fprintf(io.Stdout, "device %s moved from site %s to site %s\n", id, from, site)
	return nil
}

// userSites sets the sites a user works: A,B, or '*' for every site.
func userSites(ctx context.Context, args []string, io IO) error {
	fs := flagSet("user sites", io)
	sf := addStoreFlags(fs)
	if err := parse(fs, args, 2); err != nil {
		return err
	}
	var sites []string
	if fs.Arg(1) != "*" {
		var err error
		if sites, err = store.ParseSites(fs.Arg(1)); err != nil {
			return err
		}
		if sites == nil {
			return errors.New("give the sites as A,B, or '*' for every site")
		}
	}
	st, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := st.GetUserByName(ctx, fs.Arg(0))
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no user %q (see `tierline-hub user list`)", fs.Arg(0))
	}
	if err != nil {
		return err
	}
	if err := st.SetUserSites(ctx, u.ID, sites); err != nil {
		return err
	}
	_ = st.AppendAudit(ctx, store.AuditEvent{Time: time.Now(), Actor: "cli", Action: "user.sites", Target: u.ID, Outcome: "ok",
		Detail: map[string]any{"user": u.Name, "from": siteWords(u.Sites), "to": siteWords(sites)}})
	fmt.Fprintf(io.Stdout, "user %s works %s\n", u.Name, siteWords(sites))
	return nil
}
