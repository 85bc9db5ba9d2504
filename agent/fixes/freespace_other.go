//go:build !unix && !windows

package fixes

func windowsDrives() []string { return nil }

func freeSpace(string) (uint64, bool) { return 0, false }
