//go:build windows

package execx

import (
	"os/exec"
	"strconv"
	"syscall"
)

func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP, HideWindow: true}
}

// killTree ends the process and its children with taskkill /T; if that
// cannot run, the process itself is killed.
func killTree(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	if tk, err := Find("taskkill"); err == nil {
		if exec.Command(tk, "/T", "/F", "/PID", strconv.Itoa(cmd.Process.Pid)).Run() == nil {
			return nil
		}
	}
	return cmd.Process.Kill()
}
