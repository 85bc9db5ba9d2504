package store_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/shared/wire"
)

// BenchmarkRunResultIngest is the store's part of a fix's round trip on
// the replica holding the agent: one run's result ingested alone (as a
// result arriving on its own between telemetry is), on SQLite and, with
// TIERLINE_TEST_POSTGRES, on PostgreSQL, where each statement of the
// transaction is a round trip while the device's row is locked.
func BenchmarkRunResultIngest(b *testing.B) {
	backends := map[string]func(testing.TB) *store.Store{"sqlite": storetest.Open}
	if u := os.Getenv(storetest.PostgresEnv); u != "" {
		backends["postgres"] = func(tb testing.TB) *store.Store { return storetest.OpenPostgres(tb, u) }
	}
	for _, name := range []string{"sqlite", "postgres"} {
		open := backends[name]
		if open == nil {
			continue
		}
		b.Run(name, func(b *testing.B) {
			s := open(b)
			enroll(b, s, "d1", "alpha")
			// The runs are stored before the clock starts: only their
			// results are measured.
			runs := make([]store.Run, b.N)
			for i := range runs {
				runs[i] = newRun(fmt.Sprintf("r%d", i), "d1", "flush-dns", t0)
			}
			for len(runs) > 0 {
				n := min(len(runs), 500)
				if err := s.CreateRuns(ctx, nil, runs[:n]); err != nil {
					b.Fatal(err)
				}
				runs = runs[n:]
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				res, err := s.Ingest(ctx, []store.IngestItem{{DeviceID: "d1", Seq: uint64(i + 1), Kind: store.KindRunResult, Received: t0,
					RunResult: &wire.RunResult{RunID: fmt.Sprintf("r%d", i), Outcome: wire.OutcomeFixed}}})
				if err != nil {
					b.Fatal(err)
				}
				if res[0].RunDone == nil {
					b.Fatalf("run r%d: no result stored (%+v)", i, res[0])
				}
			}
		})
	}
}
