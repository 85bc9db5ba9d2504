package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// Statements on the connection path (a device's hello, presence, its
// pending runs and tickets) and the ingest path (telemetry rows,
// acknowledged sequence numbers) run thousands of times a second in a
// reconnect storm. SQLite parsed each one again every time (14% of a
// storm's CPU); here they are prepared once: read statements on first
// use (each connection of the read pool keeps its own compiled copy), the
// write transactions' statements when the store opens (the one writer
// connection cannot prepare while a transaction holds it). PostgreSQL
// (pgx) already caches statements per connection, so there they run as
// plain queries, as before.

// stmts caches prepared statements by pool and text.
type stmts struct {
	mu sync.Mutex
	m  map[stmtKey]*sql.Stmt
}

type stmtKey struct {
	db    *sql.DB
	query string
}

// hot is one statement of a hot path: prepared (SQLite) or plain.
type hot struct {
	st *sql.Stmt
	on execer
	q  string
}

func (h hot) ExecContext(ctx context.Context, args ...any) (sql.Result, error) {
	if h.st != nil {
		return h.st.ExecContext(ctx, args...)
	}
	return h.on.ExecContext(ctx, h.q, args...)
}

func (h hot) QueryContext(ctx context.Context, args ...any) (*sql.Rows, error) {
	if h.st != nil {
		return h.st.QueryContext(ctx, args...)
	}
	return h.on.QueryContext(ctx, h.q, args...)
}

func (h hot) QueryRowContext(ctx context.Context, args ...any) *sql.Row {
	if h.st != nil {
		return h.st.QueryRowContext(ctx, args...)
	}
	return h.on.QueryRowContext(ctx, h.q, args...)
}

// read is query (placeholders ?) on the read pool, prepared on first use
// with SQLite.
func (s *Store) read(ctx context.Context, query string) (hot, error) {
	h := hot{on: s.r, q: s.q(query)}
	if s.dialect != DialectSQLite {
		return h, nil
	}
	k := stmtKey{s.r, query}
	s.stmts.mu.Lock()
	st := s.stmts.m[k]
	s.stmts.mu.Unlock()
	if st == nil {
		var err error
		if st, err = s.r.PrepareContext(ctx, h.q); err != nil {
			return hot{}, fmt.Errorf("prepare: %w", err)
		}
		s.stmts.mu.Lock()
		if old := s.stmts.m[k]; old != nil {
			st.Close()
			st = old
		} else {
			s.stmts.m[k] = st
		}
		s.stmts.mu.Unlock()
	}
	h.st = st
	return h, nil
}

// txHot is query (placeholders ?) in the write transaction tx: with SQLite
// the statement prepared when the store opened (prepareWrites), if it is
// one of them.
func (s *Store) txHot(ctx context.Context, tx *sql.Tx, query string) hot {
	h := hot{on: tx, q: s.q(query)}
	if s.dialect != DialectSQLite {
		return h
	}
	s.stmts.mu.Lock()
	st := s.stmts.m[stmtKey{s.w, query}]
	s.stmts.mu.Unlock()
	if st != nil {
		h.st = tx.StmtContext(ctx, st)
	}
	return h
}

// writeStatements lists the write transactions' hot statements, every
// variant, for prepareWrites.
func (s *Store) writeStatements() []string {
	qs := []string{presenceUp, presenceDown, telemetryInsert}
	for _, w := range lockWidths {
		qs = append(qs, s.lockDevicesQuery(w))
	}
	for v := range 8 {
		qs = append(qs, flushDeviceQuery(v&1 != 0, v&2 != 0, v&4 != 0))
	}
	return qs
}

// prepareWrites prepares the write transactions' hot statements on the
// writer connection (SQLite only).
func (s *Store) prepareWrites(ctx context.Context) error {
	if s.dialect != DialectSQLite {
		return nil
	}
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	if s.stmts.m == nil {
		s.stmts.m = map[stmtKey]*sql.Stmt{}
	}
	for _, q := range s.writeStatements() {
		st, err := s.w.PrepareContext(ctx, s.q(q))
		if err != nil {
			return fmt.Errorf("prepare %.60q: %w", q, err)
		}
		s.stmts.m[stmtKey{s.w, q}] = st
	}
	return nil
}

// closeStmts closes every prepared statement (at Close).
func (s *Store) closeStmts() {
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	for _, st := range s.stmts.m {
		st.Close()
	}
	s.stmts.m = nil
}
