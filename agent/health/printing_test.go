package health

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

func printFixture(t *testing.T, name string) printState {
	t.Helper()
	b, err := os.ReadFile("testdata/printing/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(name, "windows-") {
		p, j, _ := cutLine(string(b), "----")
		st, err := parseWinPrinting([]byte(p), []byte(j))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	return parseLpstat(string(b), time.UTC)
}

func TestGradePrinting(t *testing.T) {
	now := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	tests := []struct {
		fixture                string
		printers, jobs         diag.Status
		printersFix, jobsFix   string
		printersSays, jobsSays string
		evidence               map[string]string
	}{
		{"lpstat-stuck.txt", diag.StatusFailing, diag.StatusFailing, catalog.ResumePrinter, catalog.ResumePrinter,
			"The printer lab is paused", "Print jobs are stuck in hp, lab",
			map[string]string{"lab": "stopped: Paused", "hp": "2 job(s) waiting, oldest hp-41 queued 104 min ago by alice"}},
		{"lpstat-idle.txt", diag.StatusOK, diag.StatusOK, "", "", "Every printer is ready.", "No print jobs are waiting.",
			map[string]string{"pdf": "ready"}},
		// A job queued two minutes ago is not stuck yet.
		{"lpstat-disabled-en_US.txt", diag.StatusFailing, diag.StatusOK, catalog.ResumePrinter, "",
			"The printer office is paused", "Print jobs are moving.",
			map[string]string{"office": "stopped: Out of paper"}},
		{"lpstat-reason-unknown.txt", diag.StatusFailing, diag.StatusOK, catalog.ResumePrinter, "", "office", "No print jobs",
			map[string]string{"office": "stopped: no reason given"}},
		// Recorded on the test machine (CUPS 2.4): front-desk paused and
		// rejecting, lab rejecting, office printing to a printer that is off.
		{"lpstat-rejecting.txt", diag.StatusFailing, diag.StatusOK, catalog.ResumePrinter, "",
			"The printer front-desk is paused or stopped: nothing prints on it. The printer lab refuses new documents: nothing can be sent to it.", "Print jobs are moving.",
			map[string]string{"front-desk": "stopped: Rejecting Jobs", "lab": "not accepting documents: Moving to the 3rd floor",
				"office": "printing office-1; the spooler says: The printer may not exist"}},
		{"windows-offline.txt", diag.StatusFailing, diag.StatusFailing, catalog.RestartPrintSpooler, catalog.RestartPrintSpooler,
			"HP LaserJet 4th floor is paused or stopped", "stuck in HP LaserJet 4th floor",
			map[string]string{"Microsoft Print to PDF": "ready", "HP LaserJet 4th floor": "job status: error"}},
		{"windows-idle.txt", diag.StatusOK, diag.StatusOK, "", "", "Every printer is ready.", "No print jobs are waiting.", nil},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			st := printFixture(t, tt.fixture)
			p, j := gradePrinters(st), gradePrintJobs(st, now, 10*time.Minute)
			if p.Status != tt.printers || p.Fix != tt.printersFix || !strings.Contains(p.Summary, tt.printersSays) {
				t.Errorf("printer-stopped: %s %q %q", p.Status, p.Fix, p.Summary)
			}
			if j.Status != tt.jobs || j.Fix != tt.jobsFix || !strings.Contains(j.Summary, tt.jobsSays) {
				t.Errorf("print-jobs-stuck: %s %q %q", j.Status, j.Fix, j.Summary)
			}
			for l, v := range tt.evidence {
				if !hasEvidence(p, l, v) && !hasEvidence(j, l, v) {
					t.Errorf("no evidence %s ~ %q in %+v / %+v", l, v, p.Evidence, j.Evidence)
				}
			}
		})
	}
	// Stuck behind a printer that works: the jobs are cancelled.
	moving := printState{Source: "lpstat", Printer: []printer{{Name: "office"}},
		Jobs: []printJob{{ID: "office-3", Printer: "office", Queued: now.Add(-time.Hour)}}}
	if got := gradePrintJobs(moving, now, 10*time.Minute); got.Status != diag.StatusFailing || got.Fix != catalog.CancelPrintJobs {
		t.Errorf("stuck on a working printer: %+v", got)
	}
	for _, got := range []diag.CheckResult{gradePrinters(printState{None: true}), gradePrintJobs(printState{None: true}, now, time.Minute)} {
		if got.Status != diag.StatusOK || got.Fix != "" || got.Summary != "No printers are set up." {
			t.Errorf("no printers: %+v", got)
		}
	}
	down := printState{Source: "lpstat", Down: "lpstat: Scheduler is not running."}
	if got := gradePrinters(down); got.Status != diag.StatusFailing || got.Fix != catalog.RestartPrintSpooler || !strings.Contains(got.Summary, "not running") {
		t.Errorf("spooler down: %+v", got)
	}
	// Its jobs cannot be seen: not "no jobs waiting".
	if got := gradePrintJobs(down, now, time.Minute); got.Status != diag.StatusUnknown || !strings.Contains(got.Summary, "cannot be seen") {
		t.Errorf("jobs with the spooler down: %+v", got)
	}
}

// TestPrintJobStuckAfter: the threshold is the Config's; the evidence
// says how old the oldest job is, to the second under a minute, and the
// threshold.
func TestPrintJobStuckAfter(t *testing.T) {
	now := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	st := printState{Source: "lpstat", Printer: []printer{{Name: "office", Printing: "office-1", Reason: "The printer may not exist or is unavailable at this time."}},
		Jobs: []printJob{{ID: "office-1", Printer: "office", User: "alice", Queued: now.Add(-40 * time.Second)},
			{ID: "office-2", Printer: "office", User: "bob", Queued: now.Add(-10 * time.Second)}}}
	if got := gradePrintJobs(st, now, time.Minute); got.Status != diag.StatusOK {
		t.Errorf("40 s old, stuck after a minute: %+v", got)
	}
	got := gradePrintJobs(st, now, 30*time.Second)
	if got.Status != diag.StatusFailing || got.Fix != catalog.CancelPrintJobs ||
		!hasEvidence(got, "office", "2 job(s) waiting, oldest office-1 queued 40 s ago by alice") ||
		!hasEvidence(got, "threshold", "30 s or longer") {
		t.Errorf("40 s old, stuck after 30 s: %+v", got)
	}
	p := gradePrinters(st)
	if p.Status != diag.StatusOK || p.Summary != "No printer is paused or stopped." ||
		!hasEvidence(p, "office", "printing office-1; the spooler says: The printer may not exist") {
		t.Errorf("printer-stopped of a printer that cannot be reached: %+v", p)
	}
	c := Config{PrintJobStuckAfter: -time.Second}
	if err := c.CheckAndSetDefaults(); err == nil {
		t.Error("a negative PrintJobStuckAfter was accepted")
	}
	c = Config{}
	if err := c.CheckAndSetDefaults(); err != nil || c.PrintJobStuckAfter != 10*time.Minute {
		t.Errorf("default PrintJobStuckAfter: %s %v", c.PrintJobStuckAfter, err)
	}
	for d, want := range map[time.Duration]string{5 * time.Second: "5 s", 90 * time.Second: "1 min", 105 * time.Minute: "105 min",
		3*time.Hour + 5*time.Minute: "3 h 5 min", 72 * time.Hour: "3 days"} {
		if got := agoText(d); got != want {
			t.Errorf("agoText(%s) = %q, want %q", d, got, want)
		}
	}
}

// TestSharedReadPerRun: the checks of one run share one read of the
// spooler; the next run reads again, however soon (the checks after a fix
// run seconds after the ones before it and must see the fix's effect).
func TestSharedReadPerRun(t *testing.T) {
	reads := 0
	pr := &printReader{read: func(context.Context) (printState, error) {
		reads++
		return printState{Source: "lpstat", Printer: []printer{{Name: "office", Stopped: reads == 1, Reason: "Paused"}}}, nil
	}}
	r := NewRunnerOf(time.Second,
		Func("printer-stopped", func(ctx context.Context) diag.CheckResult { return checkPrinters(ctx, pr) }),
		Func("print-jobs-stuck", func(ctx context.Context) diag.CheckResult {
			return checkPrintJobs(ctx, &Config{}, pr, time.Now())
		}))
	before := r.Run(t.Context())
	if reads != 1 || before[0].Status != diag.StatusFailing {
		t.Fatalf("first run: %d reads, %+v", reads, before)
	}
	after := r.Run(t.Context())
	if reads != 2 || after[0].Status != diag.StatusOK {
		t.Fatalf("second run right after: %d reads, %+v; want a fresh read showing the printer resumed", reads, after)
	}
}

// FuzzParseLpstat: any lpstat output parses and grades without a panic,
// and what it finds is consistent (jobs name their queue, a rejecting
// printer is one lpstat -p listed).
func FuzzParseLpstat(f *testing.F) {
	for _, name := range []string{"lpstat-stuck.txt", "lpstat-idle.txt", "lpstat-disabled-en_US.txt", "lpstat-reason-unknown.txt", "lpstat-rejecting.txt"} {
		b, err := os.ReadFile("testdata/printing/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add("x not accepting requests since -\n\t\nprinter x is idle.\nx-1 a 1 b\n")
	now := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, out string) {
		st := parseLpstat(out, time.UTC)
		for _, j := range st.Jobs {
			if j.Printer == "" || !strings.HasPrefix(j.ID, j.Printer+"-") {
				t.Errorf("job %+v", j)
			}
		}
		for _, p := range st.Printer {
			if p.Name == "" {
				t.Errorf("printer without a name: %+v", p)
			}
		}
		gradePrinters(st)
		gradePrintJobs(st, now, time.Minute)
	})
}
