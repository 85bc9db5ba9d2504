package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
)

// BenchmarkSearchSoftware answers "which devices have X (below version Y)"
// over a fleet of TIERLINE_BENCH_DEVICES devices (default 10,000) with
// 1,000 packages each: firefox on every device in 20 versions, and 999
// packages drawn from 20,000 names, so each of those is on about 500
// devices. The target is under 100 ms a search. Set
// TIERLINE_TEST_POSTGRES to run it on PostgreSQL too.
func BenchmarkSearchSoftware(b *testing.B) {
	devices := 10000
	if v, err := strconv.Atoi(os.Getenv("TIERLINE_BENCH_DEVICES")); err == nil && v > 0 {
		devices = v
	}
	run := func(b *testing.B, s *store.Store) {
		fillSoftwareFleet(b, s, devices)
		for _, q := range []store.SoftwareSearch{
			{Name: "firefox", Below: "120.0.10"},
			{Name: "firefox"},
			{Name: "pkg-00042"},
			{Name: "pkg-0004*", Below: "2.0"},
		} {
			name := q.Name
			if q.Below != "" {
				name += "<" + q.Below
			}
			b.Run(name, func(b *testing.B) {
				n := 0
				for b.Loop() {
					m, _, err := s.SearchSoftware(context.Background(), q)
					if err != nil {
						b.Fatal(err)
					}
					n = len(m)
				}
				b.ReportMetric(float64(n), "matches")
			})
		}
	}
	b.Run("sqlite", func(b *testing.B) { run(b, storetest.Open(b)) })
	if u := os.Getenv(storetest.PostgresEnv); u != "" {
		b.Run("postgres", func(b *testing.B) { run(b, storetest.OpenPostgres(b, u)) })
	}
}

// fillSoftwareFleet writes the benchmark's devices and software rows
// directly, many rows a statement: going through Ingest would measure
// ingestion, not the search.
func fillSoftwareFleet(b *testing.B, s *store.Store, devices int) {
	b.Helper()
	ctx := context.Background()
	db := s.DB()
	rebind := func(q string) string {
		if s.Dialect() != store.DialectPostgres {
			return q
		}
		var sb strings.Builder
		n := 0
		for _, c := range q {
			if c == '?' {
				n++
				fmt.Fprintf(&sb, "$%d", n)
				continue
			}
			sb.WriteRune(c)
		}
		return sb.String()
	}
	// Rows go in name order (the order of SQLite's clustered table) with
	// the secondary index dropped and built afterwards, the way a large
	// table is best filled; commits every million rows keep the
	// write-ahead log small.
	index := map[string][2]string{
		store.DialectSQLite: {"DROP INDEX device_software_device", "CREATE INDEX device_software_device ON device_software (device_id)"},
		store.DialectPostgres: {"DROP INDEX device_software_name",
			"CREATE INDEX device_software_name ON device_software (name_key, device_id) INCLUDE (name, version, source, publisher, installed)"},
	}[s.Dialect()]
	if _, err := db.ExecContext(ctx, index[0]); err != nil {
		b.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	for d := range devices {
		id := fmt.Sprintf("%032x", d+1)
		if _, err := tx.ExecContext(ctx, rebind(`INSERT INTO devices (id, public_key, hostname, enrolled_at) VALUES (?, ?, ?, 0)`),
			id, []byte(id), fmt.Sprintf("host-%05d", d)); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	const perStmt = 1000
	rowSQL := "(?, ?, 'dpkg', ?, ?, '', NULL)"
	insSQL := rebind("INSERT INTO device_software (name_key, device_id, source, name, version, publisher, installed) VALUES " +
		rowSQL + strings.Repeat(", "+rowSQL, perStmt-1))
	var (
		stmt *sql.Stmt
		args = make([]any, 0, 4*perStmt)
		rows int
	)
	flush := func(final bool) {
		if stmt == nil {
			if tx, err = db.BeginTx(ctx, nil); err != nil {
				b.Fatal(err)
			}
			if stmt, err = tx.PrepareContext(ctx, insSQL); err != nil {
				b.Fatal(err)
			}
		}
		if len(args) == 4*perStmt {
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				b.Fatal(err)
			}
			rows += perStmt
			args = args[:0]
		}
		if final && len(args) > 0 {
			n := len(args) / 4
			if _, err := tx.ExecContext(ctx, rebind("INSERT INTO device_software (name_key, device_id, source, name, version, publisher, installed) VALUES "+
				rowSQL+strings.Repeat(", "+rowSQL, n-1)), args...); err != nil {
				b.Fatal(err)
			}
			args = args[:0]
		}
		if final || rows >= 1_000_000 {
			stmt.Close()
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
			stmt, rows = nil, 0
		}
	}
	add := func(name string, d int, version string) {
		args = append(args, name, fmt.Sprintf("%032x", d+1), name, version)
		if len(args) == 4*perStmt {
			flush(false)
		}
	}
	for d := range devices {
		add("firefox", d, fmt.Sprintf("120.0.%d-1", d%20))
	}
	// Device d has pkg-((d + 20i) mod 20000) for i below 999, in version
	// (1 + i mod 3).(d mod 7).
	for n := range 20000 {
		name := fmt.Sprintf("pkg-%05d", n)
		for i := range perStmt - 1 {
			if d := ((n-20*i)%20000 + 20000) % 20000; d < devices {
				add(name, d, fmt.Sprintf("%d.%d", 1+i%3, d%7))
			}
		}
	}
	flush(true)
	if _, err := db.ExecContext(ctx, index[1]); err != nil {
		b.Fatal(err)
	}
	analyze := "ANALYZE"
	if _, err := db.ExecContext(ctx, analyze); err != nil {
		b.Fatal(err)
	}
}
