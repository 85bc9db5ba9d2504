package fixes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tierline/tierline/shared/wire"
)

// JournalDir is the journal's directory under the agent's state directory.
const JournalDir = "runs"

// LocalDir is the journal's bucket of local runs (asked for on the
// agent's socket), under the journal's directory.
const LocalDir = "local"

// Journal defaults.
const (
	DefaultJournalMaxAge     = 30 * 24 * time.Hour
	DefaultJournalMaxEntries = 10000
	// DefaultJournalHubKeep is how long a hub run's entry is kept whatever
	// the number of entries: the hub may send a run again until
	// wire.MaxRunExpiry (plus a grace) after it asked; a day of margin
	// covers that grace and a stepped clock.
	DefaultJournalHubKeep = wire.MaxRunExpiry + 24*time.Hour
	// DefaultJournalMaxLocal bounds the local runs kept. The hub never
	// sends those, so pruning them costs no at-most-once guarantee.
	DefaultJournalMaxLocal = 1000
	// maxRecordSize bounds a record file: a result's output is at most
	// wire.MaxRunOutput and bundles are not journaled.
	maxRecordSize = 1 << 20
	// recentToScan is how many of the newest records are checked at open
	// for a run the agent did not finish. Runs execute one at a time, so
	// an unfinished one is the newest record, bar clock steps.
	recentToScan = 16
)

// Record states.
const (
	StateStarted  = "started"
	StateFinished = "finished"
)

const recordVersion = 1

// Record is one run's journal entry, in the file RUNID.json.
type Record struct {
	V       int       `json:"v"`
	RunID   string    `json:"run_id"`
	Fix     string    `json:"fix"`
	State   string    `json:"state"`
	Started time.Time `json:"started"`
	// Result is set once the run finished (or was refused).
	Result *wire.RunResult `json:"result,omitempty"`

	from Origin // the bucket it was read from
}

// Origin is who asked for the run: the bucket the record was read from.
func (r Record) Origin() Origin { return r.from }

// decodeRecord parses and checks a record file's content.
func decodeRecord(data []byte) (Record, error) {
	var r Record
	if len(data) > maxRecordSize {
		return r, fmt.Errorf("record is %d bytes, limit %d", len(data), maxRecordSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Record{}, fmt.Errorf("record is not valid JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Record{}, errors.New("trailing data after the record")
	}
	if r.V != recordVersion {
		return Record{}, fmt.Errorf("record version %d, want %d", r.V, recordVersion)
	}
	if err := wire.ValidateRunID(r.RunID); err != nil {
		return Record{}, err
	}
	switch r.State {
	case StateStarted:
		if r.Result != nil {
			return Record{}, errors.New("a started record carries a result")
		}
	case StateFinished:
		if r.Result == nil {
			return Record{}, errors.New("a finished record has no result")
		}
		if r.Result.RunID != r.RunID {
			return Record{}, fmt.Errorf("result is for run %q, record for %q", clip(r.Result.RunID), r.RunID)
		}
		if err := r.Result.Validate(); err != nil {
			return Record{}, fmt.Errorf("result: %w", err)
		}
	default:
		return Record{}, fmt.Errorf("state %q is not started or finished", clip(r.State))
	}
	return r, nil
}

// JournalOptions tune a Journal. Zero fields take the defaults.
type JournalOptions struct {
	MaxAge time.Duration // entries older than this are pruned (30 days)
	// MaxEntries: beyond this many hub runs, the oldest are pruned, but
	// only those older than HubKeep (10,000).
	MaxEntries int
	// HubKeep is how long a hub run's entry is kept whatever their number
	// (wire.MaxRunExpiry plus a day); MaxAge is raised to it if shorter.
	HubKeep time.Duration
	// MaxLocal: beyond this many local runs, the oldest are pruned (1,000).
	MaxLocal int
	Logger   *slog.Logger
	Now      func() time.Time
}

// Origin says who asked for a run, and so which bucket of the journal
// keeps it.
type Origin int

const (
	// FromHub: the hub asked; the hub may send the run again, so its
	// entry is kept at least HubKeep.
	FromHub Origin = iota
	// FromLocal: a user or the administrator asked on the agent's local
	// socket. Local runs have a bucket and a bound of their own, so that
	// no number of them can push a hub run out of the journal.
	FromLocal
)

// Journal records, durably and per run id, that a run started and how it
// finished. It is what makes each run happen at most once: a run id found
// in it is never run again, whatever the hub sends.
//
// Hub runs are kept in the journal's directory, local runs in its local/
// subdirectory; each bucket is pruned on its own terms.
type Journal struct {
	dir  string
	opts JournalOptions
	log  *slog.Logger

	mu         sync.Mutex
	unfinished []Record
	added      int
}

// OpenJournal opens (creating it if needed) the journal in dir, deletes
// interrupted writes, prunes old entries and notes runs left unfinished.
func OpenJournal(dir string, opts JournalOptions) (*Journal, error) {
	if opts.MaxAge <= 0 {
		opts.MaxAge = DefaultJournalMaxAge
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultJournalMaxEntries
	}
	if opts.HubKeep <= 0 {
		opts.HubKeep = DefaultJournalHubKeep
	}
	opts.MaxAge = max(opts.MaxAge, opts.HubKeep)
	if opts.MaxLocal <= 0 {
		opts.MaxLocal = DefaultJournalMaxLocal
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(filepath.Join(dir, LocalDir), 0o700); err != nil {
		return nil, fmt.Errorf("create the run journal %s: %w", dir, err)
	}
	j := &Journal{dir: dir, opts: opts, log: opts.Logger}
	if err := j.prune(true); err != nil {
		return nil, err
	}
	return j, nil
}

type dirEntry struct {
	name string
	mod  time.Time
}

// prune prunes both buckets (at open, it also deletes *.tmp leftovers and
// finds unfinished runs).
func (j *Journal) prune(atOpen bool) error {
	hub, err := j.pruneBucket(j.dir, FromHub, atOpen)
	if err != nil {
		return err
	}
	local, err := j.pruneBucket(filepath.Join(j.dir, LocalDir), FromLocal, atOpen)
	if err != nil {
		return err
	}
	if !atOpen {
		return nil
	}
	for _, b := range []struct {
		dir     string
		entries []dirEntry
		from    Origin
	}{{j.dir, hub, FromHub}, {filepath.Join(j.dir, LocalDir), local, FromLocal}} {
		for i := max(0, len(b.entries)-recentToScan); i < len(b.entries); i++ {
			id := strings.TrimSuffix(b.entries[i].name, ".json")
			r, err := j.read(filepath.Join(b.dir, b.entries[i].name), id, b.from)
			if err == nil && r.State == StateStarted {
				j.unfinished = append(j.unfinished, r)
			}
		}
	}
	return nil
}

// pruneBucket deletes the entries of one bucket older than MaxAge and the
// oldest beyond its bound: for local runs MaxLocal, for hub runs
// MaxEntries, and then only those older than HubKeep, so a hub run is
// never forgotten while the hub could still send it. It returns the
// entries kept, oldest first.
func (j *Journal) pruneBucket(dir string, o Origin, atOpen bool) ([]dirEntry, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read the run journal %s: %w", dir, err)
	}
	var entries []dirEntry
	for _, de := range des {
		name := de.Name()
		if strings.HasSuffix(name, ".tmp") {
			if atOpen {
				os.Remove(filepath.Join(dir, name))
			}
			continue
		}
		id, ok := strings.CutSuffix(name, ".json")
		if !ok || wire.ValidateRunID(id) != nil || !de.Type().IsRegular() {
			continue
		}
		info, err := de.Info()
		if err != nil {
			continue
		}
		entries = append(entries, dirEntry{name, info.ModTime()})
	}
	sort.Slice(entries, func(a, b int) bool { return entries[a].mod.Before(entries[b].mod) })
	now := j.opts.Now()
	cutoff := now.Add(-j.opts.MaxAge)
	bound, keep := j.opts.MaxLocal, time.Time{}
	if o == FromHub {
		bound, keep = j.opts.MaxEntries, now.Add(-j.opts.HubKeep)
	}
	pruned := 0
	for len(entries) > 0 && (entries[0].mod.Before(cutoff) || len(entries) > bound && (keep.IsZero() || entries[0].mod.Before(keep))) {
		if err := os.Remove(filepath.Join(dir, entries[0].name)); err == nil {
			pruned++
		}
		entries = entries[1:]
	}
	if pruned > 0 {
		bucket := "hub"
		if o == FromLocal {
			bucket = "local"
		}
		j.log.Info("pruned old fix runs from the journal", "bucket", bucket, "pruned", pruned, "kept", len(entries))
	}
	return entries, nil
}

// Unfinished returns the runs found started but not finished at open: the
// agent stopped while they ran.
func (j *Journal) Unfinished() []Record {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]Record(nil), j.unfinished...)
}

func (j *Journal) path(id string, o Origin) string {
	if o == FromLocal {
		return filepath.Join(j.dir, LocalDir, id+".json")
	}
	return filepath.Join(j.dir, id+".json")
}

// Get returns the record of run id, from either bucket. found is false
// when there is none; an error means a record exists but cannot be read.
func (j *Journal) Get(id string) (r Record, found bool, err error) {
	if err := wire.ValidateRunID(id); err != nil {
		return Record{}, false, err
	}
	for _, o := range []Origin{FromHub, FromLocal} {
		r, err := j.read(j.path(id, o), id, o)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		return r, true, err
	}
	return Record{}, false, nil
}

// read reads and checks the record of run id in file name, of bucket o.
func (j *Journal) read(name, id string, o Origin) (Record, error) {
	f, err := os.Open(name)
	if err != nil {
		return Record{}, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRecordSize+1))
	if err != nil {
		return Record{}, err
	}
	r, err := decodeRecord(data)
	if err != nil {
		return Record{}, fmt.Errorf("journal entry %s: %w", name, err)
	}
	if r.RunID != id {
		return Record{}, fmt.Errorf("journal entry %s names run %s", name, r.RunID)
	}
	r.from = o
	return r, nil
}

// Start records durably that run runID, asked for by o, is about to run.
func (j *Journal) Start(runID, fix string, started time.Time, o Origin) error {
	return j.write(Record{V: recordVersion, RunID: runID, Fix: fix, State: StateStarted, Started: started}, o)
}

// Finish records durably how a run asked for by o ended (or that it was
// refused). Log bundles are not kept in the journal.
func (j *Journal) Finish(res wire.RunResult, o Origin) error {
	res.Bundle = nil
	res.Replayed = false
	err := j.write(Record{V: recordVersion, RunID: res.RunID, Fix: res.Fix, State: StateFinished, Started: res.Started, Result: &res}, o)
	j.mu.Lock()
	j.unfinished = slices.DeleteFunc(j.unfinished, func(r Record) bool { return r.RunID == res.RunID })
	j.added++
	again := j.added%1000 == 0
	j.mu.Unlock()
	if again {
		// A long-running agent prunes as it goes, not only at start.
		if perr := j.prune(false); perr != nil {
			j.log.Warn("pruning the run journal failed", "err", perr)
		}
	}
	return err
}

// write stores r atomically: temp file, fsync, rename, fsync directory.
func (j *Journal) write(r Record, o Origin) error {
	if err := wire.ValidateRunID(r.RunID); err != nil {
		return err
	}
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode journal entry: %w", err)
	}
	name := j.path(r.RunID, o)
	tmp := name + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write journal entry: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write journal entry %s: %w", name, err)
	}
	if err := syncDir(filepath.Dir(name)); err != nil {
		return fmt.Errorf("sync journal directory %s: %w", filepath.Dir(name), err)
	}
	return nil
}

// syncDir makes a rename in dir durable. Windows cannot fsync a directory
// and does not need to.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}
