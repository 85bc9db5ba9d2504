//go:build linux

package machine

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// journalBytes is the disk space journald's files take in the machine
// (persistent and volatile), as du counts it.
func (p *pc) journalBytes() int64 {
	p.t.Helper()
	out, _ := p.try("du", "-s", "-B1", "--", "/var/log/journal", "/run/log/journal")
	var n int64
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			v, err := strconv.ParseInt(f[0], 10, 64)
			if err == nil {
				n += v
			}
		}
	}
	return n
}

// TestVacuumJournalsOnSystemd: the journal of a real systemd machine is
// filled (a service logging 22 MiB of text with rate limiting off) and an old
// rotated log sits in /var/log beside its live log. vacuum-journals,
// asked through the hub's API with a 16 MiB bound, shrinks the journal
// below what it was and near the bound, deletes the rotated log and
// keeps the live one, says in plain words how much it freed, and is
// verified by disk-almost-full before and after.
func TestVacuumJournalsOnSystemd(t *testing.T) {
	p := newPC(t, pcOptions{Env: agentEnv()})
	vacuum, _ := catalog.Get(catalog.VacuumJournals)
	if f := p.offered(catalog.VacuumJournals); !f.Allowed || f.Tier != vacuum.Tier {
		t.Fatalf("vacuum-journals for the device: %+v; want allowed at tier %d", f, vacuum.Tier)
	}

	// 16 MiB of random bytes as 85,000 lines of base64 through journald.
	// Its rate limit is switched off for the machine (the per-unit
	// LogRateLimitIntervalSec= needs cgroup xattrs the container lacks).
	p.write("/etc/systemd/journald.conf.d/tierline-test.conf", "[Journal]\nRateLimitIntervalSec=0\nRateLimitBurst=0\n", 0o644)
	p.exec("systemctl", "restart", "systemd-journald")
	p.exec("systemd-run", "--wait", "--quiet", "--unit=tierline-test-filler",
		"sh", "-c", "head -c 16777216 /dev/urandom | base64 -w 200")
	var filled int64
	eventually(t, "the journal holding the filler's output (over 40 MiB)", 2*time.Minute, func() bool {
		filled = p.journalBytes()
		return filled > 40<<20
	})
	t.Logf("journal after filling: %d bytes", filled)

	// A live log and its rotated copy, both a month old.
	p.write("/var/log/tierline-test.log", "live\n", 0o640)
	p.write("/var/log/tierline-test.log.1", strings.Repeat("old line\n", 4096), 0o640)
	p.exec("touch", "-d", "30 days ago", "/var/log/tierline-test.log", "/var/log/tierline-test.log.1")

	r := p.run(catalog.VacuumJournals, map[string]string{"max_mib": "16", "days": "7"})
	if r.Outcome != wire.OutcomeSucceeded && r.Outcome != wire.OutcomeFixed {
		t.Fatalf("vacuum-journals: %s %q", r.Outcome, r.Reason)
	}
	if !strings.Contains(r.Reason, "Trimmed the system logs, freeing ") || !strings.Contains(r.Reason, "the journal went from") ||
		!strings.Contains(r.Reason, "1 old log file was deleted") {
		t.Fatalf("vacuum-journals reason %q does not say in plain words what it freed", r.Reason)
	}
	if status(r.Result.Before, "disk-almost-full") == "" || status(r.Result.After, "disk-almost-full") == "" {
		t.Fatalf("vacuum-journals not verified by disk-almost-full: before %+v after %+v", r.Result.Before, r.Result.After)
	}
	if status(r.Result.After, "disk-almost-full") == diag.StatusUnknown {
		t.Fatalf("disk-almost-full after vacuum-journals is unknown: %+v", r.Result.After)
	}
	after := p.journalBytes()
	t.Logf("journal: %d bytes before, %d after", filled, after)
	// The bound is on the archived files; journald starts fresh live files
	// (8 MiB each at most here) beside them.
	if after >= filled || after > 32<<20 {
		t.Fatalf("journal %d bytes after vacuum-journals (was %d); want below it and near the 16 MiB bound", after, filled)
	}
	if _, err := p.try("test", "-e", "/var/log/tierline-test.log.1"); err == nil {
		t.Fatal("the month-old rotated log /var/log/tierline-test.log.1 is still there")
	}
	if _, err := p.try("test", "-e", "/var/log/tierline-test.log"); err != nil {
		t.Fatal("the live log /var/log/tierline-test.log was deleted")
	}
	// The journal still works: a line logged now is read back.
	p.exec("systemd-cat", "-t", "tierline-test", "echo", "after the vacuum")
	eventually(t, "a line logged after the vacuum in the journal", 30*time.Second, func() bool {
		out, _ := p.try("journalctl", "--no-pager", "-t", "tierline-test")
		return strings.Contains(out, "after the vacuum")
	})
}
