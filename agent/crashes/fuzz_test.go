package crashes

import (
	"testing"
	"time"
)

func FuzzKmsg(f *testing.F) {
	f.Add([]byte("6,391,2752150229,-;segv_crash[22307]: segfault at 0 ip 0 sp 0 error 6\n"))
	f.Add([]byte("3,396,2830000000,-;INFO: task rsync:3400 blocked for more than 120 seconds.\n"))
	f.Add([]byte("6,397,2840000000,-;my app[3500]: potentially unexpected fatal signal 99999999999999999999.\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, ok := parseKmsgRecord(b); ok {
			kmsgEvent(r, time.Unix(0, 0))
		}
	})
}

func FuzzJournal(f *testing.F) {
	f.Add(fixture(f, "journal-coredump.json"))
	f.Add([]byte(`{"COREDUMP_COMM":[1,2],"COREDUMP_TIMESTAMP":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) { parseJournal(b) })
}

func FuzzCoreName(f *testing.F) {
	f.Add("core.Web\\x20Content.1000.0f6b2c1d8e7a4b3c9d5e6f7a8b9c0d1e.4250.1796461960000000.lz4")
	f.Add(`core.a\x2.0.0f6b2c1d8e7a4b3c9d5e6f7a8b9c0d1e.1.1`)
	f.Fuzz(func(t *testing.T, s string) { parseCoreName(s) })
}

func FuzzWER(f *testing.F) {
	f.Add(fixture(f, "wevtutil-application.xml"))
	f.Add([]byte(`<Event><System><EventID>1002</EventID><TimeCreated SystemTime='2026-12-05T11:05:10Z'/></System><EventData><Data>x</Data></EventData></Event>`))
	f.Fuzz(func(t *testing.T, b []byte) { parseWER(b) })
}

func FuzzReport(f *testing.F) {
	for _, n := range []string{"outlook.ips", "excel.crash", "teams.hang", "kernel-panic.ips"} {
		f.Add(n, fixture(f, n))
	}
	f.Fuzz(func(t *testing.T, name string, b []byte) { parseReport(name, b) })
}
