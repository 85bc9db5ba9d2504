package gethelp

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/health"
	"github.com/tierline/tierline/agent/history"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// TestSnapshotCarriesNetwork: a ticket's snapshot has the network read
// when help was asked for, cut to the limits the hub accepts.
func TestSnapshotCarriesNetwork(t *testing.T) {
	read := func(context.Context) diag.NetworkPicture {
		p := diag.NetworkPicture{Taken: time.Now()}
		for i := range diag.MaxNetInterfaces + 10 {
			p.Interfaces = append(p.Interfaces, diag.InterfaceConfig{Name: fmt.Sprintf("veth%d", i), Up: true, Addresses: []string{"10.1.0.2/24"}})
		}
		p.DefaultGateway, p.DefaultInterface = "10.1.0.1", "veth0"
		p.DNSServers, p.SearchDomains = []string{"10.1.0.53"}, []string{"corp.example"}
		return p
	}
	d := NewDesk(Config{Checks: health.NewRunnerOf(time.Second), History: history.New(history.Config{}), Network: read, Dir: t.TempDir()})
	snap := d.snapshot(context.Background())
	n := snap.Network
	if n == nil || len(n.Interfaces) != diag.MaxNetInterfaces || n.DefaultGateway != "10.1.0.1" || n.DNSServers[0] != "10.1.0.53" {
		t.Fatalf("snapshot network %+v; want the picture read, cut to %d interfaces", n, diag.MaxNetInterfaces)
	}
	req := wire.HelpRequest{RequestID: "r-1", Text: "no network", Snapshot: snap}
	if err := req.Validate(); err != nil {
		t.Fatalf("the help request does not validate: %v", err)
	}
}

// TestSnapshotNetworkOfThisMachine: by default the desk reads the live
// machine's network.
func TestSnapshotNetworkOfThisMachine(t *testing.T) {
	d := NewDesk(Config{Checks: health.NewRunnerOf(time.Second), History: history.New(history.Config{}), Dir: t.TempDir()})
	n := d.snapshot(context.Background()).Network
	if n == nil || n.Taken.IsZero() {
		t.Fatalf("snapshot network %+v; want this machine's", n)
	}
}
