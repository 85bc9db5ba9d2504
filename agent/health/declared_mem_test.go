package health

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/collect"
	"github.com/tierline/tierline/agent/history"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/policy"
)

// BenchmarkDeclaredMemory is what a hub policy of 50 declarative checks
// (benchPolicy, its URLs over HTTPS as scripts/policybench.sh asks the
// hub) leaves behind in the agent once they have run: the heap still in
// use after a collection (retained-heap-B), the goroutine stacks and the
// runtime's other memory (retained-sys-B: stacks, spans, goroutine
// records), and the most goroutines alive during a run (peak-goroutines).
// With TIERLINE_HEAPPROFILE=FILE it writes the heap profile of what the
// checks retain. docs/benchmarks.md has the figures.
func BenchmarkDeclaredMemory(b *testing.B) {
	if os.Getenv("TIERLINE_HEAPPROFILE") != "" {
		runtime.MemProfileRate = 1
	}
	ctx := context.Background()
	col := collect.New()
	hist := history.New(history.Config{Interval: 10 * time.Second})
	s, err := col.Sample(ctx)
	if err != nil {
		b.Fatal(err)
	}
	hist.Add(s)
	rc := filepath.Join(b.TempDir(), "resolv.conf")
	if err := os.WriteFile(rc, []byte("nameserver 127.0.0.1\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	b.Cleanup(tlsSrv.Close)
	var specs []policy.Check
	for _, c := range benchPolicy(b) {
		if c.HTTP != nil {
			h := *c.HTTP
			h.URL = tlsSrv.URL + "/healthz" // its certificate is no system root's: the check fails after a full verification
			c.HTTP = &h
		}
		specs = append(specs, c)
	}
	now := s.Time
	env := Env{Latest: hist.Latest, Recent: hist.Recent, Now: func() time.Time { return now },
		Packages: func() (Packages, bool) { return PackagesOf(nil), true }, ProcessNames: col.ProcessNames}
	cfg := Config{ResolvConf: rc}
	r, err := NewRunner(cfg, env)
	if err != nil {
		b.Fatal(err)
	}
	r.Run(Fresh(ctx)) // the built-in checks' own first-run costs are not the policy's
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := r.Reconfigure(cfg, specs); err != nil {
		b.Fatal(err)
	}
	peak := 0
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			peak = max(peak, runtime.NumGoroutine())
			time.Sleep(100 * time.Microsecond)
		}
	}()
	for b.Loop() {
		now = now.Add(5 * time.Minute) // every declarative check runs
		for _, res := range r.Run(ctx) {
			if strings.HasPrefix(res.Name, "http-") && res.Status != diag.StatusFailing {
				b.Fatalf("%s: %s %v", res.Name, res.Summary, res.Evidence)
			}
		}
	}
	close(stop)
	<-done
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse)), "retained-heap-B")
	sys := func(m runtime.MemStats) int64 {
		return int64(m.StackInuse + m.MSpanInuse + m.MCacheInuse + m.BuckHashSys + m.GCSys + m.OtherSys)
	}
	b.ReportMetric(float64(sys(after)-sys(before)), "retained-sys-B")
	b.ReportMetric(float64(peak), "peak-goroutines")
	if f := os.Getenv("TIERLINE_HEAPPROFILE"); f != "" {
		out, err := os.Create(f)
		if err != nil {
			b.Fatal(err)
		}
		defer out.Close()
		if err := pprof.Lookup("heap").WriteTo(out, 0); err != nil {
			b.Fatal(err)
		}
	}
	runtime.KeepAlive(r)
}
