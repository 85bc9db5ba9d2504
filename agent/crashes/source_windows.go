package crashes

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tierline/tierline/agent/execx"
)

// DefaultSources are the crash records of this OS: Windows Error
// Reporting's events in the Application log. root is unused.
func DefaultSources(root string) []Source { return []Source{NewWERSource()} }

// WER source limits: at most MaxWEREvents events a query, newest first,
// wevtutil stopped after WERTimeout; it runs at most once per WEREvery.
const (
	MaxWEREvents = 100
	WERTimeout   = 8 * time.Second
	WEREvery     = 5 * time.Minute
)

// WERSource queries the Application log for events 1000 and 1002 with
// wevtutil, after the last EventRecordID it saw.
type WERSource struct {
	// Run runs a command (default execx.Run).
	Run func(ctx context.Context, cmd execx.Cmd) (execx.Result, error)

	mu      sync.Mutex
	after   uint64
	lastRun time.Time
}

// NewWERSource returns a WERSource.
func NewWERSource() *WERSource { return &WERSource{Run: execx.Run} }

// Name is "wer".
func (w *WERSource) Name() string { return "wer" }

// Read returns the events logged since the last Read.
func (w *WERSource) Read(ctx context.Context) ([]Event, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.lastRun.IsZero() && time.Since(w.lastRun) < WEREvery {
		return nil, nil
	}
	w.lastRun = time.Now()
	res, err := w.Run(ctx, execx.Cmd{Argv: []string{"wevtutil", "qe", "Application", "/q:" + werQuery(w.after),
		"/f:xml", "/rd:true", fmt.Sprintf("/c:%d", MaxWEREvents)}, Timeout: WERTimeout, MaxOutput: 1 << 20})
	if err != nil && res.Output == "" {
		return nil, fmt.Errorf("wevtutil: %w", err)
	}
	evs, maxID := parseWER([]byte(res.Output))
	w.after = max(w.after, maxID)
	return evs, nil
}
