package main

import (
	"context"

	"github.com/tierline/tierline/agent/recipes"
)

func init() {
	register("recipes", "the organisation's signed recipes this agent accepted and refused; recipes key [set KEY|FILE]: its pinned signing key", runRecipes)
}

func runRecipes(_ context.Context, args []string) int {
	fs := newFlags("recipes", "[--state DIR] [--json] [key [set KEY|FILE]]",
		"List the organisation's signed recipes this agent accepted (verified against the pinned key) and those\n"+
			"it refused the last time, with the reason. `key` shows the pinned signing key; `key set` pins another\n"+
			"(the base64 key or recipe keygen's .pub file): only the machine's administrator can, the hub only\n"+
			"with a key change signed by the pinned key.")
	state := fs.String("state", defaultStateDir(), "state directory")
	asJSON := fs.Bool("json", false, "print JSON")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if err := recipes.Command(stdout, *state, fs.Args(), *asJSON); err != nil {
		return fail(fs, exitUsage, err)
	}
	return exitOK
}
