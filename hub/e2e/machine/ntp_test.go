//go:build linux

package machine

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tierline/tierline/scripts/testmachine/nspawn"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/wire"
)

// ntpServer answers NTP client requests (RFC 5905, mode 3) on HubIP:123
// in the test's namespace with this host's own clock, as a stratum 1
// server: a client that could set its clock from it would set it to what
// it already is.
type ntpServer struct {
	mu    sync.Mutex
	asked map[string]int // requests by the client's address
}

func (s *ntpServer) requests(from string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.asked[from]
}

// ntpTime is t as an NTP timestamp (seconds since 1900, 32-bit fraction).
func ntpTime(b []byte, t time.Time) {
	binary.BigEndian.PutUint32(b[0:4], uint32(t.Unix()+2208988800))
	binary.BigEndian.PutUint32(b[4:8], uint32((uint64(t.Nanosecond())<<32)/1e9))
}

// startNTP serves NTP in the test's namespace until the test ends.
func startNTP(t *testing.T, n *nspawn.Network) *ntpServer {
	t.Helper()
	s := &ntpServer{asked: map[string]int{}}
	var pc net.PacketConn
	err := nspawn.InNetns(n.Path(), func() error {
		var err error
		pc, err = net.ListenPacket("udp4", nspawn.HubIP+":123")
		return err
	})
	if err != nil {
		t.Fatalf("NTP server in %s: %v", n.NS, err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			k, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if k < 48 || buf[0]&7 != 3 { // not a client request
				continue
			}
			recv := time.Now()
			resp := make([]byte, 48)
			resp[0] = (buf[0] & 0x38) | 4                // no leap warning, the client's version, mode 4 (server)
			resp[1] = 1                                  // stratum 1: a reference clock
			resp[2] = buf[2]                             // the client's poll interval
			resp[3] = 0xec                               // precision 2^-20 s
			binary.BigEndian.PutUint32(resp[8:12], 0x10) // root dispersion: 0.24 ms
			copy(resp[12:16], "LOCL")
			ntpTime(resp[16:24], recv)    // reference: now
			copy(resp[24:32], buf[40:48]) // origin: the client's transmit timestamp
			ntpTime(resp[32:40], recv)
			ntpTime(resp[40:48], time.Now())
			if _, err := pc.WriteTo(resp, addr); err != nil {
				continue
			}
			host, _, _ := net.SplitHostPort(addr.String())
			s.mu.Lock()
			s.asked[host]++
			s.mu.Unlock()
		}
	}()
	return s
}

// capSysTime is CAP_SYS_TIME's bit in /proc/PID/status's capability sets.
const capSysTime = 25

// boundingCaps reads the capability bounding set of process pid.
func boundingCaps(t *testing.T, pid int) uint64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatalf("CapBnd of %d: %v", pid, err)
			}
			return caps
		}
	}
	t.Fatalf("no CapBnd in /proc/%d/status", pid)
	return 0
}

// wallMinusMonotonic is CLOCK_REALTIME less CLOCK_MONOTONIC on this host:
// it moves only when someone sets or slews the host's clock.
func wallMinusMonotonic(t *testing.T) time.Duration {
	t.Helper()
	var rt, mono unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_REALTIME, &rt); err != nil {
		t.Fatal(err)
	}
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &mono); err != nil {
		t.Fatal(err)
	}
	return time.Duration(rt.Nano() - mono.Nano())
}

// TestTimesyncdAsksNTPInContainer: what can be proven of sync-clock on a
// container without ever touching the host's clock (docs/testmachine.md,
// "Why sync-clock cannot be proven here"). The machine has no
// CAP_SYS_TIME (checked first: the test stops if it had). Its
// systemd-timesyncd, let run in the container by a drop-in and pointed at
// an NTP server of the test's (which serves this host's own time), asks
// that server and reads its answers: timedatectl names the server and the
// packets it got. It cannot set the clock (the kernel refuses it), and
// the host's clock has not moved. sync-clock stays not_applicable there,
// in plain words, and runs nothing.
func TestTimesyncdAsksNTPInContainer(t *testing.T) {
	hostClock := wallMinusMonotonic(t)
	var ntp *ntpServer
	p := newPC(t, pcOptions{Env: agentEnv(), Before: func(p *pc) {
		if caps := boundingCaps(t, p.m.Leader); caps&(1<<capSysTime) != 0 {
			t.Fatalf("the machine's init holds CAP_SYS_TIME (CapBnd %x): it could set the host's clock; stopping", caps)
		}
		ntp = startNTP(t, p.net)
		p.write("/etc/systemd/timesyncd.conf.d/tierline-test.conf", "[Time]\nNTP="+nspawn.HubIP+"\nFallbackNTP=\nPollIntervalMinSec=16\n", 0o644)
		// systemd-timesyncd skips itself in a container
		// (ConditionVirtualization=!container); an empty assignment drops
		// the unit's conditions.
		p.write("/etc/systemd/system/systemd-timesyncd.service.d/tierline-test.conf", "[Unit]\nConditionVirtualization=\n", 0o644)
		p.exec("systemctl", "daemon-reload")
		p.exec("systemctl", "restart", "systemd-timesyncd")
	}})
	var show string
	eventually(t, "systemd-timesyncd in the machine to ask the test's NTP server and take its answer", 90*time.Second, func() bool {
		show, _ = p.try("timedatectl", "show-timesync", "--all")
		return ntp.requests(nspawn.MachineIP) > 0 && strings.Contains(show, "ServerAddress="+nspawn.HubIP) &&
			strings.Contains(show, "NTPMessage={ Leap=0, Version=4, Mode=4, Stratum=1")
	})
	t.Logf("timedatectl show-timesync --all in the machine:\n%s", show)
	status, _ := p.try("timedatectl", "timesync-status")
	t.Logf("timedatectl timesync-status:\n%s", status)
	// It took the answer and tried to slew the clock; the kernel refused
	// (no CAP_SYS_TIME, and systemd-nspawn's seccomp filter).
	var journal string
	eventually(t, "systemd-timesyncd's journal to say the kernel refused to adjust the clock", 30*time.Second, func() bool {
		journal, _ = p.try("journalctl", "--no-pager", "-u", "systemd-timesyncd", "-n", "20")
		return strings.Contains(journal, "Contacted time server "+nspawn.HubIP+":123") &&
			strings.Contains(journal, "Failed to call clock_adjtime(): Operation not permitted")
	})
	t.Logf("systemd-timesyncd's journal:\n%s", journal)
	show, _ = p.try("timedatectl", "show")
	t.Logf("timedatectl show in the machine:\n%s", show)

	r := p.run(catalog.SyncClock, nil)
	if r.Outcome != wire.OutcomeNotApplicable || !strings.Contains(r.Reason, "its clock is its host's") || (r.Result != nil && len(r.Result.Steps) > 0) {
		t.Fatalf("sync-clock in a container with a working NTP server: %s %q; want not_applicable, nothing run", r.Outcome, r.Reason)
	}
	if moved := wallMinusMonotonic(t) - hostClock; moved > time.Second || moved < -time.Second {
		t.Fatalf("the host's clock moved by %s during the test", moved)
	}
}
