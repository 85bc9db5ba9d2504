package fixes

import (
	"fmt"
	"os"
	"syscall"
)

// consoleUser is the user signed in at the screen: macOS gives
// /dev/console to the user of the graphical session (root at the login
// window).
func consoleUser() (homeUser, error) {
	fi, err := os.Stat("/dev/console")
	if err != nil {
		return homeUser{}, errNobodyAtScreen
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 {
		return homeUser{}, fmt.Errorf("%w (the login window is showing)", errNobodyAtScreen)
	}
	return lookupHomeUser("", int(st.Uid))
}
