package health

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tierline/tierline/shared/diag"
)

// Thresholds of app-crashing, per application: crashes plus hangs in the
// last 24 hours that warn, and that fail.
const (
	CrashWarnCount = 3
	CrashFailCount = 6
)

// maxCrashEvidence bounds the applications a result names.
const maxCrashEvidence = 5

// CrashRecord is what app-crashing needs of the agent's crash record
// (agent/crashes.Tracker).
type CrashRecord interface {
	// Recent returns the applications that crashed or hung in the last
	// 24 hours, most events first, reading new records first.
	Recent(ctx context.Context) []diag.AppCrashes
	// Sources names the records read; Errors the ones that failed.
	Sources() []string
	Errors() map[string]string
}

func checkCrashes(ctx context.Context, env Env) diag.CheckResult {
	if env.Crashes == nil {
		return unknown("Application crashes are not read on this machine.")
	}
	apps := env.Crashes.Recent(ctx)
	sources, errs := env.Crashes.Sources(), env.Crashes.Errors()
	if len(sources) == 0 {
		return unknown("This machine keeps no record of application crashes the agent can read.")
	}
	if len(apps) == 0 && len(errs) == len(sources) {
		return unknown("The records of application crashes could not be read.", errEvidence(errs)...)
	}
	res := gradeCrashes(apps, CrashWarnCount, CrashFailCount)
	res.Evidence = append(res.Evidence, ev("read", "%s", strings.Join(sources, ", ")))
	res.Evidence = append(res.Evidence, errEvidence(errs)...)
	return res
}

func errEvidence(errs map[string]string) []diag.Evidence {
	var out []diag.Evidence
	for name, e := range errs {
		out = append(out, ev(name+" unreadable", "%s", e))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Label < out[j].Label })
	return out
}

// gradeCrashes grades the applications' crashes and hangs of the last 24
// hours: an application at warn events warns, at fail fails. Evidence
// names the applications with their counts, newest crash reason and
// version, most events first.
func gradeCrashes(apps []diag.AppCrashes, warn, fail int) diag.CheckResult {
	st := diag.StatusOK
	var repeated []diag.AppCrashes
	for _, a := range apps {
		s := grade(float64(a.Events()), float64(warn), float64(fail))
		if s != diag.StatusOK {
			repeated = append(repeated, a)
		}
		st = worse(st, s)
	}
	var evidence []diag.Evidence
	for i, a := range apps {
		if i == maxCrashEvidence {
			evidence = append(evidence, ev("more", "%d other applications", len(apps)-i))
			break
		}
		evidence = append(evidence, ev(a.App, "%s", describeCrashes(a)))
	}
	if len(repeated) == 0 {
		if len(apps) == 0 {
			return ok("No application crashed in the last 24 hours.", evidence...)
		}
		return ok("No application crashed repeatedly in the last 24 hours.", evidence...)
	}
	summary := repeated[0].Sentence() + "."
	if n := len(repeated) - 1; n == 1 {
		summary += " One other application crashes repeatedly too."
	} else if n > 1 {
		summary += fmt.Sprintf(" %d other applications crash repeatedly too.", n)
	}
	return result(st, "", summary, evidence...)
}

// describeCrashes is one application's evidence: "4 crashes, 1 hang in
// 24 h (5 today); last 2026-12-05 10:41 UTC crash 0xc0000005; version 16.0".
func describeCrashes(a diag.AppCrashes) string {
	var parts []string
	if a.Crashes > 0 {
		parts = append(parts, plural(a.Crashes, "crash", "crashes"))
	}
	if a.Hangs > 0 {
		parts = append(parts, plural(a.Hangs, "hang", "hangs"))
	}
	s := fmt.Sprintf("%s in 24 h (%d today); last %s %s", strings.Join(parts, ", "), a.Today,
		a.Last.UTC().Format(time.DateOnly+" 15:04 UTC"), a.LastKind)
	if a.Reason != "" {
		s += ", " + a.Reason
	}
	if a.Version != "" {
		s += "; version " + a.Version
	}
	if a.Source != "" {
		s += "; from " + a.Source
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
