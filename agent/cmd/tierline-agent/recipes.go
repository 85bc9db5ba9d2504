package main

import (
	"context"

	"github.com/tierline/tierline/agent/recipes"
)

func init() {
	register("recipes", "the organisation's signed recipes this agent accepted and refused; recipes key [set KEY|FILE]: its pinned signing key",
		func(_ context.Context, args []string) int {
			return recipes.Main(args, defaultStateDir(), stdout, stderr)
		})
}
