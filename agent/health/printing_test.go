package health

import (
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
			map[string]string{"lab": "stopped: Paused", "hp": "2 job(s) waiting, oldest hp-41 queued 1h45m0s ago by alice"}},
		{"lpstat-idle.txt", diag.StatusOK, diag.StatusOK, "", "", "Every printer is ready.", "No print jobs are waiting.",
			map[string]string{"pdf": "ready"}},
		// A job queued two minutes ago is not stuck yet.
		{"lpstat-disabled-en_US.txt", diag.StatusFailing, diag.StatusOK, catalog.ResumePrinter, "",
			"The printer office is paused", "Print jobs are moving.",
			map[string]string{"office": "stopped: Out of paper"}},
		{"lpstat-reason-unknown.txt", diag.StatusFailing, diag.StatusOK, catalog.ResumePrinter, "", "office", "No print jobs",
			map[string]string{"office": "stopped: no reason given"}},
		{"windows-offline.txt", diag.StatusFailing, diag.StatusFailing, catalog.RestartPrintSpooler, catalog.RestartPrintSpooler,
			"HP LaserJet 4th floor is paused or stopped", "stuck in HP LaserJet 4th floor",
			map[string]string{"Microsoft Print to PDF": "ready", "HP LaserJet 4th floor": "job status: error"}},
		{"windows-idle.txt", diag.StatusOK, diag.StatusOK, "", "", "Every printer is ready.", "No print jobs are waiting.", nil},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			st := printFixture(t, tt.fixture)
			p, j := gradePrinters(st), gradePrintJobs(st, now)
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
	if got := gradePrintJobs(moving, now); got.Status != diag.StatusFailing || got.Fix != catalog.CancelPrintJobs {
		t.Errorf("stuck on a working printer: %+v", got)
	}
	if got := gradePrinters(printState{None: true}); got.Status != diag.StatusOK {
		t.Errorf("no printers: %+v", got)
	}
	down := printState{Source: "lpstat", Down: "lpstat: Scheduler is not running."}
	if got := gradePrinters(down); got.Status != diag.StatusFailing || got.Fix != catalog.RestartPrintSpooler || !strings.Contains(got.Summary, "not running") {
		t.Errorf("spooler down: %+v", got)
	}
}
