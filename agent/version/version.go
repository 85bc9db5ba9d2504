// Package version holds the agent's version, set at link time:
//
//	go build -ldflags "-X github.com/tierline/tierline/agent/version.Version=1.2.3" ./agent/cmd/tierline-agent
package version

// Version is the agent version reported at enrollment and in Hello.
var Version = "dev"
