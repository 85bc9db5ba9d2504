//go:build !windows

package daemon

import "syscall"

// execSelf replaces this process with exe.
func execSelf(exe string, argv, env []string) error { return syscall.Exec(exe, argv, env) }
