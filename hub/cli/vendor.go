package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/vendors"
	"github.com/tierline/tierline/shared/wire"
)

func vendorAdd(ctx context.Context, args []string, io IO) error {
	fs := flagSet("vendor add", io)
	sf := addStoreFlags(fs)
	name := fs.String("name", "", "vendor name (unique)")
	email := fs.String("email", "", "contact email address")
	hook := fs.String("webhook", "", "webhook URL tickets are POSTed to")
	secretStdin := fs.Bool("secret-stdin", false, "read the webhook signing secret (16+ bytes) from stdin")
	contract := fs.String("contract", "", "contract reference")
	target := fs.Duration("response-target", 0, "how long the vendor has to answer before a reminder (0: no reminders)")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	v := store.Vendor{ID: wire.NewID(), Name: strings.TrimSpace(*name), Email: *email, WebhookURL: *hook, ContractRef: *contract,
		ResponseTarget: *target, CreatedAt: time.Now()}
	if *secretStdin {
		line, _ := bufio.NewReader(io.Stdin).ReadString('\n')
		v.WebhookSecret = strings.TrimRight(line, "\r\n")
		if v.WebhookSecret == "" {
			return errors.New("--secret-stdin: no secret on stdin; pipe one in, e.g. `openssl rand -hex 32 | tierline-hub vendor add ... --secret-stdin`")
		}
	}
	if *target < 0 {
		return errors.New("--response-target must not be negative")
	}
	// The same rules as the API (field names as there: webhook_url is
	// --webhook, contract_ref --contract, response_target --response-target).
	if err := vendors.Check(v); err != nil {
		return fmt.Errorf("vendor add: %w", err)
	}
	st, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.CreateVendor(ctx, v); err != nil {
		if errors.Is(err, store.ErrExists) {
			return fmt.Errorf("a vendor named %q already exists", v.Name)
		}
		return err
	}
	_ = st.AppendAudit(ctx, store.AuditEvent{Time: time.Now(), Actor: "cli", Action: "vendor.create", Target: v.ID, Outcome: "ok",
		Detail: map[string]any{"name": v.Name}})
	fmt.Fprintf(io.Stdout, "vendor %s added: %s\n", v.Name, v.ID)
	return nil
}

func vendorList(ctx context.Context, args []string, io IO) error {
	fs := flagSet("vendor list", io)
	sf := addStoreFlags(fs)
	all := fs.Bool("all", false, "include disabled vendors")
	st, err := sf.parseAndOpen(ctx, fs, args, 0)
	if err != nil {
		return err
	}
	defer st.Close()
	vs, err := st.ListVendors(ctx, *all)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(io.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tEMAIL\tWEBHOOK\tSIGNED\tTARGET\tCONTRACT\tSTATE")
	for _, v := range vs {
		state := "enabled"
		if v.DisabledAt != nil {
			state = "disabled"
		}
		tgt := "-"
		if v.ResponseTarget > 0 {
			tgt = v.ResponseTarget.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%t\t%s\t%s\t%s\n", v.ID, v.Name, dash(v.Email), dash(v.WebhookURL), v.HasSecret, tgt, dash(v.ContractRef), state)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func vendorDisable(ctx context.Context, args []string, io IO) error {
	fs := flagSet("vendor disable", io)
	sf := addStoreFlags(fs)
	st, err := sf.parseAndOpen(ctx, fs, args, 1)
	if err != nil {
		return err
	}
	defer st.Close()
	v, err := st.GetVendor(ctx, fs.Arg(0))
	if err != nil {
		return fmt.Errorf("%w; list vendors with `tierline-hub vendor list`", err)
	}
	now := time.Now()
	if err := st.SetVendorDisabled(ctx, v.ID, &now, now); err != nil {
		return err
	}
	_ = st.AppendAudit(ctx, store.AuditEvent{Time: now, Actor: "cli", Action: "vendor.disable", Target: v.ID, Outcome: "ok",
		Detail: map[string]any{"name": v.Name}})
	fmt.Fprintf(io.Stdout, "vendor %s disabled\n", v.Name)
	return nil
}
