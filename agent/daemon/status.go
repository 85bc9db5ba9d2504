package daemon

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/tierline/tierline/agent/identity"
	"github.com/tierline/tierline/agent/update"
	"github.com/tierline/tierline/agent/version"
)

// Status prints the agent's version, its service's state (svc), its
// enrollment, whether the hub answers, its spool and its updates, as
// `tierline-agent status` shows them. It reports false when the device is
// not enrolled or the hub cannot be reached.
func Status(ctx context.Context, w io.Writer, state, svc string) bool {
	fmt.Fprintf(w, "version:    %s (%s/%s)\nservice:    %s\n", version.Version, runtime.GOOS, runtime.GOARCH, svc)
	id, err := identity.Load(state)
	if err != nil {
		fmt.Fprintf(w, "enrollment: %v\n", err)
		return false
	}
	ok := true
	fmt.Fprintf(w, "enrollment: device %s, hub %s, enrolled %s\n", id.DeviceID, id.HubURL, id.EnrolledAt.Local().Format(time.DateTime))
	if err := reachHub(ctx, id); err != nil {
		fmt.Fprintf(w, "hub:        unreachable: %v\n", err)
		ok = false
	} else {
		fmt.Fprintln(w, "hub:        reachable (TLS with the pinned CA)")
	}
	ents, _ := os.ReadDir(filepath.Join(state, identity.SpoolDir))
	depth := 0
	for _, e := range ents {
		if !e.IsDir() && filepath.Ext(e.Name()) != ".json" && e.Name()[0] != '.' {
			depth++
		}
	}
	fmt.Fprintf(w, "spool:      %d file(s) waiting for the hub\n", depth)
	if u, err := update.New(update.Config{StateDir: state, HubURL: id.HubURL, DeviceID: id.DeviceID, Key: id.Key}); err == nil {
		if p, pending, _ := u.PendingUpdate(); pending {
			fmt.Fprintf(w, "update:     %s -> %s waiting to connect (previous binary %s)\n", p.From, p.To, p.Previous)
		} else if en, reason := u.Enabled(); !en {
			fmt.Fprintf(w, "update:     off: %v\n", reason)
		} else {
			fmt.Fprintln(w, "update:     on (signed releases only)")
		}
	}
	return ok
}

// reachHub opens a TLS connection to the hub with the pinned CA.
func reachHub(ctx context.Context, id *identity.Identity) error {
	u, err := url.Parse(id.HubURL)
	if err != nil {
		return err
	}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: id.TLSConfig()}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return err
	}
	return c.Close()
}
