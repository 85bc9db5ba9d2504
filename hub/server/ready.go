package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// DefaultReadyMinFree is the free space below which a hub on the embedded
// store stops being ready (--ready-min-free-mib).
const DefaultReadyMinFree = 64 << 20

// liveness answers /healthz: the process answers and the database is
// reachable, with the number of agents connected here.
func liveness(st pinger, gw agentCounter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		status, code := "ok", http.StatusOK
		if err := st.Ping(r.Context()); err != nil {
			status, code = "store unavailable: "+err.Error(), http.StatusServiceUnavailable
		}
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "agents_connected": gw.Connected()})
	})
}

// pinger reaches the database; the store implements it.
type pinger interface {
	Ping(ctx context.Context) error
}

// agentCounter counts the agents connected here; the gateway implements it.
type agentCounter interface {
	Connected() int
}

// writeChecker commits a small write; the store implements it.
type writeChecker interface {
	CheckWrite(ctx context.Context) error
}

// readiness answers /readyz: whether this hub can take work now. /healthz
// says only that the process answers; a hub whose store cannot commit
// (a full disk, a read-only database, PostgreSQL gone) is alive but must
// not get traffic, since it could acknowledge nothing.
type readiness struct {
	store   writeChecker
	dataDir string // the embedded store's directory; "" with PostgreSQL
	minFree uint64

	// Answers are reused for a second: the route needs no login, and each
	// check commits a write.
	mu     sync.Mutex
	at     time.Time
	reason string
}

// check returns "" when ready, else the reason it is not.
func (r *readiness) check(ctx context.Context) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := time.Now(); now.Sub(r.at) < time.Second {
		return r.reason
	}
	r.reason = r.checkNow(ctx)
	r.at = time.Now()
	return r.reason
}

func (r *readiness) checkNow(ctx context.Context) string {
	if r.dataDir != "" {
		// A write that fits in space SQLite already holds can succeed on a
		// full disk while the next one that needs a page fails, so the
		// free space is checked besides the write itself.
		free, err := diskFree(r.dataDir)
		if err == nil && free < r.minFree {
			return fmt.Sprintf("disk nearly full: %s free in %s, less than the %s the store needs (--ready-min-free-mib)",
				mib(free), r.dataDir, mib(r.minFree))
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := r.store.CheckWrite(ctx); err != nil {
		return "store cannot commit: " + err.Error()
	}
	return ""
}

func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func (r *readiness) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if reason := r.check(req.Context()); reason != "" {
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "not ready", "reason": reason})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "ready"})
}
