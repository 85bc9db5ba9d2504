// Package storetest opens throwaway stores for tests: a fresh SQLite file,
// and, when TIERLINE_TEST_POSTGRES holds a server URL, a fresh PostgreSQL
// database per test.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"

	"github.com/tierline/tierline/hub/store"
)

// PostgresEnv names the environment variable holding the URL of a
// PostgreSQL server tests may create databases on, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const PostgresEnv = "TIERLINE_TEST_POSTGRES"

// Open opens a fresh SQLite store in t.TempDir(), closed when t ends.
func Open(t testing.TB) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatalf("open sqlite store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// OpenPostgres creates a fresh database on the server at serverURL, opens a
// store on it and drops the database when t ends.
func OpenPostgres(t testing.TB, serverURL string) *store.Store {
	t.Helper()
	s, _ := OpenPostgresURL(t, serverURL)
	return s
}

// OpenPostgresURL is OpenPostgres, also returning the fresh database's
// URL (for a second connection to it).
func OpenPostgresURL(t testing.TB, serverURL string) (*store.Store, string) {
	t.Helper()
	ctx := context.Background()
	u, err := url.Parse(serverURL)
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	admin, err := sql.Open("pgx", serverURL)
	if err != nil {
		t.Fatalf("connect postgres: %v", err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "tl_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		t.Fatalf("create database %s: %v", name, err)
	}
	u.Path = "/" + name
	s, err := store.Open(ctx, u.String())
	if err != nil {
		admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close()
		t.Fatalf("open postgres store: %v", err)
	}
	t.Cleanup(func() {
		s.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
		admin.Close()
	})
	return s, u.String()
}

// Backends runs fn against a fresh SQLite store and, when
// TIERLINE_TEST_POSTGRES is set, against a fresh PostgreSQL database, each
// as a subtest named after the dialect.
func Backends(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, Open(t)) })
	if pg := os.Getenv(PostgresEnv); pg != "" {
		t.Run("postgres", func(t *testing.T) { fn(t, OpenPostgres(t, pg)) })
	}
}
