package fixes

import (
	"fmt"

	"golang.org/x/sys/windows"
)

// consoleUser is the user of the session attached to the physical
// console (WTSGetActiveConsoleSessionId); the agent runs as SYSTEM, which
// may ask for that session's token.
func consoleUser() (homeUser, error) {
	id := windows.WTSGetActiveConsoleSessionId()
	if id == 0xFFFFFFFF {
		return homeUser{}, errNobodyAtScreen
	}
	var tok windows.Token
	if err := windows.WTSQueryUserToken(id, &tok); err != nil {
		return homeUser{}, fmt.Errorf("%w (console session %d: %v)", errNobodyAtScreen, id, err)
	}
	defer tok.Close()
	tu, err := tok.GetTokenUser()
	if err != nil {
		return homeUser{}, err
	}
	home, err := tok.GetUserProfileDirectory()
	if err != nil {
		return homeUser{}, err
	}
	account, domain, _, _ := tu.User.Sid.LookupAccount("")
	name := account
	if domain != "" {
		name = domain + `\` + account
	}
	return homeUser{Name: name, Home: home, UID: -1, SID: tu.User.Sid.String()}, nil
}

// windowsDrives are the fixed drives, each "X:".
func windowsDrives() []string {
	mask, err := windows.GetLogicalDrives()
	if err != nil {
		return []string{"C:"}
	}
	var out []string
	for i := 0; i < 26; i++ {
		if mask&(1<<i) == 0 {
			continue
		}
		d := string(rune('A'+i)) + ":"
		root, _ := windows.UTF16PtrFromString(d + `\`)
		if windows.GetDriveType(root) == windows.DRIVE_FIXED {
			out = append(out, d)
		}
	}
	return out
}

// freeSpace is the space free to the agent on the volume holding path.
func freeSpace(path string) (uint64, bool) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return 0, false
	}
	var free, total, totalFree uint64
	if windows.GetDiskFreeSpaceEx(p, &free, &total, &totalFree) != nil {
		return 0, false
	}
	return free, true
}
