package wire

import (
	"strings"
	"testing"

	"github.com/tierline/tierline/shared/diag"
)

func TestRunAndHelpValidation(t *testing.T) {
	for _, tt := range []struct {
		name string
		body Body
		want string // "" = valid
	}{
		{"run ok", RunRequest{RunID: "r-1", Fix: "flush-dns", Tier: 1}, ""},
		{"run id with a slash", RunRequest{RunID: "../x", Fix: "flush-dns"}, "run_id"},
		{"fix with a space", RunRequest{RunID: "r", Fix: "flush dns"}, "kebab-case"},
		{"tier out of range", RunRequest{RunID: "r", Fix: "flush-dns", Tier: 9}, "tier"},
		{"huge param", RunRequest{RunID: "r", Fix: "flush-dns", Params: map[string]string{"a": strings.Repeat("x", 2000)}}, "longer"},
		{"result ok", RunResult{RunID: "r", Outcome: OutcomeFixed}, ""},
		{"result unknown outcome", RunResult{RunID: "r", Outcome: "maybe"}, "outcome"},
		{"result huge bundle", RunResult{RunID: "r", Outcome: OutcomeSucceeded, Bundle: make([]byte, MaxBundleSize+1)}, "bundle"},
		{"help ok", HelpRequest{RequestID: "q1", Text: "printer jammed", Category: "printing"}, ""},
		{"help empty text", HelpRequest{RequestID: "q1"}, "text"},
		{"help bad category", HelpRequest{RequestID: "q1", Text: "x", Category: "<script>"}, "category"},
		{"help with crashes", HelpRequest{RequestID: "q1", Text: "x", Snapshot: Snapshot{Crashes: []diag.AppCrashes{{App: "OUTLOOK.EXE", Crashes: 4}}}}, ""},
		{"help too many crashes", HelpRequest{RequestID: "q1", Text: "x", Snapshot: Snapshot{Crashes: make([]diag.AppCrashes, MaxSnapshotCrashes+1)}}, "crashed applications"},
		{"help long crash name", HelpRequest{RequestID: "q1", Text: "x", Snapshot: Snapshot{Crashes: []diag.AppCrashes{{App: strings.Repeat("x", MaxCrashText+1)}}}}, "crash app"},
		{"survey score", SurveyAnswer{TicketID: "t", Score: 6}, "score"},
		{"reply empty", UserReply{TicketID: "t"}, "text"},
		{"session id", HelpSession{SessionID: ""}, "session_id"},
		{"kb limit", KBQuery{QueryID: "k", Limit: 500}, "too large"},
	} {
		err := tt.body.Validate()
		if tt.want == "" && err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
		if tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: %v, want an error about %q", tt.name, err, tt.want)
		}
	}
}

func TestRunProgressValidate(t *testing.T) {
	for _, tc := range []struct {
		p  RunProgress
		ok bool
	}{
		{RunProgress{RunID: "r1", Percent: 40, Text: "Unpacking hello"}, true},
		{RunProgress{RunID: "r1", Percent: NoPercent, Text: "Downloading…"}, true},
		{RunProgress{RunID: "", Percent: 1}, false},
		{RunProgress{RunID: "r1", Percent: 101}, false},
		{RunProgress{RunID: "r1", Percent: -2}, false},
		{RunProgress{RunID: "r1", Text: "a\nb"}, false},
		{RunProgress{RunID: "r1", Text: "\x1b[31mred"}, false},
		{RunProgress{RunID: "r1", Text: strings.Repeat("x", MaxProgressText+1)}, false},
	} {
		if err := tc.p.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: Validate() = %v, want ok=%v", tc.p, err, tc.ok)
		}
	}
	for _, s := range []string{"a\nb\x00c", "\xff\xfeok", strings.Repeat("é", 300), "  tabs\t\tand  spaces "} {
		p := RunProgress{RunID: "r1", Percent: 1, Text: ProgressText(s)}
		if err := p.Validate(); err != nil {
			t.Errorf("ProgressText(%q) = %q does not validate: %v", s, p.Text, err)
		}
	}
	if got := ProgressText("  tabs\t\tand  spaces "); got != "tabs and spaces" {
		t.Errorf("ProgressText = %q", got)
	}
}
