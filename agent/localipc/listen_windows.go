package localipc

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// pipeSDDL lets SYSTEM and Administrators do everything and interactive
// users (those logged on at the machine) read and write; network logons
// and services of other accounts are not admitted. go-winio creates the
// pipe with PIPE_REJECT_REMOTE_CLIENTS.
const pipeSDDL = "D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GRGW;;;IU)"

func (s *Server) listen() error {
	ln, err := winio.ListenPipe(s.path, &winio.PipeConfig{SecurityDescriptor: pipeSDDL, InputBufferSize: 64 << 10, OutputBufferSize: 64 << 10})
	if err != nil {
		return fmt.Errorf("local pipe %s: %w (is another agent running?)", s.path, err)
	}
	s.ln, s.identify = ln, pipeCaller
	return nil
}

// pipeCaller identifies the client by its process's token.
func pipeCaller(c net.Conn) (Caller, error) {
	f, ok := c.(interface{ Fd() uintptr })
	if !ok {
		return Caller{}, errors.New("not a named pipe connection")
	}
	var pid uint32
	if err := windows.GetNamedPipeClientProcessId(windows.Handle(f.Fd()), &pid); err != nil {
		return Caller{}, fmt.Errorf("client process: %w", err)
	}
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return Caller{}, fmt.Errorf("client process %d: %w", pid, err)
	}
	defer windows.CloseHandle(h)
	var tok windows.Token
	if err := windows.OpenProcessToken(h, windows.TOKEN_QUERY, &tok); err != nil {
		return Caller{}, fmt.Errorf("client token: %w", err)
	}
	defer tok.Close()
	tu, err := tok.GetTokenUser()
	if err != nil {
		return Caller{}, fmt.Errorf("client user: %w", err)
	}
	sid := tu.User.Sid
	who := Caller{UID: -1, PID: int(pid), SID: sid.String(), User: sid.String()}
	if acct, dom, _, err := sid.LookupAccount(""); err == nil {
		who.User = acct
		if dom != "" {
			who.User = dom + `\` + acct
		}
	}
	who.Privileged = sid.IsWellKnown(windows.WinLocalSystemSid) || tok.IsElevated()
	return who, nil
}

func dial(ctx context.Context, path string) (net.Conn, error) {
	return winio.DialPipeContext(ctx, path)
}

// DefaultSocket is the agent service's named pipe.
func DefaultSocket() string { return `\\.\pipe\tierline-agent` }
