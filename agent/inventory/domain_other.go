//go:build !windows

package inventory

import (
	"os"
	"strings"
)

// domain returns the DNS domain of the machine's name, if it has one.
// Workgroups are a Windows notion.
func domain(_ *Config) (dom, workgroup string) {
	h, err := os.Hostname()
	if err != nil {
		return "", ""
	}
	if _, d, found := strings.Cut(h, "."); found {
		return d, ""
	}
	return "", ""
}
