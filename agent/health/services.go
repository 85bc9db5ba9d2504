package health

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tierline/tierline/agent/svcmgr"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

// serviceWatch is what service-stopped keeps between runs: each watched
// service's restart count, since a count that rose between two runs is a
// service that died and was started again, and the log lines last read
// for a service in trouble, read again only when its state changed (the
// check runs every minute; journalctl costs more than the query).
type serviceWatch struct {
	mu       sync.Mutex
	restarts map[string]int
	logs     map[string]serviceLog
	// lastLog reads a service's last log lines: svcmgr.LastLog.
	lastLog func(ctx context.Context, name string) ([]string, error)
}

type serviceLog struct {
	key   string
	lines []string
	err   error
}

func newServiceWatch() *serviceWatch {
	return &serviceWatch{restarts: map[string]int{}, logs: map[string]serviceLog{}, lastLog: svcmgr.LastLog}
}

func checkServices(ctx context.Context, c *Config, w *serviceWatch, now time.Time) diag.CheckResult {
	if len(c.WatchedServices) == 0 {
		return ok("No services are watched.")
	}
	states, err := svcmgr.Query(ctx, c.WatchedServices)
	if err != nil {
		return unknown("Could not read service states.", ev("error", "%v", err))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	logs := map[string]serviceLog{}
	for _, s := range states {
		if serviceTrouble(s, w.restarts) != troubleNone {
			logs[s.Name] = w.log(ctx, s)
		}
	}
	res := gradeServices(states, w.restarts, logs, now)
	for _, s := range states {
		if s.RestartsKnown {
			w.restarts[s.Name] = s.Restarts
		}
	}
	return res
}

// log returns s's last log lines, read again only when s changed since
// they were read.
func (w *serviceWatch) log(ctx context.Context, s svcmgr.Status) serviceLog {
	key := fmt.Sprintf("%s/%s/%d/%d/%v", s.State, s.Sub, s.Restarts, s.Since.UnixMicro(), s.Exit)
	if l, ok := w.logs[s.Name]; ok && l.key == key {
		return l
	}
	lines, err := w.lastLog(ctx, s.Name)
	l := serviceLog{key: key, lines: lines, err: err}
	w.logs[s.Name] = l
	return l
}

// trouble is what service-stopped finds wrong with one service.
type trouble int

const (
	troubleNone      trouble = iota
	troubleRestarted         // died once since the last run and runs again
	troubleCrashLoop         // dies and is started again, repeatedly
	troubleStopped           // not running, and not being restarted
)

// serviceTrouble judges s against the restart counts of the last run: a
// service the manager is waiting to restart (systemd's auto-restart),
// restarted twice or more since the last run, or restarted and down
// again, is crash-looping; one restarted once and running again has
// recovered from one crash.
func serviceTrouble(s svcmgr.Status, prev map[string]int) trouble {
	rose := restartsSince(s, prev)
	switch {
	case s.Restarting, rose >= 2, rose >= 1 && !s.Running:
		return troubleCrashLoop
	case !s.Running:
		return troubleStopped
	case rose == 1:
		return troubleRestarted
	}
	return troubleNone
}

// restartsSince is how many times s was restarted since the last run; 0
// on the first run or when the count went down (the service manager
// restarted, or the unit was reset).
func restartsSince(s svcmgr.Status, prev map[string]int) int {
	p, ok := prev[s.Name]
	if !ok || !s.RestartsKnown || s.Restarts < p {
		return 0
	}
	return s.Restarts - p
}

// gradeServices grades the watched services' states given the restart
// counts of the last run (prev) and the log lines read for those in
// trouble. A crash loop or a stopped service fails with restart-service
// as the fix; a service that died once and was restarted warns. The
// summary is in plain words (the user's tray shows it); the exit status,
// restart count, times and log lines are evidence for the technician.
func gradeServices(states []svcmgr.Status, prev map[string]int, logs map[string]serviceLog, now time.Time) diag.CheckResult {
	var evidence []diag.Evidence
	var looping, stopped, restarted []string
	for _, s := range states {
		t := serviceTrouble(s, prev)
		evidence = append(evidence, serviceEvidence(s, t, restartsSince(s, prev), now)...)
		switch t {
		case troubleCrashLoop:
			looping = append(looping, fmt.Sprintf("%s (%s)", s.Name, loopWords(s)))
		case troubleStopped:
			stopped = append(stopped, s.Name+stoppedWords(s, now))
		case troubleRestarted:
			restarted = append(restarted, s.Name)
		}
		if t == troubleNone {
			continue
		}
		if l, ok := logs[s.Name]; ok {
			for _, line := range l.lines {
				evidence = append(evidence, ev(s.Name+" log", "%s", line))
			}
			if l.err != nil && !errors.Is(l.err, errors.ErrUnsupported) {
				evidence = append(evidence, ev(s.Name+" log", "could not be read: %v", l.err))
			}
		}
	}
	var summary []string
	if len(looping) > 0 {
		summary = append(summary, fmt.Sprintf("Watched service crash-looping (it keeps stopping and being restarted): %s.", strings.Join(looping, ", ")))
	}
	if len(stopped) > 0 {
		summary = append(summary, fmt.Sprintf("Watched service not running: %s.", strings.Join(stopped, ", ")))
	}
	switch {
	case len(summary) > 0:
		return result(diag.StatusFailing, catalog.RestartService, strings.Join(summary, " "), evidence...)
	case len(restarted) > 0:
		return result(diag.StatusWarning, "", fmt.Sprintf("Watched service stopped unexpectedly and was restarted: %s.", strings.Join(restarted, ", ")), evidence...)
	}
	return ok("Every watched service is running.", evidence...)
}

// serviceEvidence is what a technician sees of one service: its state,
// and for one in trouble how its main process last ended, its restart
// count and since when it is in its state.
func serviceEvidence(s svcmgr.Status, t trouble, rose int, now time.Time) []diag.Evidence {
	state := s.State
	if s.Sub != "" && s.Sub != s.State {
		state += " (" + s.Sub + ")"
	}
	if s.PID > 0 {
		state += fmt.Sprintf(", pid %d", s.PID)
	}
	out := []diag.Evidence{ev(s.Name, "%s", state)}
	if t == troubleNone {
		return out
	}
	if s.Exit != nil {
		out = append(out, ev(s.Name+" exit", "%s", s.Exit))
	}
	if s.RestartsKnown {
		v := fmt.Sprintf("%d", s.Restarts)
		if rose > 0 {
			v += fmt.Sprintf(" (%d since the last check)", rose)
		}
		out = append(out, ev(s.Name+" restarts", "%s", v))
	}
	if !s.Since.IsZero() {
		out = append(out, ev(s.Name+" since", "%s (%s ago)", s.Since.UTC().Format("2006-01-02 15:04:05 MST"), ago(now.Sub(s.Since))))
	}
	return out
}

// loopWords says a crash loop in plain words: how often it restarted.
func loopWords(s svcmgr.Status) string {
	switch {
	case s.RestartsKnown && s.Restarts == 1:
		return "restarted once"
	case s.RestartsKnown && s.Restarts > 1:
		return fmt.Sprintf("restarted %d times", s.Restarts)
	}
	return "restarting"
}

// stoppedWords says in plain words how and when a stopped service ended:
// " (crashed 5 min ago)".
func stoppedWords(s svcmgr.Status, now time.Time) string {
	how := "stopped"
	if e := s.Exit; e != nil && e.Failed() {
		switch {
		case e.Core || e.Signal == 11 || e.Signal == 6 || e.Signal == 4 || e.Signal == 8:
			how = "crashed"
		case e.Result == "timeout":
			how = "did not start or stop in time"
		case e.Result == "oom-kill":
			how = "ran out of memory"
		case e.Signal != 0:
			how = "was killed"
		default:
			how = "failed"
		}
	}
	if s.Since.IsZero() {
		if how == "stopped" {
			return ""
		}
		return " (" + how + ")"
	}
	return fmt.Sprintf(" (%s %s ago)", how, ago(now.Sub(s.Since)))
}

// ago is a duration as a technician reads it: "40s", "5 min", "3 h 10 min".
func ago(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}
