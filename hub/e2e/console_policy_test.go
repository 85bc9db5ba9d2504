//go:build linux

package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsolePolicy: an admin writes a group's policy in the console's
// form: a bad check name is refused with the field marked and the API's
// words; fixed, it saves as version 1, the real agent in the group applies
// it, and its device page says which version it applies and that it is
// current. A check title full of markup shows as text.
func TestConsolePolicy(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	const adminPW = "policy console pw 1"
	must(t, adminPW+"\n", "tierline-hub", "user", "add", "--data", h.data, "--name", "boss", "--role", "admin")
	a := enroll(t, h.tokenCreate())
	a.run("--check-interval", "1h")
	var d device
	eventually(t, "the device online", 60*time.Second, func() bool {
		return h.get("/api/v1/devices/"+a.id, &d) == http.StatusOK && d.Online
	})
	if code := h.do("POST", "/api/v1/devices/"+a.id+"/group", h.token, strings.NewReader(`{"group":"lab"}`), nil); code != http.StatusOK {
		t.Fatalf("set group: %d", code)
	}

	b := newConsoleBrowser(t)
	b.login(h, "boss", adminPW)
	b.open(h, "/policies", "#policy-list")
	b.waitText("main", "lab")
	b.open(h, "/policies/lab", "#policy-form")
	hostile := `<img src=x onerror="window.__xss=1">`
	b.do("fill the form with a bad check name",
		chromedp.SetValue(chromedp.CSS(`#policy-form select[name=max_tier]`), "1"),
		chromedp.SetValue(chromedp.CSS(`#policy-form textarea[name=dns_names]`), "intranet.example"),
		chromedp.Click(chromedp.CSS(`#policy-add-check`)),
		chromedp.SetValue(chromedp.CSS(`#policy-checks fieldset.pcheck input[name=name]`), "Bad Name"),
		chromedp.SetValue(chromedp.CSS(`#policy-checks fieldset.pcheck input[name=title]`), hostile),
		chromedp.SetValue(chromedp.CSS(`#policy-checks fieldset.pcheck select[name=kind]`), "file"),
		chromedp.SetValue(chromedp.CSS(`#policy-checks fieldset.pcheck input[name='file.path']`), "/nonexistent/marker"),
		chromedp.Click(chromedp.CSS(`#policy-save`)))
	b.waitText("#policy-problems", "checks[0].name")
	b.waitJS("the name field marked", `document.querySelector("#policy-checks fieldset.pcheck input[name=name]").getAttribute("aria-invalid") === "true"`)
	b.shot("policy-refused")
	var none struct{}
	if code := h.get("/api/v1/policies/lab", &none); code != http.StatusNotFound {
		t.Fatalf("a refused policy was saved: %d", code)
	}

	b.do("fix the name and save",
		chromedp.SetValue(chromedp.CSS(`#policy-checks fieldset.pcheck input[name=name]`), "marker-file"),
		chromedp.Click(chromedp.CSS(`#policy-save`)))
	b.waitJS("the saved policy", `location.search.includes("saved=1")`)
	var p struct {
		Version int64 `json:"version"`
		Policy  struct {
			MaxTier  *int     `json:"max_tier"`
			DNSNames []string `json:"dns_names"`
			Checks   []struct {
				Name, Title string
				File        *struct{ Path string }
			} `json:"checks"`
		} `json:"policy"`
	}
	if code := h.get("/api/v1/policies/lab", &p); code != http.StatusOK || p.Version != 1 || p.Policy.MaxTier == nil || *p.Policy.MaxTier != 1 ||
		len(p.Policy.DNSNames) != 1 || len(p.Policy.Checks) != 1 || p.Policy.Checks[0].Title != hostile || p.Policy.Checks[0].File == nil {
		t.Fatalf("saved policy: %d %+v", code, p)
	}
	// The form shows what was saved.
	// policy.js fills the form after the page loads: until then the
	// check's fields are not there.
	b.waitJS("the form filled from version 1", `(function(){var n=document.querySelector("#policy-checks input[name=name]"), m=document.querySelector("select[name=max_tier]");`+
		`return !!n && !!m && n.value === "marker-file" && m.value === "1"})()`)

	// The agent applies it; its page says so.
	var dp devicePolicy
	eventually(t, "the agent applying version 1", 60*time.Second, func() bool {
		return h.get("/api/v1/devices/"+a.id+"/policy", &dp) == http.StatusOK && dp.Current
	})
	b.open(h, "/devices/"+a.id, "#device-policy")
	b.waitText("#device-policy", "lab v1")
	b.waitText("#device-policy", "current")
	eventually(t, "marker-file failing on the device", 60*time.Second, func() bool {
		var full struct{ Health []healthResult }
		h.get("/api/v1/devices/"+a.id, &full)
		for _, c := range full.Health {
			if c.Name == "marker-file" {
				return c.Status == "failing"
			}
		}
		return false
	})
	b.open(h, "/policies", "#policy-list")
	b.waitText("#policy-list", "failing on 1")
	b.noXSS("the policies page")
	b.open(h, "/devices/"+a.id, "#health")
	b.waitText("#health", "marker-file")
	b.noXSS("the device page")
}
