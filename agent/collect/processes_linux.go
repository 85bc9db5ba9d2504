package collect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tierline/tierline/shared/diag"
)

// userHZ is the unit of the CPU times in /proc/<pid>/stat: USER_HZ, which
// the kernel fixes at 100 on every architecture for user space.
const userHZ = 100

// procCollector reads /proc/<pid>/stat itself rather than through
// gopsutil: one small read per process per sample keeps a sample well under
// the 5 ms CPU budget. It remembers each process's CPU ticks (keyed by PID
// and start time, so a reused PID is a new process) between samples.
type procCollector struct {
	cfg      *Config
	prev     map[procKey]uint64
	prevTime time.Time
	users    map[uint32]string
	pageSize uint64
	buf      []byte
	// fds keeps /proc/<pid>/stat open between samples (up to maxStatFDs),
	// so each later sample costs one pread per process instead of open,
	// read and close. A reused pid is caught: the old fd reads ESRCH.
	fds map[string]statFD
	gen uint64
	// names receives every process's name at each sample.
	names *atomic.Pointer[ProcessNames]
}

// statFD is a cached /proc/<pid>/stat descriptor and the sample that last
// saw its process.
type statFD struct {
	fd  int
	gen uint64
}

// maxStatFDs bounds the descriptors the agent keeps open for processes.
const maxStatFDs = 256

type procKey struct {
	pid   int32
	start uint64
}

// procStat is what a sample needs from /proc/<pid>/stat.
type procStat struct {
	PID       int32
	Comm      string
	Ticks     uint64 // utime + stime
	StartTime uint64 // ticks after boot
	RSSPages  uint64
}

func newProcCollector(cfg *Config) *procCollector {
	return &procCollector{cfg: cfg, users: map[uint32]string{}, pageSize: uint64(os.Getpagesize()), buf: make([]byte, 0, 1024)}
}

// parseProcStat parses one /proc/<pid>/stat line. The command name sits in
// parentheses and may itself contain spaces and parentheses, so the fields
// are counted from the last ')'.
func parseProcStat(b []byte) (procStat, error) {
	open := bytes.IndexByte(b, '(')
	closeIdx := bytes.LastIndexByte(b, ')')
	if open < 1 || closeIdx < open {
		return procStat{}, errors.New("malformed stat: no command")
	}
	pid, err := strconv.ParseInt(string(bytes.TrimSpace(b[:open])), 10, 32)
	if err != nil {
		return procStat{}, fmt.Errorf("malformed stat pid: %w", err)
	}
	st := procStat{PID: int32(pid), Comm: string(b[open+1 : closeIdx])}
	// Fields after ')': index 0 is field 3 (state).
	fields := bytes.Fields(b[closeIdx+1:])
	if len(fields) < 22 {
		return procStat{}, fmt.Errorf("malformed stat: %d fields", len(fields))
	}
	num := func(i int) (uint64, error) { return strconv.ParseUint(string(fields[i]), 10, 64) }
	utime, err1 := num(11)                                    // field 14
	stime, err2 := num(12)                                    // field 15
	start, err3 := num(19)                                    // field 22
	rss, err4 := strconv.ParseInt(string(fields[21]), 10, 64) // field 24, may be negative in odd kernels
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return procStat{}, fmt.Errorf("malformed stat numbers: %w", err)
	}
	st.Ticks = utime + stime
	st.StartTime = start
	if rss > 0 {
		st.RSSPages = uint64(rss)
	}
	return st, nil
}

// parseUptime reads the first number of /proc/uptime, in seconds.
func parseUptime(b []byte) (float64, error) {
	f := bytes.Fields(b)
	if len(f) == 0 {
		return 0, errors.New("empty uptime")
	}
	return strconv.ParseFloat(string(f[0]), 64)
}

func (c *procCollector) fill(ctx context.Context, s *diag.Sample) error {
	procDir := c.cfg.path("/proc")
	d, err := os.Open(procDir)
	if err != nil {
		return fmt.Errorf("list processes: %w", err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return fmt.Errorf("list processes: %w", err)
	}
	c.gen++
	now := time.Now()
	dt := now.Sub(c.prevTime).Seconds()
	var uptime float64
	if c.prev == nil {
		if b, err := os.ReadFile(procDir + "/uptime"); err == nil {
			uptime, _ = parseUptime(b)
		}
	}
	cur := make(map[procKey]uint64, len(names))
	all := make([]diag.Process, 0, len(names))
	for _, name := range names {
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		b, err := c.readStat(procDir, name)
		if err != nil {
			continue // the process exited meanwhile
		}
		st, err := parseProcStat(b)
		if err != nil {
			continue
		}
		key := procKey{st.PID, st.StartTime}
		cur[key] = st.Ticks
		p := diag.Process{PID: st.PID, Name: st.Comm, RSS: st.RSSPages * c.pageSize}
		if c.prev != nil {
			if prevTicks, ok := c.prev[key]; ok && dt > 0 {
				p.CPUPct = round2(rate(prevTicks, st.Ticks, dt) / userHZ * 100)
			} else if dt > 0 { // started since the last sample
				p.CPUPct = round2(float64(st.Ticks) / userHZ / dt * 100)
			}
		} else if life := uptime - float64(st.StartTime)/userHZ; life > 0 {
			// First sample: the average since the process started.
			p.CPUPct = round2(float64(st.Ticks) / userHZ / life * 100)
		}
		all = append(all, p)
	}
	for name, f := range c.fds {
		if f.gen != c.gen {
			syscall.Close(f.fd)
			delete(c.fds, name)
		}
	}
	c.prev, c.prevTime = cur, now
	if c.names != nil {
		pn := &ProcessNames{Names: make([]string, len(all)), Time: now}
		for i, p := range all {
			pn.Names[i] = p.Name
		}
		c.names.Store(pn)
	}
	s.TopCPU = topN(busy(all), c.cfg.TopN, byCPU)
	s.TopMemory = topN(all, c.cfg.TopN, byRSS)
	for _, list := range [][]diag.Process{s.TopCPU, s.TopMemory} {
		for i := range list {
			list[i].User = c.owner(procDir, list[i].PID)
		}
	}
	return nil
}

// readStat reads /proc/<name>/stat through a cached descriptor when there
// is one, opening (and caching, within the bound) one otherwise.
func (c *procCollector) readStat(procDir, name string) ([]byte, error) {
	if c.fds == nil {
		c.fds = map[string]statFD{}
	}
	c.buf = c.buf[:cap(c.buf)]
	if f, ok := c.fds[name]; ok {
		n, err := syscall.Pread(f.fd, c.buf, 0)
		if err == nil && n > 0 {
			c.fds[name] = statFD{f.fd, c.gen}
			return c.buf[:n], nil
		}
		syscall.Close(f.fd) // the process exited; its pid may be reused
		delete(c.fds, name)
	}
	if len(c.fds) >= maxStatFDs {
		return c.readFile(procDir + "/" + name + "/stat")
	}
	fd, err := syscall.Open(procDir+"/"+name+"/stat", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	n, err := syscall.Read(fd, c.buf)
	if err != nil || n <= 0 {
		syscall.Close(fd)
		if err == nil {
			err = syscall.ESRCH
		}
		return nil, err
	}
	c.fds[name] = statFD{fd, c.gen}
	return c.buf[:n], nil
}

// readFile reads a small file into a reused buffer (a sample reads
// hundreds). It uses raw syscalls: os.Open would register each file with
// the network poller, which costs more than the read itself.
func (c *procCollector) readFile(path string) ([]byte, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	c.buf = c.buf[:cap(c.buf)]
	n, err := syscall.Read(fd, c.buf)
	if err != nil {
		return nil, err
	}
	if n < 0 {
		n = 0
	}
	return c.buf[:n], nil
}

// owner names the user owning a process (the owner of /proc/<pid>), with
// a cache since there are few users and many samples.
func (c *procCollector) owner(procDir string, pid int32) string {
	fi, err := os.Stat(procDir + "/" + strconv.Itoa(int(pid)))
	if err != nil {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	if name, ok := c.users[st.Uid]; ok {
		return name
	}
	name := strconv.FormatUint(uint64(st.Uid), 10)
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	c.users[st.Uid] = name
	return name
}
