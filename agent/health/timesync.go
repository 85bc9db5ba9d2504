package health

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

// time-sync reports whether the operating system keeps the clock in step
// with a time source, as the OS itself says: the kernel's NTP state
// (adjtimex, no process) on Linux, with timedatectl or chronyc asked why
// only when it is not in step; w32tm on Windows; sntp against the
// configured server on macOS (timesync_*.go). clock-skew uses it beside
// the offset to the hub.

// syncState is the OS's own view of its clock.
type syncState struct {
	Source  string // the tool or interface that said so
	Synced  bool
	Known   bool // false: the OS would not say
	Details []diag.Evidence
	// Offset is the OS's own measured offset from its time source, where
	// it reports one.
	Offset      time.Duration
	OffsetKnown bool
	// ServiceOff: the time service is switched off (timedatectl NTP=no).
	ServiceOff bool
	// Container names the container manager (/run/systemd/container)
	// when this computer is a container: its clock and the kernel's sync
	// state are its host's, and a time service inside it does nothing.
	Container string
}

func checkTimeSync(ctx context.Context, sr *syncReader) diag.CheckResult {
	st, err := sr.get(ctx)
	if errors.Is(err, errors.ErrUnsupported) {
		return unknown("The time-sync check is not implemented on this system.")
	}
	if err != nil {
		return unknown("Could not read the clock's sync state.", ev("error", "%v", err))
	}
	return gradeTimeSync(st)
}

// gradeTimeSync is the pure part of time-sync.
func gradeTimeSync(st syncState) diag.CheckResult {
	evidence := append([]diag.Evidence{ev("source", "%s", st.Source)}, st.Details...)
	switch {
	case st.Container != "" && !st.Known:
		return unknown("This computer is a container ("+st.Container+"): its clock is its host's, and only the host can say whether it is kept in sync.", evidence...)
	case st.Container != "" && !st.Synced:
		return result(diag.StatusWarning, "", "This computer is a container ("+st.Container+"): its clock is its host's, and the host does not keep it in sync with a time server.", evidence...)
	case !st.Known:
		return unknown("The system does not say whether its clock is in sync.", evidence...)
	case st.ServiceOff:
		return result(diag.StatusWarning, catalog.SyncClock, "Automatic time setting is switched off: the clock will drift.", evidence...)
	case !st.Synced:
		return result(diag.StatusWarning, catalog.SyncClock, "The clock is not being kept in sync with a time server.", evidence...)
	}
	return ok("The system keeps the clock in sync.", evidence...)
}

func checkClock(ctx context.Context, c *Config, env Env, sr *syncReader) diag.CheckResult {
	var sync *syncState
	if sr != nil {
		if st, err := sr.get(ctx); err == nil {
			sync = &st
		}
	}
	if env.HubOffset == nil {
		return gradeClockWithout(sync)
	}
	off, known := env.HubOffset()
	if !known {
		return gradeClockWithout(sync)
	}
	return gradeClockBoth(c, off, sync)
}

// gradeClockWithout grades clock-skew before any hub time is known: only
// what the OS says about itself.
func gradeClockWithout(sync *syncState) diag.CheckResult {
	if sync == nil || !sync.Known {
		return unknown("No hub time to compare with yet.")
	}
	e := syncEvidence(sync)
	if sync.OffsetKnown {
		abs := sync.Offset.Abs()
		if abs >= 5*time.Minute {
			return result(diag.StatusFailing, catalog.SyncClock, "The clock is far off; sign-ins and certificates may fail.", e...)
		}
	}
	return unknown("No hub time to compare with yet.", e...)
}

// gradeClockBoth is clock-skew with the hub's offset, and the OS's own
// view as evidence (and as the reason when they disagree).
func gradeClockBoth(c *Config, off time.Duration, sync *syncState) diag.CheckResult {
	res := gradeClock(c, off)
	if sync == nil || !sync.Known {
		return res
	}
	res.Evidence = append(res.Evidence, syncEvidence(sync)...)
	if res.Status != diag.StatusOK && sync.Synced {
		res.Summary += " The system believes its clock is in sync, so its time source may be wrong."
	}
	return res
}

func syncEvidence(s *syncState) []diag.Evidence {
	state := "in sync"
	switch {
	case s.ServiceOff:
		state = "not in sync: automatic time setting is off"
	case !s.Synced:
		state = "not in sync"
	}
	if s.OffsetKnown {
		state += fmt.Sprintf(", %s from its time source", s.Offset.Round(time.Millisecond))
	}
	return []diag.Evidence{ev("system time sync", "%s (%s)", state, s.Source)}
}

// parseTimedatectl parses `timedatectl show` (NTP=, NTPSynchronized=).
func parseTimedatectl(out string) syncState {
	st := syncState{Source: "timedatectl"}
	cannot := false
	for _, line := range strings.Split(out, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
		switch k {
		case "CanNTP":
			if v == "no" {
				cannot = true
				st.Details = append(st.Details, ev("time service", "none that timedatectl can manage (CanNTP=no)"))
			}
		case "NTP":
			st.ServiceOff = v == "no"
			st.Details = append(st.Details, ev("automatic time (NTP)", "%s", v))
		case "NTPSynchronized":
			st.Known, st.Synced = true, v == "yes"
			st.Details = append(st.Details, ev("synchronised", "%s", v))
		}
	}
	if cannot {
		// No time service systemd can manage here (a container, or none
		// installed): not this check's to judge.
		st.Known, st.ServiceOff = false, false
	}
	return st
}

// parseChronyc parses `chronyc tracking`.
func parseChronyc(out string) syncState {
	st := syncState{Source: "chronyc tracking"}
	for _, p := range keyValues(out) {
		k, v := p[0], p[1]
		switch k {
		case "Reference ID":
			st.Details = append(st.Details, ev("time source", "%s", v))
		case "Leap status":
			st.Known, st.Synced = true, v == "Normal" || strings.HasPrefix(v, "Insert") || strings.HasPrefix(v, "Delete")
			st.Details = append(st.Details, ev("leap status", "%s", v))
		case "System time":
			// "0.000012345 seconds slow of NTP time"
			f := strings.Fields(v)
			if len(f) >= 3 {
				if secs, err := strconv.ParseFloat(f[0], 64); err == nil && !math.IsNaN(secs) && math.Abs(secs) < 1e9 {
					d := time.Duration(secs * float64(time.Second))
					if f[2] == "fast" {
						d = -d // our clock ahead: the source is behind us
					}
					st.Offset, st.OffsetKnown = d, true
				}
			}
		}
	}
	return st
}

// parseW32tm parses `w32tm /query /status` (English output).
func parseW32tm(out string) syncState {
	st := syncState{Source: "w32tm /query /status"}
	for _, p := range keyValues(out) {
		k, v := p[0], p[1]
		switch k {
		case "Leap Indicator":
			st.Known, st.Synced = true, !strings.HasPrefix(v, "3")
			st.Details = append(st.Details, ev("leap indicator", "%s", v))
		case "Source":
			st.Details = append(st.Details, ev("time source", "%s", v))
			if strings.EqualFold(v, "Local CMOS Clock") || strings.EqualFold(v, "Free-running System Clock") {
				st.Synced = false
			}
		case "Last Successful Sync Time":
			st.Details = append(st.Details, ev("last sync", "%s", v))
		}
	}
	return st
}

// parseSntp parses `sntp SERVER`: "+0.012345 +/- 0.001234 server address".
func parseSntp(out string) syncState {
	st := syncState{Source: "sntp"}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[1] == "+/-" {
			secs, err := strconv.ParseFloat(f[0], 64)
			if err != nil || math.IsNaN(secs) || math.Abs(secs) > 1e9 {
				continue
			}
			// sntp prints the correction to apply: the source minus us.
			st.Offset, st.OffsetKnown = time.Duration(secs*float64(time.Second)), true
			st.Known = true
			st.Synced = math.Abs(secs) < 1
			if len(f) >= 4 {
				st.Details = append(st.Details, ev("time source", "%s", strings.Join(f[3:], " ")))
			}
			return st
		}
	}
	if s := strings.TrimSpace(out); s != "" {
		st.Details = append(st.Details, ev("sntp", "%s", firstLineOf(s)))
	}
	return st
}

func firstLineOf(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}

// staUnsync is STA_UNSYNC in the kernel's NTP status: set until a time
// service disciplines the clock, and again when its error grows past 16 s.
const staUnsync = 0x0040

// kernelSync grades the kernel's NTP status bits and maximum error (µs).
func kernelSync(status int32, maxErrUS int64) syncState {
	st := syncState{Source: "kernel clock discipline (adjtimex)", Known: true, Synced: status&staUnsync == 0}
	state := "synchronised"
	if !st.Synced {
		state = "not synchronised"
	}
	st.Details = []diag.Evidence{ev("kernel", "%s, maximum error %s", state, (time.Duration(maxErrUS) * time.Microsecond).Round(time.Millisecond))}
	return st
}
