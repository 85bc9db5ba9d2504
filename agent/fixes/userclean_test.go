package fixes

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tierline/tierline/shared/wire"
)

// TestUserFoldersPerOS: the folders each per-user disk fix empties, on
// each OS, relative to the user's home.
func TestUserFoldersPerOS(t *testing.T) {
	join := func(fs [][]string) []string {
		var out []string
		for _, f := range fs {
			out = append(out, strings.Join(f, "/"))
		}
		return out
	}
	for _, tt := range []struct {
		goos, action string
		want         []string
	}{
		{"linux", ActEmptyTrash, []string{".local/share/Trash"}},
		{"darwin", ActEmptyTrash, []string{".Trash"}},
		{"windows", ActEmptyTrash, nil}, // the recycle bins are per drive, below
		{"linux", ActClearUserCaches, []string{".cache"}},
		{"darwin", ActClearUserCaches, []string{"Library/Caches"}},
		{"windows", ActClearUserCaches, []string{
			"AppData/Local/Temp",
			"AppData/Local/Google/Chrome/User Data/*/Cache", "AppData/Local/Google/Chrome/User Data/*/Code Cache",
			"AppData/Local/Google/Chrome/User Data/*/GPUCache",
			"AppData/Local/Microsoft/Edge/User Data/*/Cache", "AppData/Local/Microsoft/Edge/User Data/*/Code Cache",
			"AppData/Local/Microsoft/Edge/User Data/*/GPUCache",
			"AppData/Local/Mozilla/Firefox/Profiles/*/cache2",
		}},
	} {
		if d := cmp.Diff(tt.want, join(userFolders(tt.goos, tt.action))); d != "" {
			t.Errorf("%s %s (-want +got):\n%s", tt.goos, tt.action, d)
		}
	}
	if d := cmp.Diff([]string{`C:\$Recycle.Bin\S-1-5-21-1-2-3-1001`, `D:\$Recycle.Bin\S-1-5-21-1-2-3-1001`},
		recycleBins("S-1-5-21-1-2-3-1001", []string{"C:", "D:"})); d != "" {
		t.Errorf("recycle bins (-want +got):\n%s", d)
	}
}

// TestPickConsoleUser: the user at the screen from logind's session
// files.
func TestPickConsoleUser(t *testing.T) {
	s := func(text string) logindSession { return parseLogindSession([]byte(text)) }
	active := s("UID=1000\nUSER=alice\nACTIVE=1\nIS_DISPLAY=1\nSTATE=active\nREMOTE=0\nTYPE=wayland\nCLASS=user\nSEAT=seat0\nDISPLAY=:0\n")
	ssh := s("UID=1001\nUSER=bob\nACTIVE=1\nSTATE=active\nREMOTE=1\nTYPE=tty\nCLASS=user\nREMOTE_HOST=192.0.2.7\n")
	greeter := s("UID=115\nUSER=gdm\nACTIVE=0\nSTATE=online\nCLASS=greeter\nSEAT=seat0\n")
	mgr := s("UID=1000\nUSER=alice\nCLASS=manager\n")
	carolTTY := s("UID=1002\nUSER=carol\nACTIVE=0\nSTATE=online\nREMOTE=0\nCLASS=user\nSEAT=seat0\nTTY=tty2\n")
	for _, tt := range []struct {
		name string
		in   []logindSession
		want string
		err  string
	}{
		{"active on seat0", []logindSession{ssh, greeter, active, mgr}, "alice", ""},
		{"only ssh", []logindSession{ssh, mgr}, "", "no local session"},
		{"greeter only", []logindSession{greeter}, "", "no local session"},
		{"one local, not active", []logindSession{carolTTY, ssh}, "carol", ""},
		{"two local, none active", []logindSession{carolTTY, s("USER=dave\nSEAT=seat0\nCLASS=user\n")}, "", "several users"},
		{"none", nil, "", "no local session"},
	} {
		got, err := pickConsoleUser(tt.in)
		if got != tt.want || (tt.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: %q %v, want %q %q", tt.name, got, err, tt.want, tt.err)
		}
	}
}

func TestIsRotatedLog(t *testing.T) {
	for name, want := range map[string]bool{
		"syslog.1": true, "syslog.2.gz": true, "dpkg.log.12.xz": true, "messages-20261201": true, "messages-20261201.gz": true,
		"Xorg.0.log.old": true, "history.log.1.gz": true, "kern.log.3.zst": true, "wtmp.1": true, "something.gz": true,
		"syslog": false, "auth.log": false, "Xorg.0.log": false, "wtmp": false, "lastlog": false, "faillog": false,
		"dpkg.log": false, "btmp": false, "alternatives.log": false, ".1": false, "cups": false, "journal": false,
	} {
		if got := isRotatedLog(name); got != want {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
}

// TestWhoseUser: whose folders a per-user fix acts on, and the refusals.
func TestWhoseUser(t *testing.T) {
	users := map[string]homeUser{"alice": {Name: "alice", Home: "/home/alice", UID: 1000}, "bob": {Name: "bob", Home: "/home/bob", UID: 1001}}
	l := &Local{
		LookupUser: func(name string, uid int) (homeUser, error) {
			for _, u := range users {
				if u.Name == name || name == "" && u.UID == uid {
					return u, nil
				}
			}
			return homeUser{}, errors.New("unknown user")
		},
		ConsoleUser: func() (homeUser, error) { return users["alice"], nil },
	}
	nobody := &Local{LookupUser: l.LookupUser, ConsoleUser: func() (homeUser, error) { return homeUser{}, errNobodyAtScreen }}
	bobAsks := WithRequester(context.Background(), 1001)
	for _, tt := range []struct {
		name  string
		l     *Local
		ctx   context.Context
		args  map[string]string
		want  string // user chosen
		na    string
		rfuse string
	}{
		{"technician, nobody named: the user at the screen", l, context.Background(), nil, "alice", "", ""},
		{"technician names bob", l, context.Background(), map[string]string{"user": "bob"}, "bob", "", ""},
		{"technician names a stranger", l, context.Background(), map[string]string{"user": "mallory"}, "", "there is no user mallory", ""},
		{"nobody at the screen", nobody, context.Background(), nil, "", "nobody is signed in at this computer's screen", ""},
		{"bob asks for his own", l, bobAsks, nil, "bob", "", ""},
		{"bob names himself", l, bobAsks, map[string]string{"user": "bob"}, "bob", "", ""},
		{"bob asks for alice's", l, bobAsks, map[string]string{"user": "alice"}, "", "", wire.RefusePolicy},
		{"an account without a home asks", l, WithRequester(context.Background(), 4242), nil, "", "uid 4242", ""},
	} {
		u, stop := tt.l.whose(tt.ctx, tt.args, "trash")
		switch {
		case tt.na != "":
			if stop == nil || !strings.Contains(stop.NotApplicable, tt.na) {
				t.Errorf("%s: %+v %+v, want not applicable %q", tt.name, u, stop, tt.na)
			}
		case tt.rfuse != "":
			if stop == nil || stop.Refused == nil || stop.Refused.Code != tt.rfuse || !strings.Contains(stop.Refused.Reason, "only your own trash") {
				t.Errorf("%s: %+v, want refused %s", tt.name, stop, tt.rfuse)
			}
		case stop != nil || u.Name != tt.want:
			t.Errorf("%s: %+v %+v, want %s", tt.name, u, stop, tt.want)
		}
	}
}
