//go:build !linux

package health

import "crypto/tls"

// checkTLS is the TLS configuration of a URL check: Go's own verification
// (on Windows and macOS the system verifies, and keeps no pool in the
// agent's memory).
func checkTLS(string) *tls.Config { return nil }
