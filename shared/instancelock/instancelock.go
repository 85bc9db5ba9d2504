// Package instancelock keeps a second copy of a program off a directory the
// running one owns: the hub on its --data directory, the agent on its
// state directory. Two hubs on one database reset each other's device
// presence; two agents on one state directory take turns on the hub
// connection and interrupt each other's fix runs.
//
// The lock is the operating system's (flock on Unix, LockFileEx on
// Windows), so it goes away with the process however that ends: a crash or
// SIGKILL leaves no stale lock behind. The lock file holds who owns it, for
// the refusal to name.
package instancelock

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Owner is what the lock file says about the program holding it.
type Owner struct {
	Program string    `json:"program"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
	Host    string    `json:"host,omitempty"`
}

// HeldError is the refusal: another process holds the lock.
type HeldError struct {
	Path  string
	Owner Owner // zero when the lock file does not say (yet)
}

// ErrHeld is what errors.Is finds in a *HeldError.
var ErrHeld = errors.New("held by another process")

func (e *HeldError) Error() string {
	dir := filepath.Dir(e.Path)
	who := "another process"
	if e.Owner.Program != "" {
		who = "another " + e.Owner.Program
	}
	var facts []string
	if e.Owner.PID > 0 {
		facts = append(facts, fmt.Sprintf("pid %d", e.Owner.PID))
	}
	if !e.Owner.Started.IsZero() {
		facts = append(facts, "started "+e.Owner.Started.Local().Format("2006-01-02 15:04:05 MST"))
	}
	if e.Owner.Host != "" {
		facts = append(facts, "on "+e.Owner.Host)
	}
	if len(facts) > 0 {
		who += " (" + strings.Join(facts, ", ") + ")"
	}
	return fmt.Sprintf("%s is running on %s (lock %s): stop it first, or give this one a directory of its own", who, dir, e.Path)
}

// Unwrap makes errors.Is(err, ErrHeld) hold.
func (e *HeldError) Unwrap() error { return ErrHeld }

// Lock is a held instance lock.
type Lock struct{ f *os.File }

// Acquire takes the lock file name in dir for program, or returns a
// *HeldError naming the process that holds it. dir must exist.
func Acquire(dir, name, program string) (*Lock, error) {
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if held {
		owner := readOwner(f)
		f.Close()
		return nil, &HeldError{Path: path, Owner: owner}
	}
	host, _ := os.Hostname()
	b, _ := json.Marshal(Owner{Program: program, PID: os.Getpid(), Started: time.Now().UTC().Truncate(time.Second), Host: host})
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt(append(b, '\n'), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("write lock %s: %w", path, err)
	}
	return &Lock{f: f}, nil
}

// Release gives the lock up. The file stays: removing it would race with a
// process that has it open and is about to lock it.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

func readOwner(f *os.File) Owner {
	b := make([]byte, 4096)
	n, _ := f.ReadAt(b, 0)
	var o Owner
	_ = json.Unmarshal(b[:n], &o) // half-written or foreign content: an unknown owner
	return o
}
