package health

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/shared/diag"
)

func crashFixture(t *testing.T, name string) []diag.AppCrashes {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var apps []diag.AppCrashes
	if err := json.Unmarshal(b, &apps); err != nil {
		t.Fatal(err)
	}
	return apps
}

func TestGradeCrashes(t *testing.T) {
	last := time.Date(2026, 12, 5, 10, 41, 0, 0, time.UTC)
	app := func(name string, crashes, hangs int) diag.AppCrashes {
		return diag.AppCrashes{App: name, Crashes: crashes, Hangs: hangs, Today: crashes + hangs, Last: last, LastKind: "crash", Reason: "SIGSEGV"}
	}
	outlook := crashFixture(t, "crashes-outlook.json")
	tests := []struct {
		name    string
		apps    []diag.AppCrashes
		status  diag.Status
		summary string
		in      []string // in the evidence
	}{
		{"none", nil, diag.StatusOK, "No application crashed in the last 24 hours.", nil},
		{"once", []diag.AppCrashes{app("gedit", 1, 0)}, diag.StatusOK, "No application crashed repeatedly in the last 24 hours.",
			[]string{"gedit", "1 crash in 24 h (1 today); last 2026-12-05 10:41 UTC crash, SIGSEGV"}},
		{"outlook recorded", outlook, diag.StatusWarning, "Outlook crashed or stopped responding 4 times today.",
			[]string{"OUTLOOK.EXE", "3 crashes, 1 hang in 24 h (4 today)", "0xc0000005; version 16.0.17029.20108; from wer", "EXCEL.EXE"}},
		{"failing", []diag.AppCrashes{app("soffice.bin", 6, 0), app("evince", 3, 0), app("calc", 4, 0)}, diag.StatusFailing,
			"soffice.bin crashed 6 times today. 2 other applications crash repeatedly too.", []string{"soffice.bin", "6 crashes"}},
		{"hangs only", []diag.AppCrashes{app("Microsoft Teams", 0, 3)}, diag.StatusWarning,
			"Microsoft Teams stopped responding 3 times today.", []string{"3 hangs"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := gradeCrashes(tc.apps, CrashWarnCount, CrashFailCount)
			if r.Status != tc.status || r.Summary != tc.summary {
				t.Fatalf("got %s %q, want %s %q", r.Status, r.Summary, tc.status, tc.summary)
			}
			text := evidenceText(r)
			for _, w := range tc.in {
				if !strings.Contains(text, w) {
					t.Errorf("evidence lacks %q:\n%s", w, text)
				}
			}
		})
	}
	var many []diag.AppCrashes
	for i := range 9 {
		many = append(many, app(strings.Repeat("a", i+1), 1, 0))
	}
	if r := gradeCrashes(many, CrashWarnCount, CrashFailCount); len(r.Evidence) != maxCrashEvidence+1 ||
		!strings.Contains(evidenceText(r), "4 other applications") {
		t.Fatalf("evidence is not bounded: %+v", r.Evidence)
	}
}

func evidenceText(r diag.CheckResult) string {
	var b strings.Builder
	for _, e := range r.Evidence {
		b.WriteString(e.Label + ": " + e.Value + "\n")
	}
	return b.String()
}

type fakeCrashRecord struct {
	apps    []diag.AppCrashes
	sources []string
	errs    map[string]string
}

func (f fakeCrashRecord) Recent(context.Context) []diag.AppCrashes { return f.apps }
func (f fakeCrashRecord) Sources() []string                        { return f.sources }
func (f fakeCrashRecord) Errors() map[string]string                { return f.errs }

func TestCheckCrashesSources(t *testing.T) {
	ctx := context.Background()
	if r := checkCrashes(ctx, Env{}); r.Status != diag.StatusUnknown {
		t.Fatalf("no record: %s", r.Status)
	}
	if r := checkCrashes(ctx, Env{Crashes: fakeCrashRecord{}}); r.Status != diag.StatusUnknown || !strings.Contains(r.Summary, "no record") {
		t.Fatalf("no readable record: %+v", r)
	}
	broken := fakeCrashRecord{sources: []string{"wer"}, errs: map[string]string{"wer": "wevtutil timed out after 10s and was killed"}}
	if r := checkCrashes(ctx, Env{Crashes: broken}); r.Status != diag.StatusUnknown || !strings.Contains(evidenceText(r), "wer unreadable: wevtutil timed out") {
		t.Fatalf("unreadable record: %+v", r)
	}
	rec := fakeCrashRecord{sources: []string{"kernel-log", "coredump"}, apps: crashFixture(t, "crashes-outlook.json")}
	r := checkCrashes(ctx, Env{Crashes: rec})
	if r.Status != diag.StatusWarning || !strings.Contains(evidenceText(r), "read: kernel-log, coredump") {
		t.Fatalf("check: %+v", r)
	}
}
