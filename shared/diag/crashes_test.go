package diag

import "testing"

func TestAppCrashesSentence(t *testing.T) {
	for _, tc := range []struct {
		a    AppCrashes
		want string
	}{
		{AppCrashes{App: "OUTLOOK.EXE", Crashes: 4, Today: 4}, "Outlook crashed 4 times today"},
		{AppCrashes{App: "Microsoft Outlook", Crashes: 1, Today: 1}, "Microsoft Outlook crashed once today"},
		{AppCrashes{App: "soffice.bin", Crashes: 3, Today: 1}, "soffice.bin crashed 3 times in the last 24 hours"},
		{AppCrashes{App: "Teams.exe", Hangs: 2, Today: 2}, "Teams stopped responding 2 times today"},
		{AppCrashes{App: "EXCEL.EXE", Crashes: 1, Hangs: 1, Today: 2}, "Excel crashed or stopped responding 2 times today"},
		{AppCrashes{App: "7Z.EXE", Crashes: 2, Today: 2}, "7z crashed 2 times today"},
	} {
		if got := tc.a.Sentence(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.a, got, tc.want)
		}
	}
}
