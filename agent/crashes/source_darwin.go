package crashes

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// DefaultSources are the crash records of this OS: the DiagnosticReports
// folders of the system and of each user under root.
func DefaultSources(root string) []Source { return []Source{NewReportsSource(root)} }

// Reports source limits: at most MaxReportDirEntries names a folder, at
// most MaxReportsRead files opened a read (the newest), each read only
// up to MaxReportHead bytes.
const (
	MaxReportDirEntries = 2000
	MaxReportsRead      = 100
	MaxUsers            = 50
)

// ReportsSource reads the headers of new DiagnosticReports files.
type ReportsSource struct {
	root string

	mu    sync.Mutex
	since time.Time // files modified after it are new
}

// NewReportsSource reads the reports of the machine under root.
func NewReportsSource(root string) *ReportsSource { return &ReportsSource{root: root} }

// Name is "diagnostic-reports".
func (r *ReportsSource) Name() string { return "diagnostic-reports" }

func (r *ReportsSource) dirs() []string {
	dirs := []string{filepath.Join(r.root, "Library/Logs/DiagnosticReports")}
	users, _ := os.ReadDir(filepath.Join(r.root, "Users"))
	for i, u := range users {
		if i >= MaxUsers {
			break
		}
		if u.IsDir() && u.Name() != "Shared" {
			dirs = append(dirs, filepath.Join(r.root, "Users", u.Name(), "Library/Logs/DiagnosticReports"))
		}
	}
	return dirs
}

// Read returns the reports written since the last Read (the first: of the last day).
func (r *ReportsSource) Read(ctx context.Context) ([]Event, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	since := r.since
	if since.IsZero() {
		since = now.Add(-Window)
	}
	var evs []Event
	opened := 0
	for _, dir := range r.dirs() {
		f, err := os.Open(dir)
		if err != nil {
			continue
		}
		ents, _ := f.ReadDir(MaxReportDirEntries)
		f.Close()
		for _, de := range ents {
			if ctx.Err() != nil || opened >= MaxReportsRead {
				break
			}
			name := de.Name()
			if !reportName(name) {
				continue
			}
			info, err := de.Info()
			if err != nil || !info.ModTime().After(since) {
				continue
			}
			opened++
			if e, ok := readReport(filepath.Join(dir, name)); ok {
				evs = append(evs, e)
			}
		}
	}
	r.since = now
	return evs, nil
}

func reportName(name string) bool {
	for _, ext := range []string{".ips", ".crash", ".hang", ".spin"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

func readReport(path string) (Event, bool) {
	f, err := os.Open(path)
	if err != nil {
		return Event{}, false
	}
	defer f.Close()
	head, err := io.ReadAll(io.LimitReader(f, MaxReportHead))
	if err != nil {
		return Event{}, false
	}
	return parseReport(filepath.Base(path), head)
}
