//go:build !windows

package localipc

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

func (s *Server) listen() error {
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("local socket: %w", err)
	}
	if err := checkSocketDir(dir); err != nil {
		return err
	}
	if c, err := net.DialTimeout("unix", s.path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("local socket %s is in use: is another agent running with this socket?", s.path)
	}
	_ = os.Remove(s.path)
	ln, err := net.Listen("unix", s.path)
	if err != nil {
		return fmt.Errorf("local socket: %w", err)
	}
	// Every local user may connect; each connection is then authorised
	// by its peer credentials.
	if err := os.Chmod(s.path, 0o666); err != nil {
		ln.Close()
		return fmt.Errorf("local socket: %w", err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	path := s.path
	s.ln, s.identify = ln, peerCaller
	s.cleanup = func() { _ = os.Remove(path) }
	return nil
}

// checkSocketDir refuses, for a root agent, a directory others could
// write to: they could replace the socket with their own.
func checkSocketDir(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("local socket: %w", err)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if ok && sys.Uid != 0 || st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("local socket directory %s must belong to root and be writable by root only (it is %v); "+
			"choose another --socket or fix the directory", dir, st.Mode().Perm())
	}
	return nil
}

// peerCaller asks the kernel who is on the other end of c.
func peerCaller(c net.Conn) (Caller, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return Caller{}, fmt.Errorf("not a Unix socket connection")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return Caller{}, err
	}
	var uid, pid int
	var perr error
	if err := raw.Control(func(fd uintptr) { uid, pid, perr = peerCred(int(fd)) }); err != nil {
		return Caller{}, err
	}
	if perr != nil {
		return Caller{}, perr
	}
	who := Caller{UID: uid, PID: pid, User: strconv.Itoa(uid), Privileged: uid == 0 || uid == os.Geteuid()}
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil && u.Username != "" {
		who.User = u.Username
	}
	return who, nil
}

func dial(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", path)
}

// DefaultSocket is where the packaged agent service listens.
func DefaultSocket() string {
	if isDarwin {
		return "/var/run/tierline/agent.sock"
	}
	return "/run/tierline/agent.sock"
}
