//go:build !linux

package admission

import (
	"net"

	"github.com/prometheus/client_golang/prometheus"
)

// setBacklog leaves the accept queue as Go made it: only Linux is known
// to take a second listen(2) as a new backlog.
func setBacklog(net.Listener, int) {}

func waitingGauge(net.Listener) prometheus.Collector { return nil }
