package main

import (
	"context"
	"fmt"
	"runtime"

	"github.com/tierline/tierline/agent/version"
	"github.com/tierline/tierline/shared/wire"
)

func init() { register("version", "print the agent version", runVersion) }

func runVersion(_ context.Context, args []string) int {
	fs := newFlags("version", "", "Print the agent version, protocol version and platform.")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	fmt.Fprintf(stdout, "tierline-agent %s (protocol %d, %s, %s/%s)\n", version.Version, wire.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}
