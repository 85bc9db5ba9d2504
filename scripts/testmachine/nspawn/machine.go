//go:build linux

package nspawn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Network is a network namespace of the test's (tl-NAME) joined to a
// machine by a veth pair: tlh-NAME in the namespace with HubIP, tlm-NAME
// for the machine. Both ends are made in the namespace and the machine's
// end moves from there into the machine, so neither ever appears in the
// host's own namespace: an agent running there (tests beside this one)
// would see a switched-off adapter of its computer come and go.
type Network struct {
	NS        string
	HostIf    string
	MachineIf string
}

// NewNetwork creates the namespace and the veth pair. name is at most 11
// characters (interface names are at most 15).
func NewNetwork(name string) (*Network, error) {
	if len(name) == 0 || len(name) > 11 {
		return nil, fmt.Errorf("network name %q: 1 to 11 characters", name)
	}
	n := &Network{NS: "tl-" + name, HostIf: "tlh-" + name, MachineIf: "tlm-" + name}
	steps := [][]string{
		{"netns", "add", n.NS},
		{"-n", n.NS, "link", "add", n.HostIf, "type", "veth", "peer", "name", n.MachineIf},
		{"-n", n.NS, "addr", "add", fmt.Sprintf("%s/%d", HubIP, Prefix), "dev", n.HostIf},
		{"-n", n.NS, "link", "set", n.HostIf, "up"},
		{"-n", n.NS, "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if out, err := exec.Command("ip", s...).CombinedOutput(); err != nil {
			n.Close()
			return nil, fmt.Errorf("ip %s: %w: %s", strings.Join(s, " "), err, bytes.TrimSpace(out))
		}
	}
	return n, nil
}

// Close removes the namespace and with it the veth pair (deleting one
// end deletes its peer, wherever that is).
func (n *Network) Close() error {
	if _, err := os.Stat("/var/run/netns/" + n.NS); err != nil {
		return nil
	}
	if out, err := exec.Command("ip", "netns", "del", n.NS).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns del %s: %w: %s", n.NS, err, bytes.TrimSpace(out))
	}
	return nil
}

// Command runs a program inside the test's namespace.
func (n *Network) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.NS, name}, args...)...)
}

// DialContext connects from inside the test's namespace, for an
// http.Transport that talks to a hub listening there.
func (n *Network) DialContext(ctx context.Context, network, addr string) (c net.Conn, err error) {
	err = InNetns(n.Path(), func() error {
		var d net.Dialer
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// Listen listens on addr inside the test's namespace (a socket keeps the
// namespace it was made in).
func (n *Network) Listen(network, addr string) (ln net.Listener, err error) {
	err = InNetns(n.Path(), func() error {
		ln, err = net.Listen(network, addr)
		return err
	})
	return ln, err
}

// Path is the namespace's file, for InNetns.
func (n *Network) Path() string { return "/var/run/netns/" + n.NS }

// InNetns runs f on a thread in the network namespace at path (a file in
// /var/run/netns, or /proc/PID/ns/net). The thread is never unlocked: it
// ends with its goroutine, so nothing else ever runs in that namespace;
// sockets f opens stay in it.
func InNetns(path string, f func() error) error {
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		ns, err := os.Open(path)
		if err != nil {
			ch <- err
			return
		}
		defer ns.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- fmt.Errorf("setns %s: %w", path, err)
			return
		}
		ch <- f()
	}()
	return <-ch
}

// Config says which machine to boot.
type Config struct {
	// Name is the machine's name (systemd-nspawn --machine).
	Name string
	// Root is the directory to boot (EnsureRoot). It is not changed: the
	// machine writes to a tmpfs overlay (--volatile=overlay).
	Root string
	// Network joins the machine to the test's namespace; nil leaves it
	// with loopback only.
	Network *Network
	// Detach starts systemd-nspawn in its own session, to outlive the
	// caller (the testmachine command); its console goes to Log only if
	// Log is a file.
	Detach bool
	// Log, if set, receives systemd-nspawn's output (the console).
	Log io.Writer
}

// Machine is a booted machine.
type Machine struct {
	Name string
	// PID is systemd-nspawn's, Leader the machine's init (systemd) as this
	// namespace sees it.
	PID, Leader int
	cmd         *exec.Cmd
	done        chan struct{}
	console     *syncBuffer
}

// Boot starts the machine and waits until systemd says startup finished
// (systemctl is-system-running --wait: running or degraded) and, with a
// Network, until the machine's interface has its address.
func Boot(ctx context.Context, cfg Config) (*Machine, error) {
	m := &Machine{Name: cfg.Name, done: make(chan struct{}), console: &syncBuffer{}}
	// The host's PID 1 need not be systemd: no machined to register with,
	// no unit to create (--register=no --keep-unit). The interface is moved
	// in after boot: without udev on the host, --network-interface refuses
	// it as "not initialized yet".
	args := []string{"--boot", "--directory=" + cfg.Root, "--machine=" + cfg.Name, "--volatile=overlay",
		"--private-network", "--register=no", "--keep-unit", "--console=read-only"}
	m.cmd = exec.Command("systemd-nspawn", args...)
	var out io.Writer = m.console
	if cfg.Log != nil {
		out = io.MultiWriter(m.console, cfg.Log)
	}
	m.cmd.Stdout, m.cmd.Stderr = out, out
	if cfg.Detach {
		m.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		// A pipe to this process would break when it exits, and
		// systemd-nspawn with it: a detached machine writes to a file.
		if f, ok := cfg.Log.(*os.File); ok {
			m.cmd.Stdout, m.cmd.Stderr = f, f
		} else {
			m.cmd.Stdout, m.cmd.Stderr = nil, nil
		}
	}
	if err := m.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start systemd-nspawn: %w", err)
	}
	m.PID = m.cmd.Process.Pid
	go func() { m.cmd.Wait(); close(m.done) }()
	fail := func(err error) (*Machine, error) {
		m.Stop()
		return nil, fmt.Errorf("%w\n--- console:\n%s", err, tail(m.console.String(), 4000))
	}
	if err := m.findLeader(ctx); err != nil {
		return fail(err)
	}
	if cfg.Network != nil {
		if out, err := exec.Command("ip", "-n", cfg.Network.NS, "link", "set", cfg.Network.MachineIf, "netns", strconv.Itoa(m.Leader)).CombinedOutput(); err != nil {
			return fail(fmt.Errorf("move %s into the machine: %w: %s", cfg.Network.MachineIf, err, bytes.TrimSpace(out)))
		}
	}
	if err := m.waitBooted(ctx); err != nil {
		return fail(err)
	}
	if cfg.Network != nil {
		err := m.poll(ctx, "the machine's address "+MachineIP, func() (bool, error) {
			out, err := m.Exec(ctx, "ip", "-o", "-4", "addr", "show", "dev", cfg.Network.MachineIf)
			return err == nil && strings.Contains(out, MachineIP+"/"), nil
		})
		if err != nil {
			return fail(err)
		}
	}
	return m, nil
}

// Attach returns the machine whose systemd-nspawn has pid, started by
// another process (the testmachine command), to Exec in or Stop.
func Attach(name string, pid int) (*Machine, error) {
	m := &Machine{Name: name, PID: pid, console: &syncBuffer{}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.findLeader(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// findLeader waits for systemd-nspawn's child in a new PID namespace that
// runs systemd: the machine's init.
func (m *Machine) findLeader(ctx context.Context) error {
	self, _ := os.Readlink("/proc/self/ns/pid")
	return m.poll(ctx, "the machine's init process", func() (bool, error) {
		kids, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", m.PID, m.PID))
		for _, f := range strings.Fields(string(kids)) {
			pid, err := strconv.Atoi(f)
			if err != nil {
				continue
			}
			// Until it has become init (exec'd systemd) it may still see
			// the host's root.
			comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
			if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); err == nil && ns != self && strings.TrimSpace(string(comm)) == "systemd" {
				m.Leader = pid
				return true, nil
			}
		}
		return false, nil
	})
}

// waitBooted waits for systemd in the machine to finish starting up.
func (m *Machine) waitBooted(ctx context.Context) error {
	var state string
	err := m.poll(ctx, "systemd in the machine to finish starting up", func() (bool, error) {
		c, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		out, _ := m.Exec(c, "systemctl", "is-system-running", "--wait")
		state = strings.TrimSpace(out)
		switch state {
		case "running", "degraded":
			return true, nil
		case "maintenance", "stopping":
			return false, fmt.Errorf("the machine's systemd is %s", state)
		}
		return false, nil // not up far enough to answer yet
	})
	if err == nil && state == "degraded" {
		failed, _ := m.Exec(ctx, "systemctl", "--failed", "--no-legend", "--plain")
		m.console.WriteString("testmachine: booted degraded; failed units:\n" + failed)
	}
	return err
}

// poll calls cond until it is true, returns an error, the machine stops,
// or ctx ends. Between calls it waits a moment: these are conditions of
// another system, seen from outside.
func (m *Machine) poll(ctx context.Context, what string, cond func() (bool, error)) error {
	for {
		ok, err := cond()
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		if m.stopped() {
			return fmt.Errorf("waiting for %s: %w", what, errStopped)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (m *Machine) stopped() bool {
	if m.done != nil {
		select {
		case <-m.done:
			return true
		default:
			return false
		}
	}
	return syscall.Kill(m.PID, 0) != nil
}

// env is the environment of commands run in the machine.
var env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "HOME=/root", "TERM=dumb"}

// Command returns a command that runs argv in the machine (all its
// namespaces, root's environment).
func (m *Machine) Command(ctx context.Context, argv ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"--target", strconv.Itoa(m.Leader), "--all", "--"}, argv...)...)
	cmd.Env = env
	return cmd
}

// Exec runs argv in the machine and returns its combined output; a
// non-zero exit is an error that quotes the output.
func (m *Machine) Exec(ctx context.Context, argv ...string) (string, error) {
	out, err := m.Command(ctx, argv...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("in the machine: %s: %w: %s", strings.Join(argv, " "), err, tail(strings.TrimSpace(string(out)), 2000))
	}
	return string(out), nil
}

// CopyIn writes the file src to dst in the machine with mode, creating
// dst's directory.
func (m *Machine) CopyIn(src, dst string, mode os.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return m.WriteFile(dst, b, mode)
}

// WriteFile writes data to the file dst in the machine.
func (m *Machine) WriteFile(dst string, data []byte, mode os.FileMode) error {
	if !filepath.IsAbs(dst) || strings.Contains(dst, "..") {
		return fmt.Errorf("%s: an absolute path without .. is needed", dst)
	}
	p := fmt.Sprintf("/proc/%d/root%s", m.Leader, dst)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("in the machine: %w", err)
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		return fmt.Errorf("in the machine: %w", err)
	}
	return os.Chmod(p, mode)
}

// Console is what the machine printed on its console so far.
func (m *Machine) Console() string { return m.console.String() }

// Stop shuts the machine down (systemd-nspawn turns SIGTERM into a clean
// halt) and waits for it, killing it after 30 seconds.
func (m *Machine) Stop() error {
	if m.stopped() {
		return nil
	}
	_ = syscall.Kill(m.PID, syscall.SIGTERM)
	deadline := time.Now().Add(HaltWait)
	for !m.stopped() {
		if time.Now().After(deadline) {
			_ = syscall.Kill(m.PID, syscall.SIGKILL)
			if m.done != nil {
				<-m.done
			}
			return fmt.Errorf("machine %s did not halt within %s: %w", m.Name, HaltWait, ErrKilled)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// HaltWait is how long Stop waits for the machine to halt before it kills
// it (a loaded host can take a while to stop every unit).
const HaltWait = 60 * time.Second

// ErrKilled is Stop's error when the machine had to be killed: it is gone
// all the same (its writes were on a tmpfs overlay), so a test may go on.
var ErrKilled = errors.New("killed")

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) WriteString(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.WriteString(v)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
