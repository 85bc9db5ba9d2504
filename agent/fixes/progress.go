package fixes

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tierline/tierline/shared/wire"
)

// ProgressEvery is how often at most a run reports a progress step; the
// steps between are folded into the next one.
const ProgressEvery = time.Second

// Progress is the latest progress step of a run in progress.
type Progress struct {
	wire.RunProgress
	At time.Time
}

// progress reports a run's steps: at most one every ProgressEvery goes
// to send (a step that comes sooner is held, and sent when the time has
// come unless a newer one replaced it), and the latest is kept for
// Runner.Progress.
type progress struct {
	r     *Runner
	runID string
	send  func(wire.RunProgress) // nil: nobody outside the device hears

	mu      sync.Mutex // the timer's goroutine and the run's
	lastOut time.Time
	held    *wire.RunProgress
	timer   *time.Timer
	ended   bool
}

func (r *Runner) newProgress(ctx context.Context, runID string) *progress {
	p := &progress{r: r, runID: runID}
	if origin(ctx) == FromHub {
		p.send = r.cfg.Progress
	}
	return p
}

// step records a step; percent is wire.NoPercent when not known.
func (p *progress) step(percent int, text string) {
	text = wire.ProgressText(text)
	if text == "" {
		return
	}
	now := time.Now()
	st := wire.RunProgress{RunID: p.runID, Percent: percent, Text: text}
	p.r.progMu.Lock()
	p.r.prog = &Progress{RunProgress: st, At: p.r.cfg.Now()}
	p.r.progMu.Unlock()
	if p.send == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if wait := ProgressEvery - now.Sub(p.lastOut); !p.lastOut.IsZero() && wait > 0 {
		p.held = &st
		if p.timer == nil {
			p.timer = time.AfterFunc(wait, p.sendHeld)
		}
		return
	}
	p.lastOut = now
	p.send(st)
}

func (p *progress) sendHeld() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.timer = nil
	if p.held == nil || p.ended {
		return
	}
	st := *p.held
	p.held, p.lastOut = nil, time.Now()
	p.send(st)
}

// done forgets the run's progress: its result says the rest.
func (p *progress) done() {
	p.mu.Lock()
	p.ended = true
	if p.timer != nil {
		p.timer.Stop()
	}
	p.mu.Unlock()
	p.r.progMu.Lock()
	if p.r.prog != nil && p.r.prog.RunID == p.runID {
		p.r.prog = nil
	}
	p.r.progMu.Unlock()
}

// Progress returns the latest progress step of run id while it runs.
func (r *Runner) Progress(id string) (Progress, bool) {
	r.progMu.Lock()
	defer r.progMu.Unlock()
	if r.prog == nil || r.prog.RunID != id {
		return Progress{}, false
	}
	return *r.prog, true
}

// stepText says which step of a plan runs: "Step 2 of 3: apt-get install".
func stepText(i, n int, st Step) string {
	what := ""
	switch {
	case st.Action != nil:
		what = st.Action.Name
	case len(st.Argv) > 0:
		what = filepath.Base(st.Argv[0])
		// The first word that is not an option is the verb ("install").
		for _, a := range st.Argv[1:] {
			if !strings.HasPrefix(a, "-") {
				what += " " + a
				break
			}
		}
	}
	if n == 1 {
		return "Running " + what
	}
	return fmt.Sprintf("Step %d of %d: %s", i+1, n, what)
}
