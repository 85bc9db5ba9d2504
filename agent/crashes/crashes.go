// Package crashes notices application crashes and hangs from the operating
// system's own records and remembers the last ones per application: on
// Linux systemd-coredump's journal entries (when it is the core handler)
// and the kernel's own "segfault at" / "traps:" lines in /dev/kmsg, on
// Windows the Application log's Windows Error Reporting events 1000
// (crash) and 1002 (hang), on macOS the headers of DiagnosticReports.
//
// Every source keeps a cursor and reads only what is new, in bounded
// amounts: no full log scans. Reading is apart from parsing; the parsers
// are pure and tested on recorded fixtures.
package crashes

import (
	"context"
	"errors"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tierline/tierline/shared/diag"
)

// Kinds of Event.
const (
	KindCrash = "crash"
	KindHang  = "hang"
)

// Event is one crash or hang of an application.
type Event struct {
	App     string
	Version string
	Time    time.Time
	Kind    string // KindCrash or KindHang
	// Reason is the signal or exception code, where the record has one.
	Reason string
	PID    int
	Source string
}

// Source reads the crashes recorded since its last call (the first call:
// those of about the last day it can find cheaply).
type Source interface {
	Name() string
	Read(ctx context.Context) ([]Event, error)
}

// ErrNoSource: the machine keeps no record this source reads.
var ErrNoSource = errors.New("no crash record on this machine")

// Limits of what a Tracker keeps.
const (
	// Window is how far back counts go.
	Window = 24 * time.Hour
	// MaxPerApp is how many events are kept per application, newest
	// first; counts above it are capped (MaxPerApp means "at least").
	MaxPerApp = 50
	// MaxApps is how many applications are kept, the most recent ones.
	MaxApps = 100
	// MaxText bounds an application name, version or reason.
	MaxText = 120
)

// Config of a Tracker.
type Config struct {
	Sources []Source
	// Every is how often Recent asks the sources again (default 10 s):
	// checks and snapshots in between use what was read.
	Every time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Tracker keeps the recent crashes per application from its sources.
type Tracker struct {
	cfg Config

	mu      sync.Mutex
	last    time.Time
	apps    map[string][]Event // newest last
	errs    map[string]string  // the last error per source
	absent  map[string]bool    // sources whose record this machine does not keep
	sources []string
}

// NewTracker returns a Tracker reading cfg.Sources.
func NewTracker(cfg Config) *Tracker {
	if cfg.Every <= 0 {
		cfg.Every = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	t := &Tracker{cfg: cfg, apps: map[string][]Event{}, errs: map[string]string{}, absent: map[string]bool{}}
	for _, s := range cfg.Sources {
		t.sources = append(t.sources, s.Name())
	}
	return t
}

// Refresh asks the sources for new events, at most once per Config.Every
// unless force is set.
func (t *Tracker) Refresh(ctx context.Context, force bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.cfg.Now()
	if !force && !t.last.IsZero() && now.Sub(t.last) < t.cfg.Every {
		return
	}
	t.last = now
	for _, s := range t.cfg.Sources {
		evs, err := s.Read(ctx)
		t.absent[s.Name()] = errors.Is(err, ErrNoSource)
		if err != nil && !errors.Is(err, ErrNoSource) {
			t.errs[s.Name()] = err.Error()
		} else {
			delete(t.errs, s.Name())
		}
		t.addLocked(evs, now)
	}
}

// Add records events (sources call it through Refresh; tests directly).
func (t *Tracker) Add(evs ...Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.addLocked(evs, t.cfg.Now())
}

func (t *Tracker) addLocked(evs []Event, now time.Time) {
	for _, e := range evs {
		e.App, e.Version, e.Reason = clean(e.App), clean(e.Version), clean(e.Reason)
		if e.App == "" || e.Time.Before(now.Add(-Window)) {
			continue
		}
		if t.seenLocked(e) {
			continue // the same event from a re-read or a second source
		}
		key := strings.ToLower(e.App)
		list := append(t.apps[key], e)
		sort.SliceStable(list, func(i, j int) bool { return list[i].Time.Before(list[j].Time) })
		if len(list) > MaxPerApp {
			list = list[len(list)-MaxPerApp:]
		}
		t.apps[key] = list
	}
	t.pruneLocked(now)
}

// sameEventSlack is how far apart two sources' times of one crash may
// be: the kernel log's times are boot-relative, the journal's wall-clock.
const sameEventSlack = 10 * time.Second

// seenLocked reports whether e is already recorded. The kernel log and
// systemd-coredump both record a fault, under names that may differ (the
// kernel's 15-byte task name, the executable's name): the same pid and
// kind within sameEventSlack is one event. The kernel log's copy gives way
// to the other source's, which knows more (the version, the full name).
func (t *Tracker) seenLocked(e Event) bool {
	for key, list := range t.apps {
		for i, o := range list {
			same := o.Kind == e.Kind && o.PID == e.PID
			if e.PID == 0 || o.Source == e.Source {
				same = same && o.Time.Equal(e.Time)
			} else {
				same = same && o.Time.Sub(e.Time).Abs() <= sameEventSlack
			}
			if !same {
				continue
			}
			if o.Source == "kernel-log" && e.Source != "kernel-log" {
				t.apps[key] = slices.Delete(list, i, i+1)
				if len(t.apps[key]) == 0 {
					delete(t.apps, key)
				}
				return false
			}
			return true
		}
	}
	return false
}

func (t *Tracker) pruneLocked(now time.Time) {
	for k, list := range t.apps {
		list = slices.DeleteFunc(list, func(e Event) bool { return e.Time.Before(now.Add(-Window)) })
		if len(list) == 0 {
			delete(t.apps, k)
			continue
		}
		t.apps[k] = list
	}
	if len(t.apps) <= MaxApps {
		return
	}
	keys := make([]string, 0, len(t.apps))
	for k := range t.apps {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return lastOf(t.apps[keys[i]]).After(lastOf(t.apps[keys[j]])) })
	for _, k := range keys[MaxApps:] {
		delete(t.apps, k)
	}
}

func lastOf(list []Event) time.Time { return list[len(list)-1].Time }

// Recent refreshes (rate-limited) and returns the applications that
// crashed or hung in the last 24 hours, most events first.
func (t *Tracker) Recent(ctx context.Context) []diag.AppCrashes {
	t.Refresh(ctx, false)
	return t.Summary()
}

// Summary is what the tracker holds now, without asking the sources.
func (t *Tracker) Summary() []diag.AppCrashes {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.cfg.Now()
	t.pruneLocked(now)
	y, m, d := now.Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, now.Location())
	var out []diag.AppCrashes
	for _, list := range t.apps {
		newest := list[len(list)-1]
		a := diag.AppCrashes{App: newest.App, Last: newest.Time.UTC(), LastKind: newest.Kind, Source: newest.Source}
		for _, e := range list {
			if e.Kind == KindHang {
				a.Hangs++
			} else {
				a.Crashes++
				if e.Reason != "" {
					a.Reason = e.Reason
				}
			}
			if e.Version != "" {
				a.Version = e.Version
			}
			if !e.Time.Before(midnight) {
				a.Today++
			}
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Events() != out[j].Events() {
			return out[i].Events() > out[j].Events()
		}
		return out[i].Last.After(out[j].Last)
	})
	return out
}

// Sources names the tracker's sources whose records this machine keeps
// (all of them before the first Refresh).
func (t *Tracker) Sources() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for _, name := range t.sources {
		if !t.absent[name] {
			out = append(out, name)
		}
	}
	return out
}

// Errors returns the last error of each source that failed, by name.
func (t *Tracker) Errors() map[string]string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]string, len(t.errs))
	for k, v := range t.errs {
		out[k] = v
	}
	return out
}

// Close closes the sources that hold something open (the kernel log).
func (t *Tracker) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs []error
	for _, s := range t.cfg.Sources {
		if c, ok := s.(io.Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}

// clean makes device-supplied text safe to keep: valid UTF-8, no control
// characters, at most MaxText bytes.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > MaxText {
		cut := MaxText
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}
