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

// Journal defaults.
const (
	DefaultJournalMaxAge     = 30 * 24 * time.Hour
	DefaultJournalMaxEntries = 10000
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
}

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
	MaxAge     time.Duration // entries older than this are pruned (30 days)
	MaxEntries int           // beyond this many, the oldest are pruned (10,000)
	Logger     *slog.Logger
	Now        func() time.Time
}

// Journal records, durably and per run id, that a run started and how it
// finished. It is what makes each run happen at most once: a run id found
// in it is never run again, whatever the hub sends.
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
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
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

// prune deletes *.tmp leftovers (at open), entries older than MaxAge and
// the oldest beyond MaxEntries; at open it also finds unfinished runs.
func (j *Journal) prune(atOpen bool) error {
	des, err := os.ReadDir(j.dir)
	if err != nil {
		return fmt.Errorf("read the run journal %s: %w", j.dir, err)
	}
	var entries []dirEntry
	for _, de := range des {
		name := de.Name()
		if strings.HasSuffix(name, ".tmp") {
			if atOpen {
				os.Remove(filepath.Join(j.dir, name))
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
	cutoff := j.opts.Now().Add(-j.opts.MaxAge)
	pruned := 0
	for len(entries) > 0 && (len(entries) > j.opts.MaxEntries || entries[0].mod.Before(cutoff)) {
		if err := os.Remove(filepath.Join(j.dir, entries[0].name)); err == nil {
			pruned++
		}
		entries = entries[1:]
	}
	if pruned > 0 {
		j.log.Info("pruned old fix runs from the journal", "pruned", pruned, "kept", len(entries))
	}
	if !atOpen {
		return nil
	}
	for i := max(0, len(entries)-recentToScan); i < len(entries); i++ {
		id := strings.TrimSuffix(entries[i].name, ".json")
		r, found, err := j.Get(id)
		if err == nil && found && r.State == StateStarted {
			j.unfinished = append(j.unfinished, r)
		}
	}
	return nil
}

// Unfinished returns the runs found started but not finished at open: the
// agent stopped while they ran.
func (j *Journal) Unfinished() []Record {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]Record(nil), j.unfinished...)
}

func (j *Journal) path(id string) string { return filepath.Join(j.dir, id+".json") }

// Get returns the record of run id. found is false when there is none; an
// error means a record exists but cannot be read.
func (j *Journal) Get(id string) (r Record, found bool, err error) {
	if err := wire.ValidateRunID(id); err != nil {
		return Record{}, false, err
	}
	f, err := os.Open(j.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return Record{}, false, nil
	}
	if err != nil {
		return Record{}, true, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRecordSize+1))
	if err != nil {
		return Record{}, true, err
	}
	r, err = decodeRecord(data)
	if err != nil {
		return Record{}, true, fmt.Errorf("journal entry %s: %w", j.path(id), err)
	}
	if r.RunID != id {
		return Record{}, true, fmt.Errorf("journal entry %s names run %s", j.path(id), r.RunID)
	}
	return r, true, nil
}

// Start records durably that run req is about to run.
func (j *Journal) Start(runID, fix string, started time.Time) error {
	return j.write(Record{V: recordVersion, RunID: runID, Fix: fix, State: StateStarted, Started: started})
}

// Finish records durably how a run ended (or that it was refused). Log
// bundles are not kept in the journal.
func (j *Journal) Finish(res wire.RunResult) error {
	res.Bundle = nil
	res.Replayed = false
	err := j.write(Record{V: recordVersion, RunID: res.RunID, Fix: res.Fix, State: StateFinished, Started: res.Started, Result: &res})
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
func (j *Journal) write(r Record) error {
	if err := wire.ValidateRunID(r.RunID); err != nil {
		return err
	}
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode journal entry: %w", err)
	}
	name := j.path(r.RunID)
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
	if err := syncDir(j.dir); err != nil {
		return fmt.Errorf("sync journal directory %s: %w", j.dir, err)
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
