//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The console tests drive the hub's web console in Debian's chromium with
// chromedp, against real hub and agent processes.

// conHostileText is what a user or an agent could send to attack the
// technicians' browsers; it must show as text and never run.
const conHostileText = `App hangs <script>window.__xss=1</script><img src=x onerror="window.__xss=2"> "><svg onload=window.__xss=3>`

// conHostileHost is the agent machine's hostname (at most 64 bytes).
const conHostileHost = `pc<img src=x onerror=window.__xss=4>`

// The test binary doubles as a launcher that sets the hostname inside a
// new UTS namespace and then becomes the agent, so an agent can report a
// hostname full of markup without touching the machine's own.
const (
	conEnvHostname = "TIERLINE_E2E_HOSTNAME"
	conEnvExec     = "TIERLINE_E2E_EXEC"
)

func init() {
	name := os.Getenv(conEnvHostname)
	if name == "" {
		return
	}
	if err := syscall.Sethostname([]byte(name)); err != nil {
		fmt.Fprintln(os.Stderr, "set hostname:", err)
		os.Exit(97)
	}
	var argv []string
	if err := json.Unmarshal([]byte(os.Getenv(conEnvExec)), &argv); err != nil || len(argv) == 0 {
		fmt.Fprintln(os.Stderr, "bad", conEnvExec, err)
		os.Exit(96)
	}
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, conEnvHostname+"=") && !strings.HasPrefix(e, conEnvExec+"=") {
			env = append(env, e)
		}
	}
	err := syscall.Exec(argv[0], argv, env)
	fmt.Fprintln(os.Stderr, "exec:", err)
	os.Exit(98)
}

// conHostnameNS makes cmd run name's binary in new user and UTS namespaces
// with the hostname host.
func conHostnameNS(cmd *exec.Cmd, host string) {
	self, _ := os.Executable()
	argv := append([]string{cmd.Path}, cmd.Args[1:]...)
	cmd.Path = self
	cmd.Args = []string{self}
	enc, _ := json.Marshal(argv)
	cmd.Env = append(os.Environ(), conEnvHostname+"="+host, conEnvExec+"="+string(enc))
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWUTS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}
}

// conNamespacesWork reports whether this machine lets the test make user and
// UTS namespaces.
func conNamespacesWork() bool {
	cmd := exec.Command("/bin/true")
	conHostnameNS(cmd, "probe")
	return cmd.Run() == nil
}

// conHostileAgent enrolls and runs an agent whose hostname is host.
func conHostileAgent(t *testing.T, h *hub, host string) *agent {
	t.Helper()
	a := &agent{t: t, state: filepath.Join(t.TempDir(), "agent")}
	enrollCmd := exec.Command(filepath.Join(binDir, "tierline-agent"), "enroll", "--token", h.tokenCreate(), "--state", a.state)
	conHostnameNS(enrollCmd, host)
	if out, err := enrollCmd.CombinedOutput(); err != nil {
		t.Fatalf("enroll in a hostname namespace: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(filepath.Join(a.state, "identity.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ident struct {
		DeviceID string `json:"device_id"`
	}
	if err := json.Unmarshal(raw, &ident); err != nil || ident.DeviceID == "" {
		t.Fatalf("identity.json has no device_id: %v %s", err, raw)
	}
	a.id = ident.DeviceID
	p := &proc{t: t, name: "tierline-agent", done: make(chan struct{})}
	p.cmd = exec.Command(filepath.Join(binDir, "tierline-agent"), "run", "--state", a.state, "--interval", "500ms",
		"--backoff-base", "100ms", "--backoff-max", "1s", "--log-level", "debug")
	conHostnameNS(p.cmd, host)
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.signal(syscall.SIGKILL)
		<-p.done
		if t.Failed() {
			t.Logf("--- output of the agent:\n%s", tail(p.output(), 6000))
		}
	})
	a.proc = p
	return a
}

// conMarkupProc is the name of a process the fix ends: markup, and short
// enough for the kernel's 15-byte process name.
const conMarkupProc = "<img src=x>"

// markupSleeper starts a real sleep process named conMarkupProc.
func markupSleeper(t *testing.T) *exec.Cmd {
	t.Helper()
	src, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), conMarkupProc)
	if err := os.WriteFile(bin, raw, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "300")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func conAddUser(t *testing.T, h *hub, name, role, password string) {
	t.Helper()
	must(t, password+"\n", "tierline-hub", "user", "add", "--data", h.data, "--name", name, "--role", role)
}

// TestConsole works a ticket filed by a real agent in the browser: it
// appears live in the Tier 1 queue, a Tier 2 technician opens it, runs a
// fix and sees the verified result arrive, sees live telemetry, sets the
// priority, waits on the user and resumes, escalates with a note and
// resolves it; agent and user text full of markup shows literally and
// never runs; a Tier 1 technician is not offered Tier 2 fixes and the API
// refuses them when forced; admin pages are refused; cross-site posts,
// cross-origin live updates and token-less requests are refused.
func TestConsole(t *testing.T) {
	b := newConsoleBrowser(t)
	h := startHub(t, "--tier-limits", "1=1h,2=4h,3=2d")
	conAddUser(t, h, "tess", "tier2", "tier two secret")
	conAddUser(t, h, "finn", "tier1", "tier one secret")

	host := conHostileHost
	var a *agent
	if conNamespacesWork() {
		a = conHostileAgent(t, h, host)
	} else {
		t.Logf("this machine does not allow user namespaces: the agent keeps its real hostname; markup comes from the ticket text only")
		a = enroll(t, h.tokenCreate())
		a.run()
		host = ""
	}
	eventually(t, "the agent online", 60*time.Second, func() bool {
		var d device
		h.get("/api/v1/devices/"+a.id, &d)
		return d.Online
	})

	// The login page.
	b.do("open the login page", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(h.url()+"/login"), chromedp.WaitVisible(chromedp.CSS(`input[name=password]`)))
	b.shot("login")
	// A wrong password is refused with a message.
	b.do("wrong password",
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "tess"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "not it at all"),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)),
		chromedp.WaitVisible(chromedp.CSS(`#login-error`)))
	if got := b.text("#login-error"); !strings.Contains(got, "Wrong name or password") {
		t.Errorf("wrong password shows %q", got)
	}

	// Tier 2 watches the Tier 1 queue; the agent files a ticket; it
	// appears without a reload.
	b.login(h, "tess", "tier two secret")
	b.do("open the Tier 1 queue", chromedp.Navigate(h.url()+"/queue?tier=1"), chromedp.WaitVisible(chromedp.CSS(`#queue`)))
	b.eval(`window.__sameDocument = "yes"; "ok"`)
	ans := helpCmd(t, a, "--category", "application", conHostileText)
	if ans.Number == 0 || ans.Tier != 1 {
		t.Fatalf("help answer %+v: want a Tier 1 ticket", ans)
	}
	b.waitText("#queue-rows", fmt.Sprintf("#%d", ans.Number))
	if b.eval(`String(window.__sameDocument)`) != "yes" {
		t.Fatalf("the queue reloaded to show the new ticket; it must appear live")
	}
	row := b.text(fmt.Sprintf(`#queue-rows tr[data-id=%q]`, ans.TicketID))
	if !strings.Contains(row, "<script>window.__xss=1</script>") || !strings.Contains(row, "left") {
		t.Errorf("queue row shows %q: want the title literally and an SLA countdown", row)
	}
	b.noXSS("queue")
	b.shot("queue")
	b.do("phone-width queue", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#queue`)))
	b.shot("queue-phone")
	b.do("desktop again", chromedp.EmulateViewport(1280, 900), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#queue`)))

	// Keyboard: j selects the first row, Enter opens it.
	b.do("open the ticket with the keyboard",
		chromedp.KeyEvent("j"), chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS(`#ticket`)))
	b.waitText("#user-words", conHostileText)
	if got := b.text("#ticket-title"); !strings.Contains(got, `<script>window.__xss=1</script>`) {
		t.Errorf("ticket title shows %q, want the markup as text", got)
	}
	if host != "" {
		b.waitText(".ticket-head", host)
	}
	b.do("snapshot checks shown", chromedp.WaitVisible(chromedp.CSS(`#snapshot-checks li`)))
	b.noXSS("ticket page")

	// Run a fix: end a real process whose name is markup; the verified
	// result arrives live and shows the name as text.
	victim := markupSleeper(t)
	b.waitText("#fix-select", "end-process")
	b.do("fill the fix form",
		chromedp.SetValue(chromedp.CSS(`#fix-select`), "end-process"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("fix-select").dispatchEvent(new Event("change"))`),
		chromedp.WaitVisible(chromedp.CSS(`#fix-params input[name=pid]`)),
		chromedp.SendKeys(chromedp.CSS(`#fix-params input[name=pid]`), strconv.Itoa(victim.Process.Pid)),
	)
	if b.eval(`document.getElementById("consent-row").hidden ? "hidden" : "shown"`) == "shown" {
		b.do("give consent", chromedp.Click(chromedp.CSS(`#fix-consent`)))
	}
	b.do("run the fix", chromedp.Click(chromedp.CSS(`#fix-run`)))
	b.waitText("#runs", "end-process")
	// The finished run reaches the timeline, and the page reloads itself
	// to show it; the result is read after that reload.
	b.waitJS("the finished run on the timeline", `(function(){var e=document.getElementById("timeline");return !!e && /Fix end-process: (succeeded|fixed)/.test(e.textContent)})()`)
	b.waitJS("the fix result with before/after checks",
		`(function(){var o=document.querySelector("#runs .run-outcome");return !!o && /succeeded|fixed/.test(o.textContent) && !!document.querySelector("#runs table.verify")})()`)
	if !exited(victim) {
		t.Errorf("process %d still runs after end-process reported success", victim.Process.Pid)
	}
	if got := strings.ToLower(b.text("#runs")); !strings.Contains(got, "before") || !strings.Contains(got, "after") {
		t.Errorf("fix result shows %q: want the before/after verification", got)
	}
	if got := b.text("#runs"); !strings.Contains(got, conMarkupProc) {
		t.Logf("fix output %q does not name the process %q", got, conMarkupProc)
	}
	if n := b.eval(`String(document.querySelectorAll("#runs img, #runs svg").length)`); n != "0" {
		t.Errorf("the process name became %s element(s) in the fix result", n)
	}
	b.shot("ticket")

	// Live telemetry of the device arrives without a reload.
	b.waitJS("the live telemetry block updated, in UTC as the rest of the page", `/^at \d\d:\d\d:\d\d UTC$/.test(document.getElementById("live-when").textContent)`)

	// Priority: impact 1 and urgency 1 make it P1.
	b.do("set the priority",
		chromedp.Click(chromedp.CSS(`details:has(#priority-form) > summary`)),
		chromedp.SetValue(chromedp.CSS(`#priority-form select[name=impact]`), "1"),
		chromedp.SetValue(chromedp.CSS(`#priority-form select[name=urgency]`), "1"),
		chromedp.Click(chromedp.CSS(`#priority-form button[type=submit]`)))
	b.waitText("#ticket-priority", "P1")

	// Wait on the user with a reason, then resume.
	b.do("wait on the user",
		chromedp.Click(chromedp.CSS(`details:has(#waiting-form) > summary`)),
		chromedp.SetValue(chromedp.CSS(`#waiting-form select[name=reason]`), "user_confirmation"),
		chromedp.Click(chromedp.CSS(`#waiting-form button[type=submit]`)))
	b.waitText("#ticket-state", "waiting_user")
	b.waitText("#waiting-state", "user confirmation")
	b.do("resume", chromedp.Click(chromedp.CSS(`#resume-form button[type=submit]`)))
	b.waitJS("the ticket resumed", `!!document.getElementById("waiting-form") && !/waiting/.test(document.getElementById("ticket-state").textContent)`)
	b.waitText("#timeline", "Resumed")

	// Escalate to Tier 3 with a note.
	b.do("escalate",
		chromedp.SetValue(chromedp.CSS(`#escalate-form select[name=tier]`), "3"),
		chromedp.SendKeys(chromedp.CSS(`#escalate-form textarea[name=note]`), "Needs an engineer: the app hangs again after restart"),
		chromedp.Click(chromedp.CSS(`#escalate-form button[type=submit]`)))
	b.waitText("#ticket-tier", "Tier 3")
	b.waitText("#timeline", "Needs an engineer: the app hangs again after restart")
	// From the top tier the move form offers the tiers below, Tier 2 first.
	if got := b.eval(`Array.from(document.querySelectorAll("#escalate-form select[name=tier] option")).map(o => o.value + (o.selected ? "*" : "")).join(",")`); got != "1,2*" {
		t.Errorf("a Tier 3 ticket offers tiers %q, want 1,2 with 2 selected", got)
	}

	// Resolve, asking for a knowledge base draft.
	b.do("resolve",
		chromedp.SendKeys(chromedp.CSS(`#resolve-form textarea[name=resolution]`), "Ended the hung process; app works again."),
		chromedp.Click(chromedp.CSS(`#resolve-form input[name=kb]`)),
		chromedp.Click(chromedp.CSS(`#resolve-form button[type=submit]`)))
	b.waitText("#action-result", "Resolved")
	t.Logf("resolve answered: %s", b.text("#action-result"))
	b.waitText("#ticket-state", "resolved")
	b.waitText("#timeline", "Resolved: Ended the hung process; app works again.")
	b.noXSS("resolved ticket")

	// The ticket at phone width.
	b.do("phone-width ticket", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#ticket`)))
	b.shot("ticket-phone")
	b.do("desktop again", chromedp.EmulateViewport(1280, 900), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#ticket`)))

	// CSRF, from the Tier 2 session: a fetch without the token is refused.
	second := helpCmd(t, a, "--category", "slow", "Everything is slow since the update")
	b.do("open the second ticket", chromedp.Navigate(h.url()+"/tickets/"+second.TicketID), chromedp.WaitVisible(chromedp.CSS(`#ticket`)))
	code := b.eval(fmt.Sprintf(`fetch("/api/v1/tickets/%s/assign", {method: "POST", headers: {"Content-Type": "application/json"}, body: "{}"}).then(r => String(r.status))`, second.TicketID))
	if code != "403" {
		t.Errorf("fetch without the CSRF token: %s, want 403", code)
	}

	// A page on another origin posts a form to the hub and opens its live
	// updates: both are refused.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		switch r.URL.Path {
		case "/post":
			fmt.Fprintf(w, `<!doctype html><form id="f" method="post" action="%s/logout"><input name="csrf" value="guess"></form>
<script>document.getElementById("f").submit()</script>`, h.url())
		case "/api":
			fmt.Fprintf(w, `<!doctype html><form id="f" method="post" enctype="text/plain" action="%s/api/v1/tickets/%s/escalate"><input name='{"tier":4,"note":"pwned","x":"' value='"}'></form>
<script>document.getElementById("f").submit()</script>`, h.url(), second.TicketID)
		default:
			fmt.Fprintf(w, `<!doctype html><p id="sse">waiting</p><script>
var es = new EventSource("%s/events", {withCredentials: true});
es.onopen = function () { document.getElementById("sse").textContent = "open"; };
es.onmessage = function () { document.getElementById("sse").textContent = "message"; };
es.onerror = function () { document.getElementById("sse").textContent = "refused"; es.close(); };
</script>`, h.url())
		}
	}))
	defer evil.Close()
	b.do("cross-site form post", chromedp.Navigate(evil.URL+"/post"), chromedp.WaitReady(chromedp.CSS(`body`)))
	b.waitText("body", "refused")
	b.do("cross-site API post", chromedp.Navigate(evil.URL+"/api"), chromedp.WaitReady(chromedp.CSS(`body`)))
	b.waitText("body", "error")
	b.do("cross-origin live updates", chromedp.Navigate(evil.URL+"/sse"), chromedp.WaitReady(chromedp.CSS(`#sse`)))
	b.waitText("#sse", "refused")
	// The session survived the forged logout and the ticket did not move.
	b.do("back to the console", chromedp.Navigate(h.url()+"/tickets/"+second.TicketID), chromedp.WaitVisible(chromedp.CSS(`#ticket`)))
	if got := b.text("#ticket-tier"); got != "Tier 1" {
		t.Errorf("after the forged escalation the ticket shows %q, want Tier 1", got)
	}
	if strings.Contains(b.text("#timeline"), "pwned") {
		t.Errorf("the forged escalation reached the timeline")
	}

	// The same checks from a plain client holding a valid session.
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, Transport: h.client.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := cl.PostForm(h.url()+"/login", url.Values{"name": {"tess"}, "password": {"tier two secret"}})
	if err != nil || res.StatusCode != http.StatusSeeOther {
		t.Fatalf("client login: %v %v", err, res)
	}
	res.Body.Close()
	for origin, want := range map[string]int{"https://evil.example": 403, h.url(): 200} {
		req, _ := http.NewRequest("GET", h.url()+"/events", nil)
		req.Header.Set("Origin", origin)
		ctx, cancel := context.WithCancel(context.Background())
		res, err := cl.Do(req.WithContext(ctx))
		if err != nil {
			cancel()
			t.Fatalf("GET /events: %v", err)
		}
		if res.StatusCode != want {
			body, _ := io.ReadAll(io.LimitReader(res.Body, 512))
			t.Errorf("GET /events with Origin %s: %d %s, want %d", origin, res.StatusCode, body, want)
		}
		cancel()
		res.Body.Close()
	}

	// Tier 1: Tier 2 fixes are not offered, and the API refuses them.
	b.do("log out tess", chromedp.Navigate(h.url()+"/queue"), chromedp.WaitVisible(chromedp.CSS(`#queue`)))
	b.logout()
	b.login(h, "finn", "tier one secret")
	b.do("tier1 opens the ticket", chromedp.Navigate(h.url()+"/tickets/"+second.TicketID), chromedp.WaitVisible(chromedp.CSS(`#ticket`)))
	b.waitText("#fix-select", "choose a fix")
	offered := b.eval(`Array.from(document.querySelectorAll("#fix-select option")).map(o => o.value).join(",")`)
	if strings.Contains(offered, "end-process") || strings.Contains(offered, "restart-service") {
		t.Errorf("tier1 is offered %s: no Tier 2 fix may be among them", offered)
	}
	if strings.Trim(offered, ",") == "" {
		t.Errorf("tier1 is offered no fix at all")
	}
	t.Logf("tier1 is offered: %s", offered)
	forced := b.eval(fmt.Sprintf(`tierline.api("POST", "/api/v1/devices/%s/runs", {fix: "end-process", params: {pid: 1}, ticket: %q, consent_obtained: true}).then(() => "accepted", e => String(e.status) + " " + e.message)`, a.id, second.TicketID))
	if !strings.HasPrefix(forced, "403") {
		t.Errorf("tier1 forcing end-process through the API: %s, want 403", forced)
	}
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(h.url()+"/admin"))
	if err != nil {
		t.Fatal(err)
	}
	switch resp.Status {
	case 403:
		b.waitText("main", "needs the admin role")
	case 404:
		t.Logf("/admin does not exist in this build; tier1 gets 404")
	default:
		t.Errorf("tier1 on /admin: %d, want 403", resp.Status)
	}
	b.noXSS("end of test")
}
