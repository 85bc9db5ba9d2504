package main

import (
	"context"

	"github.com/tierline/tierline/agent/diagnose"
)

func init() {
	register("diagnose", "check this machine and print a report (no hub needed; --json for JSON)", runDiagnose)
}

// runDiagnose exits 1 when a health check fails, so scripts can act on it.
func runDiagnose(ctx context.Context, args []string) int {
	return diagnose.Main(ctx, args, stdout, stderr)
}
