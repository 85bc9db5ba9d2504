//go:build linux

package e2e

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var resumedRE = regexp.MustCompile(`(?m)^tierline_tls_handshakes_total\{resumed="true"\} (\d+)`)

// An agent reconnecting after a hub restart resumes its TLS session: the
// hub keeps its session ticket keys in the store, the agent keeps its
// session. The hub serves Go's profiles on a loopback listener of their
// own when asked, and refuses any other address for them.
func TestReconnectResumesTLSAndProfiles(t *testing.T) {
	if _, out, code := run(t, "", "tierline-hub", "serve", "--data", t.TempDir(), "--pprof-listen", "0.0.0.0:6060"); code == 0 ||
		!strings.Contains(out, "loopback only") {
		t.Fatalf("--pprof-listen on every address: exit %d\n%s", code, out)
	}
	pprofAddr := freePort(t)
	h := startHub(t, "--pprof-listen", pprofAddr)
	res, err := http.Get("http://" + pprofAddr + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "goroutine") {
		t.Fatalf("profiles: %d\n%s", res.StatusCode, body)
	}
	if res, err := h.client.Get(h.url() + "/debug/pprof/"); err != nil || res.StatusCode == 200 {
		t.Errorf("the hub's own listener and profiles: %v %v", res, err)
	} else {
		res.Body.Close()
	}

	a := enroll(t, h.tokenCreate())
	a.run()
	online := func() bool {
		var d struct{ Online bool }
		h.get("/api/v1/devices/"+a.id, &d)
		return d.Online
	}
	eventually(t, "the agent online", 60*time.Second, online)
	if code := h.proc.stop(); code != 0 {
		t.Fatalf("hub stop: exit %d", code)
	}
	h.start()
	eventually(t, "the agent back online after the restart", 60*time.Second, online)
	eventually(t, "a resumed TLS session", 30*time.Second, func() bool {
		m, _ := h.raw("/metrics")
		if got := resumedRE.FindSubmatch(m); got != nil {
			n, _ := strconv.Atoi(string(got[1]))
			return n >= 1
		}
		return false
	})
}
