package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the test holds the hub's database locked

	"github.com/tierline/tierline/agent/execx/nstest"
)

type readyAnswer struct {
	code   int
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// probe GETs a health route without credentials.
func (h *hub) probe(path string) readyAnswer {
	h.t.Helper()
	resp, err := h.client.Get(h.url() + path)
	if err != nil {
		h.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := readyAnswer{code: resp.StatusCode}
	if err := json.Unmarshal(raw, &a); err != nil {
		h.t.Fatalf("GET %s: %d, not JSON: %s", path, resp.StatusCode, raw)
	}
	return a
}

// On a full disk /readyz answers 503 saying why, while /healthz (liveness)
// still answers 200; freeing space makes the hub ready again. The disk is a
// small tmpfs in a mount namespace of the test's own.
func TestReadyzOnFullDisk(t *testing.T) {
	if !nstest.Reexec(t, "--mount", "--propagation", "private") {
		return
	}
	data := filepath.Join(t.TempDir(), "data")
	os.MkdirAll(data, 0o700)
	if err := syscall.Mount("tmpfs", data, "tmpfs", 0, "size=48m"); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(data, syscall.MNT_DETACH) })
	h := &hub{t: t, data: data, addr: freePort(t), extra: []string{"--ready-min-free-mib", "8"}}
	h.start()
	if a := h.probe("/readyz"); a.code != http.StatusOK || a.Status != "ready" {
		t.Fatalf("fresh hub /readyz: %d %+v", a.code, a)
	}

	filler := filepath.Join(data, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the disk: %v", err)
			}
			break
		}
	}
	f.Close()
	var a readyAnswer
	eventually(t, "/readyz 503 on the full disk", 30*time.Second, func() bool {
		a = h.probe("/readyz")
		return a.code == http.StatusServiceUnavailable
	})
	if a.Status != "not ready" || !strings.Contains(a.Reason, "disk nearly full") || !strings.Contains(a.Reason, data) {
		t.Fatalf("/readyz on a full disk: %+v, want the reason naming the disk", a)
	}
	if l := h.probe("/healthz"); l.code != http.StatusOK {
		t.Fatalf("/healthz (liveness) on a full disk: %d %+v", l.code, l)
	}

	os.Remove(filler)
	eventually(t, "/readyz 200 once space is free", 30*time.Second, func() bool {
		return h.probe("/readyz").code == http.StatusOK
	})
}

// A store that cannot commit (here another process holds the database's
// write lock) makes /readyz answer 503 with the store's error; liveness
// stays 200; once the lock goes the hub is ready again.
func TestReadyzWhenStoreCannotCommit(t *testing.T) {
	h := startHub(t)
	if a := h.probe("/readyz"); a.code != http.StatusOK {
		t.Fatalf("fresh hub /readyz: %d %+v", a.code, a)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(h.data, "tierline.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatalf("take the write lock: %v", err)
	}
	var a readyAnswer
	eventually(t, "/readyz 503 while commits cannot happen", 60*time.Second, func() bool {
		a = h.probe("/readyz")
		return a.code == http.StatusServiceUnavailable
	})
	if !strings.Contains(a.Reason, "store cannot commit") {
		t.Fatalf("/readyz: %+v, want the store's reason", a)
	}
	if l := h.probe("/healthz"); l.code != http.StatusOK {
		t.Fatalf("/healthz (liveness) while the store is locked: %d %+v", l.code, l)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "/readyz 200 once commits work", 60*time.Second, func() bool {
		return h.probe("/readyz").code == http.StatusOK
	})
}

var admissionWaitingRE = regexp.MustCompile(`(?m)^tierline_admission_waiting (\d+)`)

// --health-listen answers /readyz, /healthz and /metrics in plain HTTP
// outside the queue of new connections (an address it cannot take stops
// the start, saying which): while every admission slot is
// held and connections wait in the kernel behind them (a reconnect storm
// as a balancer's health checks would meet it), the checks are answered
// with the queue still full.
func TestHealthListenOutsideAdmission(t *testing.T) {
	if _, out, code := run(t, "", "tierline-hub", "serve", "--data", t.TempDir(), "--health-listen", "127.0.0.1"); code == 0 ||
		!strings.Contains(out, "--health-listen") {
		t.Fatalf("--health-listen without a port: exit %d\n%s", code, out)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	if _, out, code := run(t, "", "tierline-hub", "serve", "--data", t.TempDir(), "--listen", freePort(t),
		"--health-listen", taken.Addr().String()); code == 0 || !strings.Contains(out, "--health-listen "+taken.Addr().String()) {
		t.Fatalf("--health-listen on an address in use: exit %d\n%s", code, out)
	}
	healthAddr := freePort(t)
	h := startHub(t, "--health-listen", healthAddr)
	get := func(path string) (int, string) {
		t.Helper()
		c := &http.Client{Timeout: 30 * time.Second}
		res, err := c.Get("http://" + healthAddr + path)
		if err != nil {
			t.Fatalf("GET %s on --health-listen: %v", path, err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	waiting := func() int {
		_, m := get("/metrics")
		got := admissionWaitingRE.FindStringSubmatch(m)
		if got == nil {
			t.Fatalf("no tierline_admission_waiting in the metrics on --health-listen")
		}
		n, _ := strconv.Atoi(got[1])
		return n
	}
	// Silent connections take every slot (each holds it until its TLS
	// handshake times out) and 32 more wait in the kernel.
	for range 256 + 32 {
		c, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
	}
	eventually(t, "connections waiting for a slot", 30*time.Second, func() bool { return waiting() >= 32 })
	for _, p := range []string{"/readyz", "/healthz"} {
		if code, body := get(p); code != http.StatusOK {
			t.Fatalf("GET %s on --health-listen during the storm: %d %s", p, code, body)
		}
	}
	if n := waiting(); n == 0 {
		t.Fatal("the queue drained before the checks were answered; want them answered beside it")
	}
}
