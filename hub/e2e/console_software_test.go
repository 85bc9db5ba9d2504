//go:build linux

package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleSoftware: a real agent on this machine reports its software
// inventory (dpkg's database) and its OS update status (apt's simulation).
// A Tier 1 technician asks the Software page which devices have bash below
// a version above any real one, follows the link to the device, finds
// bash in the device's software list with the page's search, and sees the
// OS updates card; the devices filter and the pending security updates
// page agree with the API. At phone width (390 px) the pages do not scroll
// sideways. Bad input gets a 400 from the API and an error on the page.
func TestConsoleSoftware(t *testing.T) {
	h := startHub(t)
	const tier1PW = "tier one software pw"
	conAddUser(t, h, "sam", "tier1", tier1PW)
	a := enroll(t, h.tokenCreate())
	a.run()
	eventually(t, "the agent's software inventory stored", 120*time.Second, func() bool {
		var sw struct {
			Software []struct{ Name, Source string }
		}
		h.get("/api/v1/devices/"+a.id+"/software?q=bash", &sw)
		for _, s := range sw.Software {
			if s.Name == "bash" && s.Source == "dpkg" {
				return true
			}
		}
		return false
	})
	var found struct {
		Devices []struct {
			DeviceID string `json:"device_id"`
			Version  string
		}
	}
	if code := h.get("/api/v1/software?name=bash&version="+url.QueryEscape("999:1"), &found); code != 200 || len(found.Devices) != 1 || found.Devices[0].DeviceID != a.id {
		t.Fatalf("GET /api/v1/software?name=bash&version=999:1: %d %+v", code, found)
	}
	bashVersion := found.Devices[0].Version
	if code := h.get("/api/v1/software?name=bash&version="+url.QueryEscape(bashVersion), &found); code != 200 || len(found.Devices) != 0 {
		t.Errorf("bash below its own version %s: %d %+v", bashVersion, code, found)
	}
	var apiErr struct{ Error, Code string }
	if code := h.get("/api/v1/software?version=1", &apiErr); code != 400 || !strings.Contains(apiErr.Error, "name is required") {
		t.Errorf("GET /api/v1/software without a name: %d %+v", code, apiErr)
	}
	var ups struct {
		Manager  string
		Security int
	}
	eventually(t, "the agent's OS update status stored", 120*time.Second, func() bool {
		return h.get("/api/v1/devices/"+a.id+"/os-updates", &ups) == 200
	})
	if ups.Manager != "apt" {
		t.Errorf("update status from %q, want apt", ups.Manager)
	}

	b := newConsoleBrowser(t)
	b.login(h, "sam", tier1PW)
	b.open(h, "/software", "#software-name")
	b.do("search for bash below 999:1",
		chromedp.SetValue(chromedp.CSS(`#software-name`), "bash"),
		chromedp.SetValue(chromedp.CSS(`#software-version`), "999:1"),
		chromedp.Submit(chromedp.CSS(`#software-name`)),
		chromedp.WaitVisible(chromedp.CSS(`#software-results`)))
	b.waitText("#software-summary", "1 device has bash below 999:1")
	b.shot("software")
	link := fmt.Sprintf(`#software-results a[href^="/devices/%s"]`, a.id)
	b.do("open the device from the results", chromedp.Click(chromedp.CSS(link)), chromedp.WaitVisible(chromedp.CSS(`#software-list`)))
	b.waitText("#software-list", bashVersion)
	b.do("search the device's software",
		chromedp.SetValue(chromedp.CSS(`#software-search`), "BASH"),
		chromedp.Submit(chromedp.CSS(`#software-search`)))
	b.waitJS("only packages with bash in their name", `location.search.includes("software=BASH") && document.querySelectorAll("#software-list tbody tr").length > 0 &&
		Array.prototype.every.call(document.querySelectorAll("#software-list tbody tr td:first-child"), function(td){return td.textContent.toLowerCase().includes("bash")})`)
	b.waitText("#os-updates", "apt")
	b.shot("device-software")

	// No device has a package that does not exist; a bad search says why.
	b.open(h, "/software?name=no-such-package-e2e", "#software-summary")
	b.waitText("#software-summary", "No device has")
	b.open(h, "/software?version=1", "#software-error")
	b.waitText("#software-error", "name is required")

	// Pending security updates: the page and the devices filter agree
	// with what the agent reported.
	b.open(h, "/os-updates", "h1")
	b.open(h, "/devices?updates=security", "table.devices")
	listed := b.eval(fmt.Sprintf(`String(!!document.querySelector('table.devices a[href="/devices/%s"]'))`, a.id))
	if want := fmt.Sprint(ups.Security > 0); listed != want {
		t.Errorf("devices?updates=security lists the device: %s, want %s (%d security updates)", listed, want, ups.Security)
	}

	b.do("phone width", chromedp.EmulateViewport(phoneWidth, 844, chromedp.EmulateMobile))
	for _, p := range [][3]string{
		{"/software?name=bash&version=999:1", "#software-results", "software-phone"},
		{"/devices/" + a.id + "?software=bash", "#software-list", "device-software-phone"},
		{"/os-updates?all=1", "h1", "os-updates-phone"},
	} {
		b.open(h, p[0], p[1])
		b.fitsWidth(p[0])
		b.shot(p[2])
	}
	b.do("desktop width", chromedp.EmulateViewport(1280, 900))
	b.noXSS("software pages")
}
