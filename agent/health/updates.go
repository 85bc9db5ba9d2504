package health

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tierline/tierline/shared/diag"
)

// checkUpdates grades the OS update status the last inventory read (the
// package manager runs at the inventory interval, never per check).
func checkUpdates(_ context.Context, c *Config, env Env) diag.CheckResult {
	if env.Updates == nil {
		return unknown("The state of OS updates is not known here.")
	}
	st, ok := env.Updates()
	if !ok || st == nil {
		return unknown("The state of OS updates has not been read yet.", ev("read", "with the inventory, at start and then hourly"))
	}
	return GradeUpdates(c, *st, env.Now())
}

// GradeUpdates grades an update status: security updates that have waited
// longer than c.SecurityUpdateMaxAge warn, twice as long fail. Pending
// updates that are not security ones, or whose age is not known, do not
// raise the check; the evidence still lists them. There is no catalog
// fix: installing updates is left to the OS's own tools and to IT.
func GradeUpdates(c *Config, st diag.UpdateStatus, now time.Time) diag.CheckResult {
	e := []diag.Evidence{
		ev("pending", "%s (%d security) from %s", plural(st.Pending, "update", "updates"), st.Security, st.Manager),
	}
	if !st.OldestSecurity.IsZero() && st.Security > 0 {
		e = append(e, ev("oldest security update", "waiting since %s (%s)", st.OldestSecurity.UTC().Format(time.DateOnly), waitedText(now.Sub(st.OldestSecurity))))
	}
	if st.LastSuccess.IsZero() {
		e = append(e, ev("last updated", "not known"))
	} else {
		e = append(e, ev("last updated", "%s", st.LastSuccess.UTC().Format("2006-01-02 15:04 MST")))
	}
	auto := st.Automatic
	if auto == "" {
		auto = "not known"
	}
	if st.AutomaticDetail != "" {
		auto += " (" + st.AutomaticDetail + ")"
	}
	e = append(e, ev("automatic updates", "%s", auto))
	var names []string
	for _, p := range st.Packages {
		if p.Security && len(names) < 10 {
			names = append(names, p.Name)
		}
	}
	if len(names) > 0 {
		if st.Security > len(names) {
			names = append(names, "...")
		}
		e = append(e, ev("security updates", "%s", strings.Join(names, ", ")))
	}
	limit := c.SecurityUpdateMaxAge
	e = append(e, ev("limit", "%s", roundDays(limit)))
	if st.Security == 0 {
		return ok("No security updates are waiting.", e...)
	}
	if st.OldestSecurity.IsZero() {
		return ok(fmt.Sprintf("%s waiting; for how long is not known.", plural(st.Security, "security update", "security updates")), e...)
	}
	waited := now.Sub(st.OldestSecurity)
	switch {
	case waited >= 2*limit:
		return result(diag.StatusFailing, "", fmt.Sprintf("Security updates have been waiting for %s; they need to be installed.", roundDays(waited)), e...)
	case waited >= limit:
		return result(diag.StatusWarning, "", fmt.Sprintf("Security updates have been waiting for %s; they should be installed soon.", roundDays(waited)), e...)
	}
	return ok(fmt.Sprintf("%s waiting, for %s so far.", plural(st.Security, "security update", "security updates"), waitedText(waited)), e...)
}

// waitedText says how long something waited: in days from two days on, in
// hours from one hour.
func waitedText(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return roundDays(d)
	case d >= 2*time.Hour:
		return fmt.Sprintf("%d hours", int(d.Hours()))
	default:
		return "under two hours"
	}
}
