//go:build !linux && !windows && !darwin

package crashes

// DefaultSources: no crash record is read on this OS.
func DefaultSources(root string) []Source { return nil }
