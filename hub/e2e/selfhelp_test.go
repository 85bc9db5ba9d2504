package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const selfHelpChromium = "/usr/bin/chromium"

// selfHelpPNG is the screenshot the user attaches.
const selfHelpPNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

func needSelfHelpChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(selfHelpChromium); err != nil {
		t.Skipf("Debian's chromium is not installed at %s (apt-get install chromium); the Get help page tests need it", selfHelpChromium)
	}
}

// browserCtx starts a headless chromium for the test.
func selfHelpBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromiumOptions(selfHelpChromium), chromedp.WindowSize(1100, 1000), chromedp.Flag("disable-gpu", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// Each step below waits for what the user would see; this only bounds
	// a test that would otherwise hang.
	ctx, cancelT := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(cancelT)
	return ctx
}

// screenshotDir is where the page's screenshots go: $TIERLINE_SCREENSHOTS
// or a temporary directory.
func selfHelpShotDir(t *testing.T) string {
	if d := os.Getenv("TIERLINE_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	d, err := os.MkdirTemp("", "tierline-screenshots-")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func selfHelpShot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 is a PNG
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, "selfhelp-"+name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// waitFor waits until the JavaScript expression is true on the page.
func pageWait(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(2*time.Minute))); err != nil {
		body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("waiting for %s: %v\npage text:\n%s", what, err, body)
	}
}

// pageWaitClicking clicks the button with the given id until the
// expression is true: the page reloads its lists on that click.
func pageWaitClicking(t *testing.T, ctx context.Context, what, id, expr string) {
	t.Helper()
	js := `(document.getElementById(` + jsQuote(id) + `).click(), false) || (` + expr + `)`
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(500*time.Millisecond),
		chromedp.WithPollingTimeout(time.Minute)))
	if err != nil {
		body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("waiting for %s: %v\npage text:\n%s", what, err, body)
	}
}

func pageText(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector(`+jsQuote(sel)+`)||{}).innerText||""`))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

func jsQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// startGetHelp runs `tierline-agent gethelp --no-browser` and returns it
// with the link it printed.
func startGetHelp(t *testing.T, state string) (*proc, string) {
	t.Helper()
	p := start(t, "tierline-agent", "gethelp", "--state", state, "--no-browser")
	re := regexp.MustCompile(`http://127\.0\.0\.1:\d+/open\?token=[A-Za-z0-9_-]+`)
	var link string
	eventually(t, "gethelp to print its link", 30*time.Second, func() bool {
		link = re.FindString(p.output())
		return link != ""
	})
	if strings.Contains(p.output(), "Open the link above") {
		t.Errorf("--no-browser still talks of opening a browser:\n%s", p.output())
	}
	return p, link
}

// checkRefusals makes plain HTTP requests the page must refuse.
func checkRefusals(t *testing.T, link string) {
	t.Helper()
	base := link[:strings.Index(link, "/open")]
	port := base[strings.LastIndex(base, ":")+1:]
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path, host string) (int, string) {
		req, _ := http.NewRequest("GET", base+path, nil)
		if host != "" {
			req.Host = host
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, p := range []string{"/", "/api/status", "/api/tickets", "/open?token=guessed"} {
		if code, body := get(p, ""); code != http.StatusForbidden {
			t.Errorf("GET %s without the page's link: %d %s, want 403", p, code, body)
		}
	}
	for _, h := range []string{"evil.example:" + port, "127.0.0.1.evil.example:" + port, "localhost"} {
		if code, body := get("/api/status", h); code != http.StatusMisdirectedRequest {
			t.Errorf("Host %s: %d %s, want 421", h, code, body)
		}
	}
	req, _ := http.NewRequest("POST", base+"/api/help", strings.NewReader(`{"text":"from another site"}`))
	req.Header.Set("Origin", "http://evil.example")
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin POST: %d, want 403", resp.StatusCode)
	}
}

// fullDiskAgent runs an enrolled agent whose /var/tmp is a small disk full
// of an old download, so its disk-almost-full check fails, and whose /tmp
// is empty: clear-temp run from the page empties them and the check
// recovers. Both exist only in the agent's own mount namespace; the
// machine's temporary folders are never touched.
func fullDiskAgent(t *testing.T, token string) *agent {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the disk-full scenario mounts a small disk in a private mount namespace, which needs root")
	}
	for _, tool := range []string{"unshare", "mkfs.ext4", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the disk-full scenario needs %s (util-linux, e2fsprogs)", tool)
		}
	}
	// Work outside the temporary folders, which the agent's namespace
	// replaces.
	parent := "/dev/shm"
	if st, err := os.Stat(parent); err != nil || !st.IsDir() {
		parent = "/run"
	}
	work, err := os.MkdirTemp(parent, "tierline-e2e-selfhelp-")
	if err != nil {
		t.Skipf("no work directory outside /tmp: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(work) })
	img := filepath.Join(work, "var-tmp.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 16<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", img).CombinedOutput(); err != nil {
		t.Skipf("mkfs.ext4: %v %s", err, out)
	}
	if err := os.Mkdir(filepath.Join(work, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Probe once: loop devices may be missing in a container.
	probe := exec.Command("unshare", "--mount", "--propagation", "private", "--", "mount", "-o", "loop", img, filepath.Join(work, "bin"))
	if out, err := probe.CombinedOutput(); err != nil {
		t.Skipf("cannot mount a loop device in a private mount namespace here (%v: %s); the disk-full scenario needs it", err, out)
	}

	a := &agent{t: t, state: filepath.Join(work, "agent")}
	must(t, "", "tierline-agent", "enroll", "--token", token, "--state", a.state)
	raw, err := os.ReadFile(filepath.Join(a.state, "identity.json"))
	if err != nil {
		t.Fatal(err)
	}
	var id struct {
		DeviceID string `json:"device_id"`
	}
	if err := json.Unmarshal(raw, &id); err != nil || id.DeviceID == "" {
		t.Fatalf("identity.json: %v %s", err, raw)
	}
	a.id = id.DeviceID

	script := `set -e
W=$1; B=$2; shift 2
mount --bind "$B" "$W/bin"
mount -t tmpfs tierline-e2e-tmp /tmp
mount -o loop "$W/var-tmp.img" /var/tmp
head -c 64000000 /dev/zero > /var/tmp/old-download.bin 2>/dev/null || true
touch -d '3 days ago' /var/tmp/old-download.bin
exec "$W/bin/tierline-agent" "$@"`
	args := []string{"--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, "sh", work, binDir,
		"run", "--state", a.state, "--interval", "200ms", "--check-interval", "1s", "--backoff-base", "100ms",
		"--backoff-max", "1s", "--log-level", "debug"}
	p := &proc{t: t, name: "tierline-agent (own mount namespace)", done: make(chan struct{})}
	p.cmd = exec.Command("unshare", args...)
	// gopsutil reads PID 1's mount table by default; the agent's own
	// namespace is the one that matters here.
	p.cmd.Env = append(os.Environ(), "HOST_PROC_MOUNTINFO=/proc/self/mountinfo")
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			p.signal(syscall.SIGKILL)
			<-p.done
		}
		if t.Failed() {
			t.Logf("--- output of the agent:\n%s", tail(p.output(), 8000))
		}
	})
	a.proc = p
	return a
}

type selfHelpArticle struct {
	ID    string `json:"id"`
	State string `json:"state"`
}

// publishArticle publishes a knowledge-base article on the hub.
func publishArticle(t *testing.T, h *hub, body string) string {
	t.Helper()
	var art selfHelpArticle
	if code := h.do("POST", "/api/v1/articles", h.token, strings.NewReader(body), &art); code != http.StatusCreated {
		t.Fatalf("create article: %d %+v", code, art)
	}
	for _, st := range []string{"reviewed", "published"} {
		if code := h.do("POST", "/api/v1/articles/"+art.ID+"/state", h.token, strings.NewReader(`{"state":"`+st+`"}`), &art); code != http.StatusOK {
			t.Fatalf("article to %s: %d", st, code)
		}
	}
	if art.State != "published" {
		t.Fatalf("article state %q", art.State)
	}
	return art.ID
}

type selfHelpTicket struct {
	Ticket struct {
		ID            string `json:"id"`
		Number        int64  `json:"number"`
		DeviceID      string `json:"device_id"`
		Title         string `json:"title"`
		Category      string `json:"category"`
		HasScreenshot bool   `json:"has_screenshot"`
		Tried         *struct {
			Articles []string `json:"articles"`
			Runs     []struct {
				Fix     string `json:"fix"`
				Outcome string `json:"outcome"`
			} `json:"runs"`
		} `json:"tried"`
		Snapshot *struct {
			Checks []struct{ Name, Status string } `json:"checks"`
		} `json:"snapshot"`
	} `json:"ticket"`
}

// TestSelfHelpPage drives the Get help page of a real `tierline-agent
// gethelp` process in headless chromium, against a real hub and a real
// enrolled agent whose disk is full: the user sees the failing check and
// the matching article, runs the Tier 0 fix and sees it verified, attaches
// a screenshot, files the ticket, and the ticket on the hub holds the
// snapshot and the self-help tried.
func TestSelfHelpPage(t *testing.T) {
	needSelfHelpChromium(t)
	h := startHub(t)
	a := fullDiskAgent(t, h.tokenCreate())
	artID := publishArticle(t, h, `{"title":"Free up space when the disk is full",
		"body":"# When the disk is full\n\nFiles cannot be saved when the disk is full.\n\n- Run **Clear temporary files** below.\n- Empty the recycle bin.\n\n*Still full?* Ask the help desk.",
		"checks":["disk-almost-full"],"fixes":["clear-temp"]}`)
	eventually(t, "the agent online with its disk-almost-full check failing", 60*time.Second, func() bool {
		var d device
		h.get("/api/v1/devices/"+a.id, &d)
		return d.Online && d.check("disk-almost-full") == "failing"
	})

	_, link := startGetHelp(t, a.state)
	checkRefusals(t, link)

	shots := selfHelpShotDir(t)
	ctx := selfHelpBrowser(t)
	if err := uiDo(ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("problem"))); err != nil {
		t.Fatalf("open the page: %v", err)
	}
	// The one-time token has left the address bar.
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); strings.Contains(loc, "token=") {
		t.Errorf("the address bar still holds the token: %s", loc)
	}
	pageWait(t, ctx, "the failing disk check in plain words", `document.querySelector('#diagnosis [data-check="disk-almost-full"]') !== null`)
	if d := pageText(t, ctx, "#diagnosis"); !strings.Contains(d, "full or nearly full") {
		t.Errorf("diagnosis says %q; want the disk check's plain words", d)
	}
	pageWait(t, ctx, "the connection shown", `document.getElementById("conn").textContent.indexOf("Connected") === 0`)
	selfHelpShot(t, ctx, shots, "1-start")

	if err := uiDo(ctx, chromedp.SendKeys(chromedp.ID("problem"), "I cannot save files, it says the disk is full"),
		chromedp.Click(chromedp.ID("cat-application"))); err != nil {
		t.Fatal(err)
	}
	pageWait(t, ctx, "the matching article", `document.querySelector('#articles [data-article=`+jsQuote(artID)+`]') !== null`)
	if s := pageText(t, ctx, "#articles"); !strings.Contains(s, "Free up space when the disk is full") {
		t.Errorf("articles show %q", s)
	}
	// The article opens in place, as text.
	if err := uiDo(ctx, chromedp.Click(chromedp.CSS(`#articles [data-article] summary`))); err != nil {
		t.Fatal(err)
	}
	pageWait(t, ctx, "the article's text", `document.getElementById("articles").innerText.indexOf("Files cannot be saved when the disk is full") >= 0`)
	if s := pageText(t, ctx, "#articles"); strings.Contains(s, "**") || strings.Contains(s, "*Still") {
		t.Errorf("the opened article shows %q", s)
	}
	// Emphasis is shown as such, not as marks.
	pageWait(t, ctx, "bold and italic in the article",
		`document.querySelector("#articles strong") !== null && document.querySelector("#articles strong").textContent === "Clear temporary files" && `+
			`document.querySelector("#articles em") !== null && document.querySelector("#articles em").textContent === "Still full?"`)
	pageWait(t, ctx, "the clear-temp fix offered", `document.querySelector('#fixes [data-fix="clear-temp"] button.run') !== null`)
	selfHelpShot(t, ctx, shots, "2-suggestions")

	// Run it; the page shows progress, then the verified result.
	if err := uiDo(ctx, chromedp.Click(chromedp.CSS(`#fixes [data-fix="clear-temp"] button.run`))); err != nil {
		t.Fatal(err)
	}
	pageWait(t, ctx, "the fix's result", `document.querySelector('#fixes [data-fix="clear-temp"] .result[data-outcome]') !== null`)
	res := pageText(t, ctx, `#fixes [data-fix="clear-temp"] .result`)
	if !strings.Contains(res, "Fixed") || !strings.Contains(res, "disk-almost-full: failing → ok") {
		t.Errorf("fix result shows %q; want it fixed and the disk check failing → ok", res)
	}
	pageWait(t, ctx, "the diagnosis refreshed", `document.querySelector('#diagnosis [data-check="disk-almost-full"]') === null`)
	if s := pageText(t, ctx, `#fixes [data-fix="clear-temp"] .result`); !strings.Contains(s, "failing → ok") {
		t.Errorf("the fix's result is gone after the refresh: %q", s)
	}
	selfHelpShot(t, ctx, shots, "3-fixed")

	// A screenshot the user sees and can remove before sending.
	pngPath := filepath.Join(t.TempDir(), "screen.png")
	raw, _ := base64.StdEncoding.DecodeString(selfHelpPNG)
	if err := os.WriteFile(pngPath, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := uiDo(ctx, chromedp.SetUploadFiles(chromedp.ID("shot-file"), []string{pngPath}),
		chromedp.WaitVisible(chromedp.ID("shot-img"))); err != nil {
		t.Fatalf("attach a screenshot: %v", err)
	}
	if err := uiDo(ctx, chromedp.Click(chromedp.ID("shot-remove"))); err != nil {
		t.Fatal(err)
	}
	pageWait(t, ctx, "the screenshot removed", `document.getElementById("shot-preview").hidden`)
	if err := uiDo(ctx, chromedp.SetUploadFiles(chromedp.ID("shot-file"), []string{pngPath}),
		chromedp.WaitVisible(chromedp.ID("shot-img"))); err != nil {
		t.Fatal(err)
	}
	if s := pageText(t, ctx, "#tried"); !strings.Contains(s, "You ran Clear temporary files") || !strings.Contains(s, "Free up space") {
		t.Errorf("step 3 shows %q; want the fix run and the article shown", s)
	}
	selfHelpShot(t, ctx, shots, "4-still-need-help")

	if err := uiDo(ctx, chromedp.Click(chromedp.ID("file"))); err != nil {
		t.Fatal(err)
	}
	pageWait(t, ctx, "the ticket number", `document.querySelector('#filed[data-state]') !== null`)
	filed := pageText(t, ctx, "#filed")
	m := regexp.MustCompile(`Ticket #(\d+)`).FindStringSubmatch(filed)
	if m == nil {
		t.Fatalf("after filing the page says %q; want the ticket number", filed)
	}
	selfHelpShot(t, ctx, shots, "5-filed")

	// The ticket on the hub.
	var list struct {
		Tickets []struct {
			ID     string `json:"id"`
			Number int64  `json:"number"`
		} `json:"tickets"`
	}
	h.get("/api/v1/tickets?device="+a.id, &list)
	if len(list.Tickets) != 1 || fmt.Sprint(list.Tickets[0].Number) != m[1] {
		t.Fatalf("hub tickets %+v; want the one the page named (#%s)", list.Tickets, m[1])
	}
	var tk selfHelpTicket
	h.get("/api/v1/tickets/"+list.Tickets[0].ID, &tk)
	if !strings.Contains(tk.Ticket.Title, "disk is full") || tk.Ticket.Category != "application" || !tk.Ticket.HasScreenshot {
		t.Errorf("ticket %+v: want the user's words, the category and the screenshot", tk.Ticket)
	}
	if tk.Ticket.Snapshot == nil || len(tk.Ticket.Snapshot.Checks) < 5 {
		t.Errorf("ticket has no diagnostics snapshot: %+v", tk.Ticket.Snapshot)
	}
	// The technicians get the very image the user attached.
	if got, ctype := h.raw("/api/v1/tickets/" + list.Tickets[0].ID + "/screenshot"); !bytes.Equal(got, raw) || ctype != "image/png" {
		t.Errorf("the ticket's screenshot: %d bytes of %s; want the %d-byte PNG the user attached", len(got), ctype, len(raw))
	}
	tried := tk.Ticket.Tried
	if tried == nil || len(tried.Runs) != 1 || tried.Runs[0].Fix != "clear-temp" || tried.Runs[0].Outcome != "fixed" ||
		!hasString(tried.Articles, artID) {
		b, _ := json.Marshal(tried)
		t.Errorf("self-help tried on the ticket: %s; want the article shown and clear-temp fixed", b)
	}

	// The session is recorded as ending in a ticket.
	var fig selfHelpFigures
	eventually(t, "the Get help session on the hub", 30*time.Second, func() bool {
		h.get("/api/v1/metrics/support", &fig)
		return fig.SelfHelp.Sessions > 0
	})
	if fig.SelfHelp.Sessions != 1 || fig.SelfHelp.Tickets != 1 || fig.SelfHelp.Deflected != 0 {
		t.Errorf("self-help figures %+v; want one session with a ticket", fig.SelfHelp)
	}

	// My tickets lists it.
	if err := uiDo(ctx, chromedp.Click(chromedp.ID("tab-tickets"))); err != nil {
		t.Fatal(err)
	}
	pageWait(t, ctx, "my tickets", `document.querySelector('#tickets [data-ticket]') !== null`)
	if s := pageText(t, ctx, "#tickets"); !strings.Contains(s, "#"+m[1]) || !strings.Contains(s, "Tier 1") {
		t.Errorf("my tickets show %q", s)
	}

	// A technician writes; the user reads it on the page and replies.
	tid := list.Tickets[0].ID
	if code := h.do("POST", "/api/v1/tickets/"+tid+"/messages", h.token, strings.NewReader(`{"text":"Did clearing the files help? <img src=x onerror=\"window.__xss=1\">"}`), nil); code != 200 {
		t.Fatalf("technician message: %d", code)
	}
	pageWaitClicking(t, ctx, "the technician's message, markup as text", "tab-tickets",
		`document.getElementById("tickets").innerText.indexOf(`+jsQuote(`Did clearing the files help? <img src=x onerror="window.__xss=1">`)+`) >= 0`)
	if xss, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__xss !== undefined || document.querySelector("#tickets img") !== null`)); xss {
		t.Error("markup in a technician's message became an element on the page")
	}
	if err := uiDo(ctx, chromedp.SendKeys(chromedp.ID("reply-"+tid), "Yes, saving works again"),
		chromedp.Click(chromedp.CSS(`#tickets [data-ticket] .row button`))); err != nil {
		t.Fatal(err)
	}
	pageWait(t, ctx, "the reply shown", `document.getElementById("tickets").innerText.indexOf("You: Yes, saving works again") >= 0`)
	eventually(t, "the reply on the hub's timeline", 30*time.Second, func() bool {
		var d ticketDetail
		h.get("/api/v1/tickets/"+tid, &d)
		b, _ := json.Marshal(d.Timeline)
		return strings.Contains(string(b), "saving works again")
	})
	selfHelpShot(t, ctx, shots, "6-my-tickets")

	// Resolved: the survey appears and its answer reaches the hub.
	if code := h.do("POST", "/api/v1/tickets/"+tid+"/resolve", h.token, strings.NewReader(`{"resolution":"Temporary files cleared."}`), nil); code != 200 {
		t.Fatalf("resolve: %d", code)
	}
	pageWaitClicking(t, ctx, "the survey", "tab-tickets", `document.querySelector('#tickets .survey') !== null`)
	selfHelpShot(t, ctx, shots, "7-resolved-survey")
	if err := uiDo(ctx, chromedp.Click(chromedp.CSS(`#tickets .survey button[aria-label="Score 5 of 5"]`))); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the survey answer on the hub", 30*time.Second, func() bool {
		var d ticketDetail
		h.get("/api/v1/tickets/"+tid, &d)
		return d.Ticket.CSAT != nil && *d.Ticket.CSAT == 5
	})
	// The thanks stay when the list is drawn again.
	pageWaitClicking(t, ctx, "the thanks after the survey, after a redraw", "tab-tickets", `document.querySelector('#tickets .survey-done') !== null && document.querySelector('#tickets .survey') === null`)

	// A technician asks to run a fix that needs the user's consent: the
	// page asks, the user declines, and the run is refused.
	victim := sleeper(t)
	code, run := h.requestRun(h.token, a.id, fmt.Sprintf(`{"fix":"end-process","params":{"pid":%d},"ticket":%q}`, victim.Process.Pid, tid))
	if code != http.StatusAccepted {
		t.Fatalf("request a fix needing consent: %d %+v", code, run)
	}
	pageWaitClicking(t, ctx, "the consent request", "tab-help", `document.querySelector('#consent-list li') !== null`)
	if s := pageText(t, ctx, "#consent"); !strings.Contains(s, "End a process") || !strings.Contains(s, "asks to run this fix") ||
		!strings.Contains(s, fmt.Sprintf("(process %d, run by ", victim.Process.Pid)) {
		t.Errorf("the consent request shows %q; want it to name the process it would end", s)
	}
	selfHelpShot(t, ctx, shots, "8-consent")
	if err := uiDo(ctx, chromedp.Click(chromedp.CSS(`#consent-list button:not(.primary)`))); err != nil {
		t.Fatal(err)
	}
	if run = h.waitRun(h.token, run.ID); run.Outcome != "refused" {
		t.Errorf("the declined fix: %s %s; want refused", run.Outcome, run.Reason)
	}
	pageWait(t, ctx, "the consent request gone", `document.getElementById("consent").hidden`)
	if err := victim.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("the process the user refused to end is gone: %v", err)
	}

	// At phone width, keyboard first: the problem box takes focus with Tab.
	if err := uiDo(ctx, chromedp.EmulateViewport(390, 844), chromedp.Click(chromedp.ID("tab-help"))); err != nil {
		t.Fatal(err)
	}
	overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	if err != nil || overflow {
		t.Errorf("the page scrolls sideways at phone width (%v)", err)
	}
	// From the section buttons, Tab reaches the problem box and then the
	// categories.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("tab-help").focus(), true`)); err != nil {
		t.Fatal(err)
	}
	if err := uiDo(ctx, chromedp.KeyEvent("\t\t")); err != nil {
		t.Fatal(err)
	}
	if id, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`)); id != "problem" {
		t.Errorf("two Tabs from the section buttons focus %q, want the problem box", id)
	}
	if err := uiDo(ctx, chromedp.KeyEvent("\t")); err != nil {
		t.Fatal(err)
	}
	if name, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.name || ""`)); name != "category" {
		t.Errorf("Tab from the problem box focuses %q, want the categories", name)
	}
	selfHelpShot(t, ctx, shots, "9-phone")
}

type selfHelpFigures struct {
	SelfHelp struct {
		Sessions  int `json:"sessions"`
		Tickets   int `json:"tickets"`
		Deflected int `json:"deflected"`
		Pending   int `json:"pending"`
	} `json:"self_help"`
}

// TestSelfHelpDeflection: a user who fixes the problem on the page and
// leaves without filing counts on the hub as a session that is pending
// while its device may still come back about it, then as deflected once
// the window (shortened to 3 s here; 72 h by default) passes.
func TestSelfHelpDeflection(t *testing.T) {
	needSelfHelpChromium(t)
	h := startHub(t, "--deflection-window", "3s")
	a := fullDiskAgent(t, h.tokenCreate())
	eventually(t, "the agent online with its disk-almost-full check failing", 60*time.Second, func() bool {
		var d device
		h.get("/api/v1/devices/"+a.id, &d)
		return d.Online && d.check("disk-almost-full") == "failing"
	})
	_, link := startGetHelp(t, a.state)
	ctx := selfHelpBrowser(t)
	if err := uiDo(ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("problem"))); err != nil {
		t.Fatalf("open the page: %v", err)
	}
	pageWait(t, ctx, "the failing disk check", `document.querySelector('#diagnosis [data-check="disk-almost-full"]') !== null`)
	pageWait(t, ctx, "the clear-temp fix offered", `document.querySelector('#fixes [data-fix="clear-temp"] button.run') !== null`)
	if err := uiDo(ctx, chromedp.Click(chromedp.CSS(`#fixes [data-fix="clear-temp"] button.run`))); err != nil {
		t.Fatal(err)
	}
	pageWait(t, ctx, "the fix's result", `document.querySelector('#fixes [data-fix="clear-temp"] .result[data-outcome="fixed"]') !== null`)
	// The user is done and leaves the page.
	if err := uiDo(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	var m selfHelpFigures
	eventually(t, "the session on the hub", 30*time.Second, func() bool {
		h.get("/api/v1/metrics/support", &m)
		return m.SelfHelp.Sessions > 0
	})
	if m.SelfHelp.Sessions != 1 || m.SelfHelp.Tickets != 0 || m.SelfHelp.Deflected+m.SelfHelp.Pending != 1 {
		t.Fatalf("self-help figures %+v; want one session without a ticket, pending or deflected", m.SelfHelp)
	}
	eventually(t, "the session deflected once its window passed", 30*time.Second, func() bool {
		h.get("/api/v1/metrics/support", &m)
		return m.SelfHelp.Deflected == 1 && m.SelfHelp.Pending == 0
	})
}

// A deflection window that is no time at all is refused at start, saying
// what to give.
func TestServeRefusesBadDeflectionWindow(t *testing.T) {
	for _, w := range []string{"0s", "-1h", "soon"} {
		_, stderr, code := run(t, "", "tierline-hub", "serve", "--data", t.TempDir(), "--listen", freePort(t), "--deflection-window", w)
		if code == 0 || !strings.Contains(stderr, "deflection-window") {
			t.Errorf("serve --deflection-window %s: exit %d, stderr %q; want an error naming the flag", w, code, stderr)
		}
	}
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestSelfHelpOffline: with the hub down, the page files the request and
// says it is saved and will be sent; when the hub is back exactly one
// ticket arrives.
func TestSelfHelpOffline(t *testing.T) {
	needSelfHelpChromium(t)
	h := startHub(t)
	a := enroll(t, h.tokenCreate())
	a.run()
	eventually(t, "the agent online", 30*time.Second, func() bool {
		var d device
		h.get("/api/v1/devices/"+a.id, &d)
		return d.Online
	})
	_, link := startGetHelp(t, a.state)
	ctx := selfHelpBrowser(t)
	// The tray's My tickets opens the link with #tickets.
	if err := uiDo(ctx, chromedp.Navigate(link+"#tickets"), chromedp.WaitVisible(chromedp.ID("tickets-h"))); err != nil {
		t.Fatalf("open the page at My tickets: %v", err)
	}
	pageWait(t, ctx, "my (empty) ticket list", `document.getElementById("tickets-note").textContent === "You have no tickets."`)
	if err := uiDo(ctx, chromedp.Click(chromedp.ID("tab-help")), chromedp.WaitVisible(chromedp.ID("problem"))); err != nil {
		t.Fatal(err)
	}
	h.proc.stop()
	eventually(t, "the agent to notice the hub is gone", 30*time.Second, func() bool {
		return strings.Contains(a.proc.output(), "connection lost") || strings.Contains(a.proc.output(), "dial")
	})
	if err := uiDo(ctx, chromedp.SendKeys(chromedp.ID("problem"), "No network since this morning"),
		chromedp.Click(chromedp.ID("cat-cannot-connect")), chromedp.Click(chromedp.ID("file"))); err != nil {
		t.Fatal(err)
	}
	pageWait(t, ctx, "the page's answer", `document.querySelector('#filed[data-state]') !== null`)
	state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("filed").dataset.state`))
	if s := pageText(t, ctx, "#filed"); state != "queued" || !strings.Contains(s, "saved on this computer") {
		t.Fatalf("offline the page says %q (%s); want that the request is saved and sent later", s, state)
	}
	pageWait(t, ctx, "the header saying the help desk cannot be reached", `document.getElementById("conn").className.indexOf("offline") >= 0`)
	selfHelpShot(t, ctx, selfHelpShotDir(t), "10-offline-queued")
	// The request is saved once: the button does not invite a second one.
	if off, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("file").disabled`)); err != nil || !off {
		t.Errorf("the send button is still active after the request was saved (%v)", err)
	}

	h.start()
	var list struct{ Tickets []ticketJSON }
	eventually(t, "the ticket on the hub", 60*time.Second, func() bool {
		h.get("/api/v1/tickets?device="+a.id, &list)
		return len(list.Tickets) > 0
	})
	time.Sleep(2 * time.Second) // let any duplicate arrive, so the count below can fail
	h.get("/api/v1/tickets?device="+a.id, &list)
	if len(list.Tickets) != 1 || list.Tickets[0].Category != "cannot-connect" {
		t.Fatalf("tickets after the outage: %+v, want exactly one", list.Tickets)
	}
}
