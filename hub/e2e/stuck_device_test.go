//go:build linux

package e2e

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tierline/tierline/agent/identity"
	"github.com/tierline/tierline/shared/wire"
)

// rawDevice is an enrolled device speaking the protocol by hand, so a test
// can make it stop reading its socket.
type rawDevice struct {
	id    *identity.Identity
	conn  *websocket.Conn
	seq   uint64
	local string // the device's end of its TCP connection
}

// connectRaw enrolls a device and completes the handshake. With a tiny
// receive buffer the hub's writes to it block soon after it stops
// reading.
func connectRaw(t *testing.T, h *hub, tinyBuffer bool) *rawDevice {
	t.Helper()
	a := enroll(t, h.tokenCreate())
	id, err := identity.Load(a.state)
	if err != nil {
		t.Fatal(err)
	}
	dialer := &net.Dialer{}
	if tinyBuffer {
		dialer.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			if err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
			}); err != nil {
				return err
			}
			return serr
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	d := &rawDevice{id: id}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err == nil {
			d.local = c.LocalAddr().String()
		}
		return c, err
	}
	c, _, err := websocket.Dial(ctx, id.ConnectURL(), &websocket.DialOptions{
		Subprotocols: []string{wire.Subprotocol},
		HTTPClient:   &http.Client{Transport: &http.Transport{TLSClientConfig: id.TLSConfig(), DialContext: dial}},
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.SetReadLimit(wire.MaxFrameSize)
	t.Cleanup(func() { c.CloseNow() })
	ch := readChallenge(t, c)
	sendFrame(t, c, 0, wire.Hello{DeviceID: id.DeviceID, Signature: ed25519.Sign(id.Key, wire.AuthMessage(ch.Nonce, id.DeviceID)),
		Hostname: "raw-" + id.DeviceID[:6], OS: "linux", Arch: "amd64"})
	for {
		env := readEnvelope(t, c)
		if env.Type == wire.TypeWelcome {
			break
		}
		if env.Type == wire.TypeError {
			t.Fatalf("handshake refused: %s", env.Body)
		}
	}
	d.conn = c
	return d
}

// fileHelp files a ticket from the device and reads until its receipt.
func (d *rawDevice) fileHelp(t *testing.T, text string) string {
	t.Helper()
	d.seq++
	sendFrame(t, d.conn, d.seq, wire.HelpRequest{RequestID: wire.NewID(), Text: text, Snapshot: wire.Snapshot{Taken: time.Now()}})
	for {
		env := readEnvelope(t, d.conn)
		if env.Type != wire.TypeHelpReceipt {
			continue
		}
		r, err := wire.DecodeBody[wire.HelpReceipt](env)
		if err != nil {
			t.Fatal(err)
		}
		return r.TicketID
	}
}

// keepReading reads and discards the hub's frames, as a healthy agent
// would, until the connection ends.
func (d *rawDevice) keepReading() {
	go func() {
		for {
			if _, _, err := d.conn.Read(context.Background()); err != nil {
				return
			}
		}
	}()
}

// hubSendQueue is how many bytes the hub's end of the device's connection
// holds unsent (Linux /proc/net/tcp), -1 when the connection is gone.
func hubSendQueue(t *testing.T, hubAddr, deviceAddr string) int {
	t.Helper()
	raw, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	hex := func(addr string) string {
		ap := netip.MustParseAddrPort(addr)
		ip := ap.Addr().As4()
		return fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], ap.Port())
	}
	local, remote := hex(hubAddr), hex(deviceAddr)
	for _, line := range strings.Split(string(raw), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 5 || f[1] != local || f[2] != remote {
			continue
		}
		tx, _, _ := strings.Cut(f[4], ":")
		n, err := strconv.ParseInt(tx, 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		return int(n)
	}
	return -1
}

// TestStuckDeviceHoldsUpNoOne: a device that completed its handshake and
// then stops reading its socket, so that the hub's writes to it block,
// slows neither the technicians (requests on its own ticket and on
// others) nor the SLA loop: another device's ticket escalates at once
// while the hub is still stuck writing to the device. Ticket changes
// reach devices off the request path and off the SLA loop, each device
// on its own queue.
func TestStuckDeviceHoldsUpNoOne(t *testing.T) {
	h := startHub(t, "--tier-limits", "1=1h,2=1h,3=2d")
	stuck := connectRaw(t, h, true)
	other := connectRaw(t, h, false)
	a := stuck.fileHelp(t, "My screen freezes")
	b := other.fileHelp(t, "VPN drops every hour")
	other.keepReading()
	// From here on the stuck device never reads.

	// How long a request takes is for benchmarks; what the technician sees
	// here is that every request is answered while the device stays stuck.
	// (That the fan-out never waits for a device is proven without clocks by
	// hub/tickets TestDeviceNotifierIsolatesDevices: Handle returns while a
	// device's link blocks forever.)
	do := func(what, method, path, body string) {
		t.Helper()
		if code := h.do(method, path, h.token, strings.NewReader(body), nil); code != http.StatusOK {
			t.Fatalf("%s: status %d", what, code)
		}
	}
	// Technicians write to the stuck device's user, 16 KB a message,
	// until its socket buffers are full: the hub's send queue to it stops
	// growing, its write blocks.
	big := strings.Repeat("Please try this. ", 16000/17)
	last, still := 0, 0
	for i := 0; still < 5; i++ {
		if i == 1000 {
			t.Fatalf("the hub's send queue to the device never filled (%d bytes)", last)
		}
		do(fmt.Sprintf("message %d on the stuck device's ticket", i), "POST", "/api/v1/tickets/"+a+"/messages", fmt.Sprintf(`{"text":%q}`, big))
		q := hubSendQueue(t, h.addr, stuck.local)
		if q < 0 {
			t.Fatalf("the stuck device's connection closed after %d messages:\n%s", i, tail(h.proc.output(), 20))
		}
		if q > 0 && q == last {
			still++
		} else {
			still = 0
		}
		last = q
	}
	// Work on the other device's ticket goes on.
	do("assigning another ticket", "POST", "/api/v1/tickets/"+b+"/assign", `{"to":"admin"}`)
	do("a message on another ticket", "POST", "/api/v1/tickets/"+b+"/messages", `{"text":"Looking into it."}`)
	do("unassigning it again", "POST", "/api/v1/tickets/"+b+"/assign", `{"to":""}`)

	// An admin shortens the Tier 1 limit to 1 s: both tickets are past
	// it. The stuck device's comes due first; the other still escalates
	// within a couple of SLA rounds (every 2 s).
	do("shortening the Tier 1 limit", "PUT", "/api/v1/settings/sla", `{"tier_limits":"1=1s,2=1h,3=2d"}`)
	var d ticketDetail
	eventually(t, "the other device's ticket escalated", 30*time.Second, func() bool {
		h.get("/api/v1/tickets/"+b, &d)
		return d.Ticket.Tier == 2
	})
	// The device was stuck all along: the hub is still writing to it.
	if q := hubSendQueue(t, h.addr, stuck.local); q <= 0 {
		t.Errorf("the stuck device's connection: send queue %d; want it still open and full", q)
	}
	eventually(t, "the stuck device's ticket escalated", 30*time.Second, func() bool {
		h.get("/api/v1/tickets/"+a, &d)
		return d.Ticket.Tier == 2
	})
}
