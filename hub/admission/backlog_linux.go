package admission

import (
	"net"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"
)

// setBacklog shortens the listening socket's accept queue: Linux takes a
// second listen(2) on a listening socket as a new backlog. Go listens with
// the system's maximum (net.core.somaxconn, often 4096), and a connection
// at the back of a queue that long would wait longer than its client's
// handshake timeout.
func setBacklog(ln net.Listener, n int) {
	control(ln, func(fd int) { _ = unix.Listen(fd, n) })
}

// waitingGauge reports the accept queue's length, from the listening
// socket's TCP_INFO (tcpi_unacked holds it for a listener).
func waitingGauge(ln net.Listener) prometheus.Collector {
	if _, ok := ln.(syscall.Conn); !ok {
		return nil
	}
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tierline_admission_waiting",
		Help: "New TCP connections the kernel holds for the hub, waiting for an admission slot (beyond these, SYNs are dropped and sent again by clients)."},
		func() float64 {
			var n float64
			control(ln, func(fd int) {
				if info, err := unix.GetsockoptTCPInfo(fd, unix.SOL_TCP, unix.TCP_INFO); err == nil {
					n = float64(info.Unacked)
				}
			})
			return n
		})
}

func control(ln net.Listener, f func(fd int)) {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return
	}
	if rc, err := sc.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) { f(int(fd)) })
	}
}
