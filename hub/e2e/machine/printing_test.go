//go:build linux

package machine

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierline/tierline/scripts/testmachine/nspawn"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// The printing tests use real CUPS queues in the machine, printing raw to
// socket:// (AppSocket/JetDirect) printers at the test's namespace
// address: a printer that takes the documents (a listener of the test's
// that keeps what it receives) or one that is switched off (nothing
// listens on its port, so CUPS's socket backend keeps the job and retries).

const (
	// workingPrinter and offPrinter are the printers' addresses in the
	// test's namespace.
	workingPrinter = nspawn.HubIP + ":9100"
	offPrinter     = nspawn.HubIP + ":9101"
)

// printerSink is a socket printer in the test's namespace: it accepts
// every connection and keeps what it receives.
type printerSink struct {
	ln   net.Listener
	mu   sync.Mutex
	data strings.Builder
}

// listenPrinter starts a printerSink on addr in the test's namespace.
func listenPrinter(t *testing.T, n *nspawn.Network, addr string) *printerSink {
	t.Helper()
	ln, err := n.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &printerSink{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b, _ := io.ReadAll(io.LimitReader(c, 1<<20))
				s.mu.Lock()
				s.data.Write(b)
				s.mu.Unlock()
			}()
		}
	}()
	return s
}

func (s *printerSink) received() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data.String()
}

// addPrinter adds a raw CUPS queue printing to a socket printer at addr,
// enabled and accepting jobs, the way an admin adds one.
func (p *pc) addPrinter(name, addr string) {
	p.t.Helper()
	p.exec("lpadmin", "-p", name, "-E", "-v", "socket://"+addr, "-m", "raw")
}

// print sends a document to queue as user (a local account made here),
// as that user's program would, and returns the job id.
func (p *pc) print(user, queue, title, text string) string {
	p.t.Helper()
	if _, err := p.try("id", user); err != nil {
		p.exec("useradd", "--no-create-home", user)
	}
	doc := fmt.Sprintf("/tmp/document-%d.txt", seq.Add(1))
	p.write(doc, text+"\n", 0o644)
	out := p.exec("runuser", "-u", user, "--", "lp", "-d", queue, "-t", title, doc)
	// "request id is office-1 (1 file(s))"
	f := strings.Fields(out)
	for i := 0; i+3 < len(f); i++ {
		if f[i] == "request" && f[i+1] == "id" && f[i+2] == "is" {
			return f[i+3]
		}
	}
	p.t.Fatalf("lp said %q; want a request id", out)
	return ""
}

// jobs lists the jobs waiting in CUPS (`lpstat -o`), "" when none.
func (p *pc) jobs() string {
	p.t.Helper()
	out, err := p.try("lpstat", "-o")
	if err != nil && strings.TrimSpace(out) != "" {
		p.t.Fatalf("lpstat -o: %v: %s", err, out)
	}
	return strings.TrimSpace(out)
}

// tierZero fails the test unless the hub offers fix for the device, to
// Tier 0 (the user may run it from Get help).
func (p *pc) tierZero(fix string) {
	p.t.Helper()
	f, _ := catalog.Get(fix)
	if o := p.offered(fix); !o.Allowed || o.Tier != catalog.TierSelfHelp || f.Tier != catalog.TierSelfHelp {
		p.t.Fatalf("%s for the device: %+v; want allowed at tier 0", fix, o)
	}
}

// runOutput is the output the technician sees for a run.
func (p *pc) runOutput(id string) string {
	p.t.Helper()
	var r struct {
		Result struct {
			Output string `json:"output"`
		} `json:"result"`
	}
	if code := p.hub.get("/api/v1/runs/"+id, &r); code != http.StatusOK {
		p.t.Fatalf("GET run %s: %d", id, code)
	}
	return r.Result.Output
}

// check returns the named check of a run's before or after results.
func check(results []diag.CheckResult, name string) diag.CheckResult {
	for _, c := range results {
		if c.Name == name {
			return c
		}
	}
	return diag.CheckResult{}
}

// TestPrinterPausedResumed: a printer paused with a reason (cupsdisable
// -r), a document waiting for it. printer-stopped fails with the
// spooler's reason; resume-printer, a Tier 0 fix, runs through the hub,
// is verified (printer-stopped failing before, ok after), and the waiting
// document reaches the printer. Then the same queue refusing new
// documents (cupsreject -r), found and fixed the same way.
func TestPrinterPausedResumed(t *testing.T) {
	p := newPC(t, pcOptions{Env: agentEnv()})
	sink := listenPrinter(t, p.net, workingPrinter)
	p.addPrinter("lab", workingPrinter)
	p.exec("cupsdisable", "-r", "Paper jam in tray 2", "lab")
	job := p.print("alice", "lab", "quarterly report", "Quarterly report, page 1")
	if !strings.Contains(p.jobs(), job) {
		t.Fatalf("the job %s is not waiting in the paused queue: %q", job, p.jobs())
	}

	c := p.waitCheck("printer-stopped", diag.StatusFailing)
	if c.Fix != catalog.ResumePrinter || !strings.Contains(c.Summary, "The printer lab is paused or stopped") ||
		!hasEvidence(c, "lab", "stopped: Paper jam in tray 2") {
		t.Fatalf("printer-stopped with lab paused: %+v; want lab named, the spooler's reason as evidence, resume-printer", c)
	}
	p.tierZero(catalog.ResumePrinter)

	r := p.run(catalog.ResumePrinter, nil)
	before, after := check(r.Result.Before, "printer-stopped"), check(r.Result.After, "printer-stopped")
	if r.Outcome != wire.OutcomeFixed || before.Status != diag.StatusFailing || after.Status != diag.StatusOK {
		t.Fatalf("resume-printer: %s %q; printer-stopped %s before, %s after (%s); want fixed, failing then ok",
			r.Outcome, r.Reason, before.Status, after.Status, after.Summary)
	}
	// The words the run carries: its outcome, and the check's summary
	// after it (the Get help page shows "printer-stopped: failing → ok"
	// with it).
	if r.Reason != "Fixed: printer-stopped showed a problem before and every check is ok after." ||
		after.Summary != "Every printer is ready." && after.Summary != "No printer is paused or stopped." {
		t.Fatalf("resume-printer's outcome in words: %q, after: %q", r.Reason, after.Summary)
	}
	if out := p.runOutput(r.ID); len(r.Result.Steps) != 1 || !strings.Contains(out, "resumed lab") {
		t.Fatalf("resume-printer's steps: %+v, output %q; want one that resumed lab", r.Result.Steps, out)
	}
	// What the user was promised: the waiting document prints.
	eventually(t, "the waiting document at the printer", 60*time.Second, func() bool {
		return strings.Contains(sink.received(), "Quarterly report, page 1")
	})
	eventually(t, "the queue empty", 30*time.Second, func() bool { return p.jobs() == "" })
	if out := p.exec("lpstat", "-p", "lab"); !strings.Contains(out, "enabled") {
		t.Fatalf("lab after resume-printer: %q", out)
	}

	// The queue refuses new documents (cupsreject), which `lpstat -p`
	// alone does not show: lp fails for the user, printer-stopped says
	// so, and resume-printer opens it again.
	p.exec("cupsreject", "-r", "Moving to the 3rd floor", "lab")
	if out, err := p.try("runuser", "-u", "alice", "--", "lp", "-d", "lab", "/etc/os-release"); err == nil {
		t.Fatalf("lp to a queue that refuses documents succeeded: %q", out)
	}
	c = p.waitCheck("printer-stopped", diag.StatusFailing)
	if c.Fix != catalog.ResumePrinter || c.Summary != "The printer lab refuses new documents: nothing can be sent to it." ||
		!hasEvidence(c, "lab", "not accepting documents: Moving to the 3rd floor") {
		t.Fatalf("printer-stopped with lab refusing documents: %+v", c)
	}
	r = p.run(catalog.ResumePrinter, nil)
	if r.Outcome != wire.OutcomeFixed || status(r.Result.Before, "printer-stopped") != diag.StatusFailing ||
		status(r.Result.After, "printer-stopped") != diag.StatusOK || !strings.Contains(p.runOutput(r.ID), "resumed lab") {
		t.Fatalf("resume-printer on a queue refusing documents: %s %q; want fixed", r.Outcome, r.Reason)
	}
	p.print("alice", "lab", "minutes", "Minutes, page 1")
	eventually(t, "a new document at the printer", 60*time.Second, func() bool {
		return strings.Contains(sink.received(), "Minutes, page 1")
	})
}

// TestPrintJobsStuckCancelled: documents sent to a printer that is
// switched off (nothing answers at its address) wait in the queue. With
// the admin's threshold at 2 s (--print-stuck-after, set as the other
// agent settings are), print-jobs-stuck fails with the count, the oldest
// job, its age and owner; cancel-print-jobs (Tier 0) empties the queue,
// verified by the check before and after.
func TestPrintJobsStuckCancelled(t *testing.T) {
	p := newPC(t, pcOptions{Env: agentEnv("TIERLINE_PRINT_STUCK_AFTER", "2s")})
	p.addPrinter("office", offPrinter)
	first := p.print("alice", "office", "minutes", "Minutes of the meeting")
	p.print("bob", "office", "invoice", "Invoice 42")
	p.print("alice", "office", "letter", "Dear Sir or Madam")

	c := p.waitCheck("print-jobs-stuck", diag.StatusFailing)
	if c.Fix != catalog.CancelPrintJobs || !strings.Contains(c.Summary, "Print jobs are stuck in office") ||
		!hasEvidence(c, "office", "3 job(s) waiting, oldest "+first+" queued ") || !hasEvidence(c, "office", " ago by alice") ||
		!hasEvidence(c, "threshold", "a job waiting 2 s or longer is stuck") {
		t.Fatalf("print-jobs-stuck: %+v; want office with 3 jobs, the oldest %s by alice, cancel-print-jobs", c, first)
	}
	// The printer is not paused: printer-stopped is ok and says what the
	// spooler says about it.
	if ps, _ := p.device().check("printer-stopped"); ps.Status != diag.StatusOK || !hasEvidence(ps, "office", "printing "+first) {
		t.Fatalf("printer-stopped with office switched off: %+v", ps)
	}
	p.tierZero(catalog.CancelPrintJobs)

	r := p.run(catalog.CancelPrintJobs, nil)
	before, after := check(r.Result.Before, "print-jobs-stuck"), check(r.Result.After, "print-jobs-stuck")
	if r.Outcome != wire.OutcomeFixed || before.Status != diag.StatusFailing || after.Status != diag.StatusOK {
		t.Fatalf("cancel-print-jobs: %s %q; print-jobs-stuck %s before, %s after (%s); want fixed, failing then ok",
			r.Outcome, r.Reason, before.Status, after.Status, after.Summary)
	}
	if r.Reason != "Fixed: print-jobs-stuck showed a problem before and every check is ok after." || after.Summary != "No print jobs are waiting." {
		t.Fatalf("cancel-print-jobs in words: %q, after: %q", r.Reason, after.Summary)
	}
	if jobs := p.jobs(); jobs != "" {
		t.Fatalf("jobs after cancel-print-jobs: %q", jobs)
	}
}

// TestRestartPrintSpoolerDrainsTheQueue: restart-print-spooler is
// verified by the queue draining. First with documents stuck for a printer
// that is switched off (print-jobs-stuck failing before, ok after), then
// with cupsd hung (stopped with SIGSTOP, so it answers nothing):
// printer-stopped fails saying the print service does not answer, with
// restart-print-spooler as its fix, and after the restart the service
// answers and the queue it held is empty.
func TestRestartPrintSpoolerDrainsTheQueue(t *testing.T) {
	p := newPC(t, pcOptions{Env: agentEnv("TIERLINE_PRINT_STUCK_AFTER", "2s")})
	p.addPrinter("office", offPrinter)
	p.print("alice", "office", "minutes", "Minutes of the meeting")
	p.print("bob", "office", "invoice", "Invoice 42")
	p.waitCheck("print-jobs-stuck", diag.StatusFailing)
	p.tierZero(catalog.RestartPrintSpooler)

	r := p.run(catalog.RestartPrintSpooler, nil)
	before, after := check(r.Result.Before, "print-jobs-stuck"), check(r.Result.After, "print-jobs-stuck")
	if r.Outcome != wire.OutcomeFixed || before.Status != diag.StatusFailing || after.Status != diag.StatusOK ||
		status(r.Result.After, "printer-stopped") != diag.StatusOK {
		t.Fatalf("restart-print-spooler with jobs stuck: %s %q; print-jobs-stuck %s before, %s after; want fixed, the queue drained",
			r.Outcome, r.Reason, before.Status, after.Status)
	}
	if jobs := p.jobs(); jobs != "" {
		t.Fatalf("jobs after restart-print-spooler: %q", jobs)
	}

	// cupsd hangs with documents in its queue.
	p.print("alice", "office", "letter", "Dear Sir or Madam")
	pid := strings.TrimSpace(p.exec("systemctl", "show", "--property", "MainPID", "--value", "cups"))
	if pid == "" || pid == "0" {
		t.Fatalf("cupsd's pid: %q", pid)
	}
	p.exec("kill", "-STOP", pid)
	c := p.waitCheck("printer-stopped", diag.StatusFailing)
	if c.Fix != catalog.RestartPrintSpooler || !strings.Contains(c.Summary, "The printing service is not running or not answering") ||
		!hasEvidence(c, "lpstat", "the print service (cupsd) did not answer within 5s") {
		t.Fatalf("printer-stopped with cupsd hung: %+v; want the service named as not answering, restart-print-spooler", c)
	}
	r = p.run(catalog.RestartPrintSpooler, nil)
	if r.Outcome != wire.OutcomeFixed || status(r.Result.Before, "printer-stopped") != diag.StatusFailing ||
		status(r.Result.After, "printer-stopped") != diag.StatusOK || status(r.Result.After, "print-jobs-stuck") != diag.StatusOK {
		t.Fatalf("restart-print-spooler with cupsd hung: %s %q; want fixed: printer-stopped failing before, ok after, no jobs stuck", r.Outcome, r.Reason)
	}
	if out, err := p.try("lpstat", "-r"); err != nil || !strings.Contains(out, "scheduler is running") {
		t.Fatalf("lpstat -r after restart-print-spooler: %q %v", out, err)
	}
	if jobs := p.jobs(); jobs != "" {
		t.Fatalf("jobs after restart-print-spooler: %q", jobs)
	}
}

// TestPrintingFixesWithoutCUPS: a machine without CUPS (its packages
// purged). The printing checks say no printer is set up and name no fix;
// each printing fix asked for through the hub is not applicable, in plain
// words, and runs nothing.
func TestPrintingFixesWithoutCUPS(t *testing.T) {
	p := newPC(t, pcOptions{Env: agentEnv(), Before: func(p *pc) {
		p.exec("dpkg", "--purge", "--force-depends", "cups", "cups-client", "cups-daemon", "cups-core-drivers",
			"cups-filters", "cups-filters-core-drivers", "cups-ipp-utils", "cups-ppdc")
	}})
	if _, err := p.try("sh", "-c", "command -v lpstat || command -v cupsd"); err == nil {
		t.Fatal("CUPS is still installed")
	}
	for _, name := range []string{"printer-stopped", "print-jobs-stuck"} {
		c := p.waitCheck(name, diag.StatusOK)
		if c.Summary != "No printers are set up." || c.Fix != "" {
			t.Fatalf("%s without CUPS: %+v", name, c)
		}
	}
	for fix, words := range map[string]string{
		catalog.RestartPrintSpooler: "Printing cannot be restarted on this computer: it has no print service of its own (CUPS is not installed)",
		catalog.ResumePrinter:       "There is no printer to resume on this computer: it has no print service (CUPS is not installed)",
		catalog.CancelPrintJobs:     "There are no print jobs to cancel on this computer: it has no print service (CUPS is not installed)",
	} {
		r := p.run(fix, nil)
		if r.Outcome != wire.OutcomeNotApplicable || !strings.Contains(r.Reason, words) {
			t.Errorf("%s without CUPS: %s %q; want not_applicable: %q", fix, r.Outcome, r.Reason, words)
		}
		if r.Result != nil && len(r.Result.Steps) > 0 {
			t.Errorf("%s ran steps without CUPS: %+v", fix, r.Result.Steps)
		}
	}
	// The agent's own list (`tierline-agent fixes`, what the tray and the
	// Get help page go by) does not offer them, and says why.
	var listing struct {
		Fixes []struct {
			ID        string `json:"id"`
			Available bool   `json:"available"`
			Why       string `json:"why"`
		} `json:"fixes"`
	}
	if err := json.Unmarshal([]byte(p.exec("tierline-agent", "fixes", "--json", "--state", "/var/lib/tierline-agent")), &listing); err != nil {
		t.Fatal(err)
	}
	for _, f := range listing.Fixes {
		if (f.ID == catalog.RestartPrintSpooler || f.ID == catalog.ResumePrinter || f.ID == catalog.CancelPrintJobs) &&
			(f.Available || !strings.Contains(f.Why, "it has no print service")) {
			t.Errorf("tierline-agent fixes lists %s without CUPS as %+v", f.ID, f)
		}
	}
	for _, c := range p.device().Health {
		if c.Fix == catalog.RestartPrintSpooler || c.Fix == catalog.ResumePrinter || c.Fix == catalog.CancelPrintJobs {
			t.Errorf("%s offers %s on a machine without CUPS: %+v", c.Name, c.Fix, c)
		}
	}
}
