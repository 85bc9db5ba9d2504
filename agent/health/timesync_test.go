package health

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

func TestTimeSyncFixtures(t *testing.T) {
	tests := []struct {
		fixture string
		parse   func(string) syncState
		status  diag.Status
		fix     string
		summary string
		offset  time.Duration // the OS's own offset, when it reports one
	}{
		{"timedatectl-ntp-off.txt", parseTimedatectl, diag.StatusWarning, catalog.SyncClock, "switched off", 0},
		{"timedatectl-container.txt", parseTimedatectl, diag.StatusUnknown, "", "does not say", 0},
		{"timedatectl-waiting.txt", parseTimedatectl, diag.StatusWarning, catalog.SyncClock, "not being kept in sync", 0},
		{"chronyc-synced.txt", parseChronyc, diag.StatusOK, "", "keeps the clock in sync", 12345 * time.Nanosecond},
		{"chronyc-unsynced.txt", parseChronyc, diag.StatusWarning, catalog.SyncClock, "not being kept in sync", 0},
		{"w32tm-synced.txt", parseW32tm, diag.StatusOK, "", "keeps the clock in sync", 0},
		{"w32tm-cmos.txt", parseW32tm, diag.StatusWarning, catalog.SyncClock, "not being kept in sync", 0},
		{"sntp-synced.txt", parseSntp, diag.StatusOK, "", "keeps the clock in sync", 3401 * time.Microsecond},
		{"sntp-skewed.txt", parseSntp, diag.StatusWarning, catalog.SyncClock, "not being kept in sync", -412781200 * time.Microsecond},
		{"sntp-timeout.txt", parseSntp, diag.StatusUnknown, "", "does not say", 0},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			b, err := os.ReadFile("testdata/timesync/" + tt.fixture)
			if err != nil {
				t.Fatal(err)
			}
			st := tt.parse(string(b))
			got := gradeTimeSync(st)
			if got.Status != tt.status || got.Fix != tt.fix || !strings.Contains(got.Summary, tt.summary) {
				t.Errorf("got %s %q %q (%+v)", got.Status, got.Fix, got.Summary, st)
			}
			if st.Offset.Round(time.Microsecond) != tt.offset.Round(time.Microsecond) {
				t.Errorf("offset %s, want %s", st.Offset, tt.offset)
			}
		})
	}
}

// TestClockSkewUsesBoth: clock-skew grades the hub's offset and shows the
// OS's own view beside it; with no hub time, a far-off clock the OS
// measured itself still fails.
func TestClockSkewUsesBoth(t *testing.T) {
	c := defaults(t)
	synced := &syncState{Source: "chronyc tracking", Known: true, Synced: true}
	got := gradeClockBoth(c, 10*time.Minute, synced)
	if got.Status != diag.StatusFailing || got.Fix != catalog.SyncClock || !strings.Contains(got.Summary, "time source may be wrong") ||
		!hasEvidence(got, "system time sync", "in sync (chronyc tracking)") || !hasEvidence(got, "offset", "10m0s behind the hub") {
		t.Errorf("skewed but synced: %+v", got)
	}
	off := &syncState{Source: "timedatectl", Known: true, ServiceOff: true}
	if got := gradeClockBoth(c, time.Second, off); got.Status != diag.StatusOK || !hasEvidence(got, "system time sync", "automatic time setting is off") {
		t.Errorf("in step, service off: %+v", got)
	}
	far := &syncState{Source: "sntp", Known: true, Offset: -7 * time.Minute, OffsetKnown: true}
	if got := gradeClockWithout(far); got.Status != diag.StatusFailing || got.Fix != catalog.SyncClock {
		t.Errorf("no hub, OS measured 7 min: %+v", got)
	}
	if got := gradeClockWithout(nil); got.Status != diag.StatusUnknown {
		t.Errorf("nothing known: %+v", got)
	}
	if got := gradeTimeSync(kernelSync(0x2001, 80000)); got.Status != diag.StatusOK || !hasEvidence(got, "kernel", "synchronised, maximum error 80ms") {
		t.Errorf("kernel in sync: %+v", got)
	}
	if got := gradeTimeSync(kernelSync(0x0041, 16000000)); got.Status != diag.StatusWarning {
		t.Errorf("kernel unsynced: %+v", got)
	}
}

// TestTimeSyncInAContainer: a container's clock is its host's. The check
// says so, and offers no sync-clock (which cannot run there), whether the
// container may read the kernel's state (docker) or not (systemd-nspawn's
// seccomp filter refuses adjtimex; seen in hub/e2e/machine
// TestTimeSyncInContainer).
func TestTimeSyncInAContainer(t *testing.T) {
	got := gradeTimeSync(syncState{Source: "adjtimex", Container: "systemd-nspawn"})
	if got.Status != diag.StatusUnknown || got.Fix != "" || !strings.Contains(got.Summary, "This computer is a container (systemd-nspawn): its clock is its host's") {
		t.Errorf("adjtimex refused: %+v", got)
	}
	got = gradeTimeSync(syncState{Source: "adjtimex", Known: true, Container: "docker"})
	if got.Status != diag.StatusWarning || got.Fix != "" || !strings.Contains(got.Summary, "the host does not keep it in sync") {
		t.Errorf("host unsynchronised: %+v", got)
	}
	got = gradeTimeSync(syncState{Source: "adjtimex", Known: true, Synced: true, Container: "docker"})
	if got.Status != diag.StatusOK {
		t.Errorf("host synchronised: %+v", got)
	}
}

// TestTimedatectlInAContainerWithTimesyncd: `timedatectl show` recorded
// on the test machine (TestTimesyncdAsksNTPInContainer) while its
// systemd-timesyncd, let run in the container, had its NTP server's
// answer: timedated reads the kernel's flag, which a container may not,
// and says not synchronised. Read as it stands that would blame the
// computer for its host's clock, which is why a container's time-sync
// never asks timedatectl and stays unknown.
func TestTimedatectlInAContainerWithTimesyncd(t *testing.T) {
	b, err := os.ReadFile("testdata/timesync/timedatectl-container-timesyncd.txt")
	if err != nil {
		t.Fatal(err)
	}
	st := parseTimedatectl(string(b))
	if !st.Known || st.Synced || st.ServiceOff {
		t.Fatalf("parse: %+v; want known, not synchronised, the service on", st)
	}
	got := gradeTimeSync(syncState{Source: "adjtimex", Container: "systemd-nspawn"})
	if got.Status != diag.StatusUnknown || got.Fix != "" {
		t.Fatalf("container: %+v; want unknown, no fix", got)
	}
}
