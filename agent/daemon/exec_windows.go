package daemon

import "errors"

// execSelf is not possible on Windows; the service manager restarts the agent.
func execSelf(string, []string, []string) error {
	return errors.New("a Windows program cannot replace itself")
}
