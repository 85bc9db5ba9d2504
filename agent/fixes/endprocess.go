package fixes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v4/process"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/wire"
)

// DefaultKillGrace is how long end-process waits after SIGTERM.
const DefaultKillGrace = 5 * time.Second

// target is one process to end, identified by pid and start time so a
// reused pid is never mistaken for it.
type target struct {
	p       *process.Process
	name    string
	created int64
}

func (l *Local) endProcess(ctx context.Context, args map[string]string) ActionResult {
	self, parent := os.Getpid(), os.Getppid()
	protected := func(pid int32, name string) *RefusalError {
		switch {
		case pid == 1:
			return &RefusalError{Code: wire.RefusePolicy, Reason: "built-in rule: pid 1 is the system's init process and is never ended"}
		case int(pid) == self:
			return &RefusalError{Code: wire.RefusePolicy, Reason: fmt.Sprintf("built-in rule: pid %d is the agent itself", pid)}
		case int(pid) == parent:
			return &RefusalError{Code: wire.RefusePolicy, Reason: fmt.Sprintf("built-in rule: pid %d is the agent's parent (its service manager)", pid)}
		case isCritical(name, runtime.GOOS):
			return &RefusalError{Code: wire.RefusePolicy,
				Reason: fmt.Sprintf("built-in rule: pid %d is %s, a system-critical process (or the agent), and is never ended", pid, name)}
		}
		return nil
	}
	var targets []target
	if s := args["pid"]; s != "" {
		pid, err := strconv.ParseInt(s, 10, 32)
		if err != nil || pid < 1 {
			return ActionResult{Err: fmt.Errorf("pid %q is not a process id", s)}
		}
		if r := protected(int32(pid), ""); r != nil {
			return ActionResult{Refused: r}
		}
		p, err := process.NewProcessWithContext(ctx, int32(pid))
		if err != nil {
			return ActionResult{NotApplicable: fmt.Sprintf("no process with pid %d is running", pid)}
		}
		name, _ := p.NameWithContext(ctx)
		if r := protected(p.Pid, name); r != nil {
			return ActionResult{Refused: r}
		}
		created, _ := p.CreateTimeWithContext(ctx)
		targets = append(targets, target{p, name, created})
	} else {
		want := args["name"]
		if want == "" {
			return ActionResult{Err: errors.New("give a process name or pid")}
		}
		if isCritical(want, runtime.GOOS) {
			return ActionResult{Refused: &RefusalError{Code: wire.RefusePolicy,
				Reason: fmt.Sprintf("built-in rule: %s is a system-critical process (or the agent) and is never ended", want)}}
		}
		procs, err := process.ProcessesWithContext(ctx)
		if err != nil {
			return ActionResult{Err: fmt.Errorf("list processes: %w", err)}
		}
		for _, p := range procs {
			name, err := p.NameWithContext(ctx)
			if err != nil || !sameProcessName(name, want) {
				continue
			}
			if protected(p.Pid, name) != nil {
				continue // the agent and its parent are never among the targets
			}
			created, _ := p.CreateTimeWithContext(ctx)
			targets = append(targets, target{p, name, created})
		}
		if len(targets) == 0 {
			return ActionResult{NotApplicable: fmt.Sprintf("no process named %s is running", want)}
		}
	}
	return endAll(ctx, targets, l.grace())
}

func (l *Local) grace() time.Duration {
	if l.KillGrace > 0 {
		return l.KillGrace
	}
	return DefaultKillGrace
}

// sameProcessName compares names as the OS does (catalog.SameProcessName).
func sameProcessName(have, want string) bool {
	return catalog.SameProcessName(runtime.GOOS, have, want)
}

// gone reports whether t has exited (or is a zombie waiting for its
// parent, which is as good as ended).
func gone(ctx context.Context, t target) bool {
	ok, err := process.PidExistsWithContext(ctx, t.p.Pid)
	if err != nil || !ok {
		return true
	}
	if c, err := t.p.CreateTimeWithContext(ctx); err == nil && t.created != 0 && c != t.created {
		return true // the pid now belongs to another process
	}
	st, err := t.p.StatusWithContext(ctx)
	return err == nil && slices.Contains(st, process.Zombie)
}

// endAll asks each target to stop (SIGTERM; TerminateProcess on Windows),
// waits up to grace, then kills what is left.
func endAll(ctx context.Context, ts []target, grace time.Duration) ActionResult {
	var out strings.Builder
	var errs []error
	for _, t := range ts {
		if err := t.p.TerminateWithContext(ctx); err != nil && !gone(ctx, t) {
			errs = append(errs, fmt.Errorf("pid %d (%s): %w", t.p.Pid, t.name, err))
		}
	}
	waitGone := func(d time.Duration) []target {
		deadline := time.Now().Add(d)
		for {
			var left []target
			for _, t := range ts {
				if !gone(ctx, t) {
					left = append(left, t)
				}
			}
			if len(left) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
				return left
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	left := waitGone(grace)
	for _, t := range ts {
		if !slices.ContainsFunc(left, func(l target) bool { return l.p.Pid == t.p.Pid }) {
			fmt.Fprintf(&out, "ended pid %d (%s)\n", t.p.Pid, t.name)
		}
	}
	if len(left) > 0 {
		for _, t := range left {
			if err := t.p.KillWithContext(ctx); err != nil && !gone(ctx, t) {
				errs = append(errs, fmt.Errorf("kill pid %d (%s): %w", t.p.Pid, t.name, err))
			}
		}
		ts = left
		still := waitGone(2 * time.Second)
		for _, t := range left {
			if !slices.ContainsFunc(still, func(l target) bool { return l.p.Pid == t.p.Pid }) {
				fmt.Fprintf(&out, "killed pid %d (%s): it did not stop within %s of being asked\n", t.p.Pid, t.name, grace)
			}
		}
		for _, t := range still {
			errs = append(errs, fmt.Errorf("pid %d (%s) is still running after being killed", t.p.Pid, t.name))
		}
	}
	return ActionResult{Output: out.String(), Err: errors.Join(errs...)}
}
