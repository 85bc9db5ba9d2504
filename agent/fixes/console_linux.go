package fixes

import (
	"os"
	"path/filepath"
	"strings"
)

// logindSessions is where systemd-logind keeps its sessions.
const logindSessions = "/run/systemd/sessions"

// consoleUser is the user signed in at the screen, from systemd-logind's
// session files (plain files, so no exec of loginctl).
func consoleUser() (homeUser, error) {
	ents, err := os.ReadDir(logindSessions)
	if err != nil {
		return homeUser{}, errNobodyAtScreen
	}
	var ss []logindSession
	for _, e := range ents {
		if strings.Contains(e.Name(), ".") || !e.Type().IsRegular() {
			continue // .ref files, temporary files
		}
		if b, err := os.ReadFile(filepath.Join(logindSessions, e.Name())); err == nil && len(b) < 64<<10 {
			ss = append(ss, parseLogindSession(b))
		}
	}
	name, err := pickConsoleUser(ss)
	if err != nil {
		return homeUser{}, err
	}
	return lookupHomeUser(name, -1)
}
