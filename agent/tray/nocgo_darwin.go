//go:build darwin && !cgo

package tray

import (
	"context"
	"errors"
)

// Run reports that this build has no tray: on macOS the tray icon needs
// the Cocoa bindings, which only a cgo build of the agent has. The Get
// help page (`tierline-agent gethelp`) works in every build.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return err
	}
	return errors.New("the tray needs a cgo build on macOS (CGO_ENABLED=1); use `tierline-agent gethelp` meanwhile")
}
