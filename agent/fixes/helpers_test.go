package fixes

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/execx"
	"github.com/tierline/tierline/agent/netstate"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// call is one thing that reached the executor.
type call struct {
	RunID  string
	Argv   []string
	Action *Action
}

// recorder wraps the real executor and records what would run without
// running it: a test cannot reset this machine's network thousands of
// times.
type recorder struct {
	real Executor // kept to show what is being stood in for; never called

	mu    sync.Mutex
	calls []call
	// exit, if set, decides a command's exit code.
	exit func(argv []string) int
	// delay, if set, makes each step take this long (honouring ctx).
	delay time.Duration
}

func newRecorder() *recorder { return &recorder{real: &Local{}} }

func (r *recorder) Run(ctx context.Context, c execx.Cmd) (execx.Result, error) {
	r.mu.Lock()
	r.calls = append(r.calls, call{RunID: RunIDFrom(ctx), Argv: slices.Clone(c.Argv)})
	exit, delay := r.exit, r.delay
	r.mu.Unlock()
	res := execx.Result{Argv: c.Argv, Output: "ok\n"}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			res.ExitCode, res.Err = -1, context.Cause(ctx)
			return res, res.Err
		}
	}
	if exit != nil {
		if res.ExitCode = exit(c.Argv); res.ExitCode != 0 {
			res.Err = &exitErr{res.ExitCode}
			return res, res.Err
		}
	}
	return res, nil
}

type exitErr struct{ code int }

func (e *exitErr) Error() string { return "exited with status " + strconv.Itoa(e.code) }

func (r *recorder) Do(ctx context.Context, a Action) ActionResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	cp := a
	cp.Args = map[string]string{}
	for k, v := range a.Args {
		cp.Args[k] = v
	}
	r.calls = append(r.calls, call{RunID: RunIDFrom(ctx), Action: &cp})
	return ActionResult{Output: "recorded " + a.Name + "\n"}
}

func (r *recorder) snapshot() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// machine is a Linux machine with every tool installed.
func machine(goos string) Machine {
	return Machine{GOOS: goos, Has: func(string) bool { return true }, Interfaces: []string{"eth0", "en0", "wlan0"}, Self: 4242, Parent: 4241,
		Links: []netstate.Link{{Name: "eth0", AdminUp: true, Carrier: true, Physical: true}, {Name: "wlan0", Wireless: true, Physical: true}}}
}

// verifier returns canned check results: before[name] on the first call
// of a run, after[name] on the second.
type verifier struct {
	mu            sync.Mutex
	before, after diag.Status
	calls         int
	afters        []time.Time // the after argument of each call
}

func (v *verifier) verify(ctx context.Context, after time.Time, names ...string) []diag.CheckResult {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.calls++
	v.afters = append(v.afters, after)
	st := v.before
	if v.calls%2 == 0 {
		st = v.after
	}
	var out []diag.CheckResult
	for _, n := range names {
		out = append(out, diag.CheckResult{Name: n, Status: st, Summary: "canned", Time: time.Now()})
	}
	return out
}

func newTestRunner(t *testing.T, dir string, mod func(*Config)) (*Runner, *recorder) {
	t.Helper()
	j, err := OpenJournal(dir, JournalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	v := &verifier{before: diag.StatusOK, after: diag.StatusOK}
	cfg := Config{Journal: j, Exec: rec, Machine: func() Machine { return machine("linux") }, Verify: v.verify,
		Sleep: func(context.Context, time.Duration) error { return nil }}
	if mod != nil {
		mod(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r, rec
}

func req(id, fix string, tier int, params map[string]string) wire.RunRequest {
	return wire.RunRequest{RunID: id, Fix: fix, Tier: tier, Params: params}
}
