package crashes

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestKmsg(t *testing.T) {
	boot := at("2026-12-05T09:00:00Z")
	var got []Event
	for _, line := range strings.Split(strings.TrimSpace(string(fixture(t, "kmsg.txt"))), "\n") {
		r, ok := parseKmsgRecord([]byte(line + "\n"))
		if !ok {
			t.Fatalf("record not parsed: %q", line)
		}
		if e, ok := kmsgEvent(r, boot); ok {
			got = append(got, e)
		}
	}
	s := func(usec int64) time.Time { return boot.Add(time.Duration(usec) * time.Microsecond) }
	want := []Event{
		{App: "segv_crash", PID: 22307, Time: s(2752150229), Kind: KindCrash, Reason: "SIGSEGV", Source: "kernel-log"},
		{App: "soffice.bin", PID: 3121, Time: s(2800000000), Kind: KindCrash, Reason: "SIGSEGV", Source: "kernel-log"},
		{App: "calc", PID: 3200, Time: s(2810000000), Kind: KindCrash, Reason: "SIGFPE", Source: "kernel-log"},
		{App: "evince", PID: 3300, Time: s(2820000000), Kind: KindCrash, Reason: "SIGSEGV", Source: "kernel-log"},
		{App: "rsync", PID: 3400, Time: s(2830000000), Kind: KindHang, Reason: "blocked in the kernel", Source: "kernel-log"},
		{App: "my app", PID: 3500, Time: s(2840000000), Kind: KindCrash, Reason: "SIGABRT", Source: "kernel-log"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("kernel log events (-want +got):\n%s", d)
	}
	if _, ok := parseKmsgRecord([]byte("no semicolon here")); ok {
		t.Fatal("a record without a header parsed")
	}
}

func TestJournal(t *testing.T) {
	got, cursor := parseJournal(fixture(t, "journal-coredump.json"))
	want := []Event{
		{App: "thunderbird", Version: "1:115.5.0-1~deb12u1", PID: 4242, Time: at("2026-12-05T09:12:32Z"), Kind: KindCrash, Reason: "SIGSEGV", Source: "coredump"},
		{App: "thunderbird", PID: 4300, Time: at("2026-12-05T09:40:00Z"), Kind: KindCrash, Reason: "SIGABRT", Source: "coredump"},
		{App: "gnome-calculat", PID: 5001, Time: at("2026-12-05T10:02:11Z"), Kind: KindCrash, Reason: "SIGILL", Source: "coredump"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("journal events (-want +got):\n%s", d)
	}
	if !strings.Contains(cursor, ";i=1a2d;") {
		t.Fatalf("cursor %q is not the last entry's", cursor)
	}
}

func TestCoreNames(t *testing.T) {
	var got []Event
	for _, n := range strings.Fields(string(fixture(t, "coredump-names.txt"))) {
		if e, ok := parseCoreName(n); ok {
			got = append(got, e)
		}
	}
	want := []Event{
		{App: "thunderbird", PID: 4242, Time: at("2026-12-05T09:12:32Z"), Kind: KindCrash, Source: "coredump"},
		{App: "Web Content", PID: 4250, Time: at("2026-12-05T09:12:40Z"), Kind: KindCrash, Source: "coredump"},
		{App: "python3.11", PID: 77, Time: at("2026-12-05T09:12:50Z"), Kind: KindCrash, Source: "coredump"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("core file names (-want +got):\n%s", d)
	}
}

func TestWER(t *testing.T) {
	got, maxID := parseWER(fixture(t, "wevtutil-application.xml"))
	want := []Event{
		{App: "OUTLOOK.EXE", Version: "16.0.17029.20108", PID: 0x2f10, Time: at("2026-12-05T11:05:10.4410231Z"), Kind: KindHang, Source: "wer"},
		{App: "OUTLOOK.EXE", Version: "16.0.17029.20108", PID: 0x2be4, Time: at("2026-12-05T10:41:00.9876543Z"), Kind: KindCrash, Reason: "0xc0000005", Source: "wer"},
		{App: "EXCEL.EXE", Version: "14.0.7113.5000", PID: 0x1a2c, Time: at("2026-12-05T08:03:19Z"), Kind: KindCrash, Reason: "0xc0000374", Source: "wer"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("WER events (-want +got):\n%s", d)
	}
	if maxID != 48230 {
		t.Fatalf("cursor = %d, want 48230", maxID)
	}
	if q := werQuery(48230); !strings.Contains(q, "EventRecordID > 48230") || !strings.Contains(q, "EventID=1002") {
		t.Fatalf("query after the cursor: %s", q)
	}
	if q := werQuery(0); !strings.Contains(q, "timediff(@SystemTime) <= 86400000") {
		t.Fatalf("first query is not bounded to a day: %s", q)
	}
}

func TestReports(t *testing.T) {
	for _, tc := range []struct {
		file string
		want Event
		ok   bool
	}{
		{"outlook.ips", Event{App: "Microsoft Outlook", Version: "16.80", PID: 2217, Time: at("2026-12-05T09:12:33Z"), Kind: KindCrash,
			Reason: "EXC_BAD_ACCESS (SIGSEGV)", Source: "diagnostic-reports"}, true},
		{"excel.crash", Event{App: "Microsoft Excel", Version: "16.79", PID: 3012, Time: at("2026-12-05T07:30:00.512Z"), Kind: KindCrash,
			Reason: "EXC_CRASH (SIGABRT)", Source: "diagnostic-reports"}, true},
		{"teams.hang", Event{App: "Microsoft Teams", Version: "24335.206.3315", PID: 4410, Time: at("2026-12-05T08:55:41Z"), Kind: KindHang,
			Source: "diagnostic-reports"}, true},
		{"kernel-panic.ips", Event{}, false},
	} {
		got, ok := parseReport(tc.file, fixture(t, tc.file))
		if ok != tc.ok {
			t.Fatalf("%s: ok = %v", tc.file, ok)
		}
		if d := cmp.Diff(tc.want, got); ok && d != "" {
			t.Fatalf("%s (-want +got):\n%s", tc.file, d)
		}
	}
	// The head is bounded: an exception past MaxReportHead is not read.
	big := append(bytes.Clone(fixture(t, "outlook.ips")), bytes.Repeat([]byte(" "), 2*MaxReportHead)...)
	if _, ok := parseReport("big.ips", big); !ok {
		t.Fatal("a long report was not read")
	}
}
