package gethelp

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/wire"
)

// installTimeout bounds an install from a terminal: the catalog's fix
// timeout and a margin.
const installTimeout = 16 * time.Minute

// Software prints the organisation's software catalog on this computer.
func (sh Shell) Software(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, shellTimeout)
	defer cancel()
	list, err := sh.Agent.Software(cctx)
	if err != nil {
		return err
	}
	if sh.JSON {
		sh.json(list)
		return nil
	}
	if len(list.Entries) == 0 {
		fmt.Fprintln(sh.Out, "Your organisation offers no software to install yourself on this computer.")
		return nil
	}
	for _, e := range list.Entries {
		state := "not installed"
		switch {
		case e.Satisfied:
			state = "installed (" + e.Installed + ")"
		case e.Installed != "":
			state = "installed at " + e.Installed + ", the catalog asks for " + e.Constraint
		case !e.Applicable:
			state = "cannot be installed here: " + e.Reason
		}
		fmt.Fprintf(sh.Out, "%-20s %s — %s\n", e.ID, e.Title, state)
		if e.Description != "" {
			fmt.Fprintf(sh.Out, "%-20s %s\n", "", oneLine(e.Description, 160))
		}
	}
	fmt.Fprintln(sh.Out, "\nInstall one with: tierline-agent software install ID")
	return nil
}

// Install installs an entry of the catalog through the agent's fix
// runner and prints the verified result.
func (sh Shell) Install(ctx context.Context, id string) error {
	id = strings.TrimSpace(id)
	if id == "" {
		return &InputError{Err: fmt.Errorf("name the entry to install (tierline-agent software lists them)")}
	}
	cctx, cancel := context.WithTimeout(ctx, installTimeout)
	defer cancel()
	if !sh.JSON {
		fmt.Fprintf(sh.Out, "Installing %s; this can take a few minutes…\n", id)
	}
	res, err := sh.Agent.Run(cctx, localipc.RunCall{Fix: catalog.InstallSoftware, Params: map[string]string{"entry": id}})
	if err != nil {
		return err
	}
	if sh.JSON {
		sh.json(res)
		return nil
	}
	fmt.Fprintf(sh.Out, "%s: %s\n", res.Outcome, res.Reason)
	if res.Outcome != wire.OutcomeSucceeded {
		return fmt.Errorf("%s was not installed", id)
	}
	return nil
}

// SoftwareCommand is `tierline-agent software [install ID]`.
func (sh Shell) SoftwareCommand(ctx context.Context, args []string) error {
	switch {
	case len(args) == 0:
		return sh.Software(ctx)
	case len(args) == 2 && args[0] == "install":
		return sh.Install(ctx, args[1])
	case len(args) == 2 && args[0] == "request":
		return sh.RequestSoftware(ctx, args[1])
	}
	return &InputError{Err: fmt.Errorf("usage: tierline-agent software [--json] [install ID | request ID]")}
}

// RequestSoftware asks the help desk for software that needs approval:
// it files a request from the hub's request template that names the
// entry id (or is the template id). A technician approves it, and the
// hub has the agent install it, or refuses it, and the user reads why
// in `tierline-agent tickets`.
func (sh Shell) RequestSoftware(ctx context.Context, id string) error {
	cctx, cancel := context.WithTimeout(ctx, shellTimeout)
	defer cancel()
	ans, err := sh.Agent.Templates(cctx)
	if err != nil {
		return err
	}
	var tpl *wire.RequestTemplate
	var offered []string
	for i, t := range ans.Templates {
		if t.Software == "" {
			continue
		}
		offered = append(offered, t.Software)
		if t.Software == id || t.ID == id {
			tpl = &ans.Templates[i]
		}
	}
	if tpl == nil {
		return &InputError{Err: fmt.Errorf("the help desk offers no software request for %q (requests offered: %s)", id, strings.Join(offered, ", "))}
	}
	call := localipc.HelpCall{Template: tpl.ID, Answers: map[string]string{}, Text: "Please install " + tpl.Name, Wait: 10 * time.Second}
	return sh.File(ctx, call, false)
}
