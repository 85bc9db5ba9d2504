package crashes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tierline/tierline/agent/execx"
)

// DefaultSources are the crash records of this OS under root ("/" on a
// live machine): the kernel log always (it names every process killed by
// a fault, with or without systemd), and systemd-coredump's journal
// entries when it is the kernel's core handler.
func DefaultSources(root string) []Source {
	return []Source{NewKmsgSource(filepath.Join(root, "dev/kmsg"), filepath.Join(root, "proc/uptime")),
		NewCoredumpSource(root)}
}

// MaxKmsgRecords bounds the kernel log records one read looks at: the
// first read walks the kernel's ring buffer (bounded by the kernel), later
// ones only what is new since.
const MaxKmsgRecords = 20000

// KmsgSource reads the kernel's log from /dev/kmsg, keeping the file open
// so that each read returns only records logged since the last one.
type KmsgSource struct {
	path, uptime string
	mu           sync.Mutex
	fd           int // -1 while closed; a raw descriptor, so it stays non-blocking
	seq          uint64
}

// NewKmsgSource reads the kernel log at path; uptime is /proc/uptime,
// from which the records' boot-relative times become wall-clock times.
func NewKmsgSource(path, uptime string) *KmsgSource {
	return &KmsgSource{path: path, uptime: uptime, fd: -1}
}

// Name is "kernel-log".
func (k *KmsgSource) Name() string { return "kernel-log" }

// Read returns the crashes and hangs logged since the last Read.
func (k *KmsgSource) Read(ctx context.Context) ([]Event, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.fd < 0 {
		fd, err := syscall.Open(k.path, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
		if err != nil {
			if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
				return nil, fmt.Errorf("open %s: %w: %w", k.path, err, ErrNoSource)
			}
			return nil, fmt.Errorf("open %s: %w", k.path, err)
		}
		k.fd = fd
	}
	boot, err := bootTime(k.uptime)
	if err != nil {
		return nil, err
	}
	var evs []Event
	buf := make([]byte, 8192) // one read returns one record, at most about 8 KiB
	for range MaxKmsgRecords {
		if ctx.Err() != nil {
			break
		}
		n, err := syscall.Read(k.fd, buf)
		if err != nil {
			if errors.Is(err, syscall.EPIPE) {
				continue // records were overwritten before we read them: go on with the next
			}
			if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINVAL) {
				break
			}
			return evs, fmt.Errorf("read %s: %w", k.path, err)
		}
		if n <= 0 {
			break
		}
		r, ok := parseKmsgRecord(buf[:n])
		if !ok || (k.seq != 0 && r.Seq <= k.seq) {
			continue
		}
		k.seq = r.Seq
		if e, ok := kmsgEvent(r, boot); ok {
			evs = append(evs, e)
		}
	}
	return evs, nil
}

// Close closes the kernel log.
func (k *KmsgSource) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.fd < 0 {
		return nil
	}
	err := syscall.Close(k.fd)
	k.fd = -1
	return err
}

// bootTime is now minus the uptime in /proc/uptime: the kernel log's
// timestamps count from there (to within the time spent suspended).
func bootTime(path string) (time.Time, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return time.Time{}, fmt.Errorf("read uptime: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return time.Time{}, fmt.Errorf("read uptime: empty %s", path)
	}
	up, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("read uptime: %w", err)
	}
	return time.Now().Add(-time.Duration(up * float64(time.Second))), nil
}

// Coredump source limits: journalctl runs only when systemd-coredump is
// the core handler and its directory changed (or CoredumpRecheck passed,
// for Storage=none), returns at most MaxJournalEntries entries and is
// stopped after JournalTimeout.
const (
	MaxJournalEntries = 200
	JournalTimeout    = 5 * time.Second
	CoredumpRecheck   = 15 * time.Minute
)

// CoredumpSource reads systemd-coredump's entries from the journal.
type CoredumpSource struct {
	root string
	// Run runs a command (default execx.Run); tests replace it.
	Run func(ctx context.Context, cmd execx.Cmd) (execx.Result, error)

	mu      sync.Mutex
	cursor  string
	dirMod  time.Time
	lastRun time.Time
}

// NewCoredumpSource reads the journal of the machine under root.
func NewCoredumpSource(root string) *CoredumpSource {
	return &CoredumpSource{root: root, Run: execx.Run}
}

// Name is "coredump".
func (c *CoredumpSource) Name() string { return "coredump" }

// Handled reports whether systemd-coredump is the kernel's core handler.
func (c *CoredumpSource) Handled() bool {
	b, err := os.ReadFile(filepath.Join(c.root, "proc/sys/kernel/core_pattern"))
	return err == nil && strings.Contains(string(b), "systemd-coredump")
}

// Read returns the entries logged since the last Read.
func (c *CoredumpSource) Read(ctx context.Context) ([]Event, error) {
	if !c.Handled() {
		return nil, ErrNoSource
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	var mod time.Time
	if st, err := os.Stat(filepath.Join(c.root, "var/lib/systemd/coredump")); err == nil {
		mod = st.ModTime()
	}
	if !c.lastRun.IsZero() && mod.Equal(c.dirMod) && now.Sub(c.lastRun) < CoredumpRecheck {
		return nil, nil // nothing new was stored: no process spawned
	}
	argv := []string{"journalctl", "--no-pager", "-q", "-o", "json", "-n", strconv.Itoa(MaxJournalEntries),
		"--output-fields=__CURSOR,__REALTIME_TIMESTAMP,COREDUMP_COMM,COREDUMP_EXE,COREDUMP_PID,COREDUMP_SIGNAL,COREDUMP_SIGNAL_NAME,COREDUMP_TIMESTAMP,COREDUMP_PACKAGE_VERSION"}
	if c.cursor != "" {
		argv = append(argv, "--after-cursor="+c.cursor)
	} else {
		argv = append(argv, "--since=-24h")
	}
	argv = append(argv, "MESSAGE_ID="+CoredumpMessageID)
	res, err := c.Run(ctx, execx.Cmd{Argv: argv, Timeout: JournalTimeout, MaxOutput: 512 << 10})
	c.lastRun, c.dirMod = now, mod
	if err != nil && res.Output == "" {
		return nil, fmt.Errorf("journalctl: %w", err)
	}
	evs, cur := parseJournal([]byte(res.Output))
	if cur != "" {
		c.cursor = cur
	}
	return evs, nil
}
