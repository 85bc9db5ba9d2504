package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// uiDo runs browser steps one at a time, like chromedp.Do. A step that
// fails because the browser renumbered its DOM nodes between finding an
// element and acting on it ("Could not find node with given id", which
// chromium does when the page re-renders around the element) is tried
// again: that failure happens before the step has typed or clicked
// anything, so the retry cannot act twice. Any other error ends the run.
func uiDo(ctx context.Context, steps ...chromedp.Action[chromedp.Void]) error {
	if len(steps) == 0 {
		return chromedp.Do(ctx)
	}
	for _, step := range steps {
		var err error
		for try := 0; try < 5; try++ {
			if err = chromedp.Do(ctx, step); err == nil || !staleNode(err) {
				break
			}
			select {
			case <-ctx.Done():
				return err
			case <-time.After(100 * time.Millisecond):
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func staleNode(err error) bool {
	return strings.Contains(err.Error(), "Could not find node with given id")
}

// consoleChromium is Debian's chromium, which the browser tests drive.
const consoleChromium = "/usr/bin/chromium"

// consoleBrowser is headless chromium at 1280x900 for the console tests.
// It records JavaScript dialogs (an alert from injected markup would open
// one; noXSS fails on any) and accepts them, as a user confirming would.
type consoleBrowser struct {
	t       *testing.T
	ctx     context.Context
	shots   string
	mu      sync.Mutex
	dialogs []string
}

// chromiumOptions starts Debian's chromium headless and keeps it on
// loopback: it resolves no name but 127.0.0.1 and localhost, and its
// background services (component updates, autofill, sync, pings) stay off,
// so a browser test sends nothing off the machine.
func chromiumOptions(path string) []chromedp.ExecAllocatorOption {
	return append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"),
		chromedp.Flag("disable-features", "site-per-process,Translate,BlinkGenPropertyTrees,AutofillServerCommunication,OptimizationHints,MediaRouter,CertificateTransparencyComponentUpdater"),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("dns-prefetch-disable", true))
}

func newConsoleBrowser(t *testing.T) *consoleBrowser {
	t.Helper()
	if _, err := os.Stat(consoleChromium); err != nil {
		t.Skipf("chromium is not installed at %s (apt-get install chromium); the console browser tests need it", consoleChromium)
	}
	opts := append(chromiumOptions(consoleChromium), chromedp.IgnoreCertErrors, chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()))
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); acancel() })
	if err := uiDo(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	b := &consoleBrowser{t: t, ctx: ctx}
	b.shots = os.Getenv("TIERLINE_SCREENSHOTS")
	if b.shots == "" {
		b.shots = filepath.Join(os.TempDir(), "tierline-console-screenshots")
	}
	if err := os.MkdirAll(b.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("console screenshots go to %s", b.shots)
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs = append(b.dialogs, ev.Message)
			b.mu.Unlock()
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return b
}

func (b *consoleBrowser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := uiDo(ctx, steps...); err != nil {
		b.failShot()
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		b.t.Fatalf("%s: %v\nat %s the page shows:\n%s", what, err, loc, b.text("body"))
	}
}

func (b *consoleBrowser) eval(expr string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	for {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
		if err == nil {
			return v
		}
		// A page that reloads itself (the ticket page does on changes) is
		// read again once the new document is there.
		if ctx.Err() == nil && isNavigationError(err) {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
}

// isNavigationError reports whether err came from the page being replaced
// while chromium ran a step.
func isNavigationError(err error) bool {
	s := err.Error()
	return strings.Contains(s, "navigated or closed") || strings.Contains(s, "Execution context was destroyed") ||
		strings.Contains(s, "Cannot find context with specified id")
}

// text returns the text the user sees in the element sel.
func (b *consoleBrowser) text(sel string) string {
	b.t.Helper()
	return b.eval(fmt.Sprintf(`(function(){var e=document.querySelector(%q);return e?e.innerText:""})()`, sel))
}

// waitText waits until the element sel shows want. A page that reloads
// meanwhile (the ticket page does on changes) is waited for again.
func (b *consoleBrowser) waitText(sel, want string) {
	b.t.Helper()
	b.waitJS(fmt.Sprintf("%q in %s", want, sel),
		fmt.Sprintf(`(function(){var e=document.querySelector(%q);return !!e && e.textContent.includes(%q)})()`, sel, want))
}

// waitJS waits until the expression js is true on the page.
func (b *consoleBrowser) waitJS(what, js string) {
	b.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithDeadline(b.ctx, deadline)
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(100*time.Millisecond)))
		cancel()
		if err == nil {
			return
		}
		if time.Now().Before(deadline) && isNavigationError(err) {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		b.failShot()
		b.t.Fatalf("waiting for %s: %v\nthe page shows:\n%s", what, err, b.text("main"))
	}
}

func (b *consoleBrowser) shot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// failShot keeps what the browser showed when a step failed.
func (b *consoleBrowser) failShot() {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
		p := filepath.Join(b.shots, "failure-"+b.t.Name()+".png")
		_ = os.WriteFile(p, buf, 0o644)
		b.t.Logf("screenshot of the failure: %s", p)
	}
}

// noXSS checks that nothing injected ran.
func (b *consoleBrowser) noXSS(where string) {
	b.t.Helper()
	if v := b.eval(`typeof window.__xss === "undefined" ? "clean" : String(window.__xss)`); v != "clean" {
		b.t.Errorf("%s: injected script ran (window.__xss = %s)", where, v)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.dialogs) > 0 {
		b.t.Errorf("%s: a JavaScript dialog opened: %q", where, b.dialogs)
	}
}

func (b *consoleBrowser) login(h *hub, name, password string) {
	b.t.Helper()
	b.do("log in as "+name,
		chromedp.Navigate(h.url()+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=name]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), name),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)),
		chromedp.WaitVisible(chromedp.CSS(`.who`)),
	)
}

func (b *consoleBrowser) logout() {
	b.t.Helper()
	b.do("log out", chromedp.Click(chromedp.CSS(`.who form button`)), chromedp.WaitVisible(chromedp.CSS(`input[name=password]`)))
}

// open loads path and waits until sel is visible.
func (b *consoleBrowser) open(h *hub, path, sel string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(h.url()+path), chromedp.WaitVisible(chromedp.CSS(sel)))
}
