//go:build !linux

package health

import (
	"context"
	"runtime"

	"github.com/tierline/tierline/shared/diag"
)

// perfState is what the performance checks remember between runs; off
// Linux they read nothing to remember.
type perfState struct{}

func newPerfState(*Config) *perfState { return &perfState{} }

func checkSwap(_ context.Context, _ *Config, _ Env, _ *perfState) diag.CheckResult {
	return unknown("Paging rates are not read on " + runtime.GOOS + " yet.")
}

func checkOOM(_ context.Context, _ *Config, _ Env, _ *perfState) diag.CheckResult {
	return unknown("Out-of-memory kills are not read on " + runtime.GOOS + " yet.")
}

func checkLimits(_ context.Context, _ *Config) diag.CheckResult {
	return unknown("Process and thread limits are not read on " + runtime.GOOS + " yet.")
}
