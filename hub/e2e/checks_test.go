package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/shared/wire"
)

// TestOnDemandChecks: a technician asks a connected device to run its
// health checks now; fresh results come back through the spool and the
// hub stores them. Bad names and offline devices get clear errors.
func TestOnDemandChecks(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	a := enroll(t, h.tokenCreate())
	a.run("--check-interval", "1h") // only the run at start, unless asked
	var d device
	eventually(t, "the first health checks", 60*time.Second, func() bool {
		return h.get("/api/v1/devices/"+a.id, &d) == http.StatusOK && d.Online && !d.checkTime("disk-almost-full").IsZero()
	})
	before := d.checkTime("disk-almost-full")
	memBefore := d.checkTime("memory-pressure")

	var resp struct {
		RequestID string `json:"request_id"`
	}
	if code := h.do("POST", "/api/v1/devices/"+a.id+"/checks", h.token, strings.NewReader(`{"names":["disk-almost-full"]}`), &resp); code != http.StatusAccepted || resp.RequestID == "" {
		t.Fatalf("request checks: status %d, %+v", code, resp)
	}
	eventually(t, "fresh disk-almost-full results", 60*time.Second, func() bool {
		return h.get("/api/v1/devices/"+a.id, &d) == http.StatusOK && d.checkTime("disk-almost-full").After(before)
	})
	if !d.checkTime("memory-pressure").Equal(memBefore) {
		t.Errorf("memory-pressure ran too, but only disk-almost-full was asked for")
	}

	var e wire.APIError
	for _, body := range []string{`{"names":["../../bin/sh"]}`, `{"names":"all"}`, `{"bogus":true}`} {
		if code := h.do("POST", "/api/v1/devices/"+a.id+"/checks", h.token, strings.NewReader(body), &e); code != http.StatusBadRequest || e.Error == "" {
			t.Errorf("body %s: status %d, error %q; want 400", body, code, e.Error)
		}
	}
	a.proc.stop()
	eventually(t, "the device offline", 30*time.Second, func() bool {
		return h.get("/api/v1/devices/"+a.id, &d) == http.StatusOK && !d.Online
	})
	if code := h.do("POST", "/api/v1/devices/"+a.id+"/checks", h.token, strings.NewReader(`{}`), &e); code != http.StatusConflict || !strings.Contains(e.Error, "not connected") {
		t.Errorf("offline device: status %d, %q; want 409", code, e.Error)
	}
}
