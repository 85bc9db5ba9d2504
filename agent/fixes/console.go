package fixes

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// errNobodyAtScreen: no user is signed in at the computer's own screen.
var errNobodyAtScreen = errors.New("no local session")

// logindSession is what consoleUser needs of one systemd-logind session
// file (/run/systemd/sessions/ID).
type logindSession struct {
	User, Seat, Class, State string
	Active, Remote           bool
}

func parseLogindSession(b []byte) logindSession {
	var s logindSession
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		switch k {
		case "USER":
			s.User = v
		case "SEAT":
			s.Seat = v
		case "CLASS":
			s.Class = v
		case "STATE":
			s.State = v
		case "ACTIVE":
			s.Active = v == "1"
		case "REMOTE":
			s.Remote = v == "1"
		}
	}
	return s
}

// pickConsoleUser chooses the user at the screen from logind's sessions:
// the active user session on seat0. Without one, a single user with
// local (not remote) user sessions; several such users are ambiguous.
func pickConsoleUser(sessions []logindSession) (string, error) {
	var local []string
	for _, s := range sessions {
		if s.User == "" || s.State == "closing" || (s.Class != "" && s.Class != "user") {
			continue
		}
		if s.Seat == "seat0" && s.Active {
			return s.User, nil
		}
		if !s.Remote && s.Seat != "" && !slices.Contains(local, s.User) {
			local = append(local, s.User)
		}
	}
	switch len(local) {
	case 0:
		return "", errNobodyAtScreen
	case 1:
		return local[0], nil
	}
	return "", fmt.Errorf("several users have local sessions (%s) and none is active on the screen", strings.Join(local, ", "))
}
