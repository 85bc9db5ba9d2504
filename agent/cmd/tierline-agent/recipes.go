package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/tierline/tierline/agent/recipes"
	"github.com/tierline/tierline/shared/orgdoc"
)

func init() {
	register("recipe-key", "show or (as root) set the organisation's pinned recipe signing key: recipe-key [set FILE]", runRecipeKey)
	register("recipes", "list the organisation's signed recipes this agent accepted, and those it refused with the reason (--json)", runRecipes)
}

func runRecipeKey(_ context.Context, args []string) int {
	fs := newFlags("recipe-key", "[--state DIR] [set KEY|FILE]",
		"Show the organisation's recipe signing key pinned on this machine, or pin another one\n"+
			"(set: the base64 key or the .pub file `tierline-hub recipe keygen` wrote). Only the\n"+
			"machine's administrator can do this (the state directory is root's); the hub cannot,\n"+
			"except with a key change signed by the pinned key. The running agent uses the new key\n"+
			"for every recipe it runs from now on.")
	state := fs.String("state", defaultStateDir(), "state directory")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch {
	case fs.NArg() == 0:
		pin, pub, ok, err := recipes.ReadPin(*state)
		if err != nil {
			return fail(fs, exitError, err)
		}
		if !ok {
			fmt.Fprintln(stdout, "no recipe signing key is pinned: this agent accepts no recipes")
			return exitOK
		}
		fmt.Fprintf(stdout, "recipe signing key %s (%s)\npinned by %s at %s; key changes applied: %d\n", orgdoc.KeyID(pub), pin.Key,
			pin.SetBy, pin.SetAt.Local().Format(time.DateTime), pin.Serial)
		return exitOK
	case fs.NArg() == 2 && fs.Arg(0) == "set":
		pub, err := recipes.ParseKeyArg(fs.Arg(1))
		if err != nil {
			return fail(fs, exitUsage, err)
		}
		if err := recipes.PinKey(*state, pub, "local", time.Now()); err != nil {
			return fail(fs, exitError, err)
		}
		fmt.Fprintf(stdout, "recipe signing key %s pinned; recipes signed by another key are refused from now on\n", orgdoc.KeyID(pub))
		return exitOK
	}
	fmt.Fprintln(stderr, "usage: tierline-agent recipe-key [--state DIR] [set KEY|FILE]")
	return exitUsage
}

func runRecipes(_ context.Context, args []string) int {
	fs := newFlags("recipes", "[--state DIR] [--json]",
		"List the organisation's signed recipes this agent accepted from the hub (verified against\n"+
			"the pinned key) and those it refused the last time, with the reason.")
	state := fs.String("state", defaultStateDir(), "state directory")
	asJSON := fs.Bool("json", false, "print JSON")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	st, err := recipes.Open(*state, nil)
	if err != nil {
		return fail(fs, exitError, err)
	}
	list, refused := st.List(), st.Refused()
	if *asJSON {
		b, _ := json.MarshalIndent(map[string]any{"recipes": list, "refused": refused}, "", "  ")
		fmt.Fprintln(stdout, string(b))
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RECIPE\tVERSION\tTIER\tOSES\tTITLE")
	for _, r := range list {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%v\t%s\n", r.ID, r.Version, r.Tier, r.OSes, r.Title)
	}
	tw.Flush()
	for _, r := range refused {
		fmt.Fprintf(stdout, "refused %s (version %d): %s\n", r.ID, r.Version, r.Reason)
	}
	return exitOK
}
