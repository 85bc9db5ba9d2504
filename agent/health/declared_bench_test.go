package health

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/collect"
	"github.com/tierline/tierline/agent/history"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/policy"
)

// benchPolicy writes a hub policy of 50 declarative checks of every kind
// that runs on this OS, all looking at this machine or loopback: 15 file
// checks (5 matching content), 10 processes, 5 services, 5 names, 5 TCP
// ports, 5 URLs (HEAD) and 5 packages.
func benchPolicy(b *testing.B) []policy.Check {
	dir := b.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	b.Cleanup(srv.Close)
	var cs []string
	add := func(format string, args ...any) { cs = append(cs, fmt.Sprintf(format, args...)) }
	for i := range 15 {
		p := filepath.Join(dir, fmt.Sprintf("f%d.conf", i))
		if err := os.WriteFile(p, []byte(strings.Repeat("key = value\n", 200)+"server = vpn.example\n"), 0o600); err != nil {
			b.Fatal(err)
		}
		match := ""
		if i < 5 {
			match = `, "match": "(?m)^server = "`
		}
		add(`{"name": "file-%d", "title": "File %d", "file": {"path": %q, "max_age": "24h", "min_size": 10%s}}`, i, i, p, match)
	}
	for i := range 10 {
		add(`{"name": "proc-%d", "title": "Process %d", "process": {"name": "no-such-process-%d"}}`, i, i, i)
	}
	for i, s := range []string{"systemd-journald", "dbus", "cups", "cron", "ssh"} {
		add(`{"name": "svc-%d", "title": "Service %d", "service": {"name": %q}}`, i, i, s)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	for i := range 5 {
		add(`{"name": "dns-%d", "title": "Name %d", "dns": {"name": "localhost"}}`, i, i)
		add(`{"name": "tcp-%d", "title": "Port %d", "tcp": {"host": "127.0.0.1", "port": %d}}`, i, i, port)
		add(`{"name": "http-%d", "title": "URL %d", "http": {"url": %q, "status": 204}}`, i, i, srv.URL+"/health")
		add(`{"name": "pkg-%d", "title": "Package %d", "package": {"name": "pkg%d", "min_version": "1.2"}}`, i, i, i)
	}
	d, err := policy.Decode([]byte(`{"checks": [` + strings.Join(cs, ",") + `]}`))
	if err != nil {
		b.Fatal(err)
	}
	if len(d.Checks) != 50 {
		b.Fatalf("%d checks", len(d.Checks))
	}
	return d.Checks
}

// BenchmarkChecksWithPolicy is BenchmarkChecks with a hub policy of 50
// declarative checks loaded (benchPolicy): one scheduled run of every
// check, as the agent runs them each minute, the clock a minute later at
// each (so declarative checks run every fifth, their default interval). cpu-ns/op is the process's CPU per run, so per minute on
// average at the default interval; declared-cpu-ns/op is the part the 50
// declarative checks take (measured alone over the same minutes), and
// declared-fresh-cpu-ns/op one run of all 50 asked for at once (Get help).
func BenchmarkChecksWithPolicy(b *testing.B) {
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
	inv := &diag.Inventory{}
	for i := range 2000 {
		inv.Software = append(inv.Software, diag.Software{Name: fmt.Sprintf("package-%d", i), Version: "1.0"})
	}
	now := s.Time
	clock := func() time.Time { return now }
	// Packed once per inventory, as the agent does (agent/daemon).
	packed := PackagesOf(inv.Software)
	env := Env{Latest: hist.Latest, Recent: hist.Recent, Now: clock,
		Packages: func() (Packages, bool) { return packed, true }, ProcessNames: col.ProcessNames}
	cfg := Config{ResolvConf: rc}
	r, err := NewRunner(cfg, env)
	if err != nil {
		b.Fatal(err)
	}
	specs := benchPolicy(b)
	if err := r.Reconfigure(cfg, specs); err != nil {
		b.Fatal(err)
	}
	declared := NewRunnerOf(10*time.Second, Declared(cfg, env, specs)...)
	for _, res := range declared.Run(Fresh(ctx)) {
		if res.Status == diag.StatusUnknown && !strings.HasPrefix(res.Name, "svc-") {
			b.Fatalf("%s: %s %v", res.Name, res.Summary, res.Evidence)
		}
	}
	b.ReportAllocs()
	start, ok := cpuTime()
	for b.Loop() {
		now = now.Add(time.Minute)
		r.Run(ctx)
	}
	end, ok2 := cpuTime()
	if ok && ok2 {
		b.ReportMetric(float64((end-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
	const n = 50
	dstart, _ := cpuTime()
	for range n {
		now = now.Add(time.Minute)
		declared.Run(ctx)
	}
	dend, _ := cpuTime()
	for range n {
		declared.Run(Fresh(ctx))
	}
	fend, ok3 := cpuTime()
	if ok && ok3 {
		b.ReportMetric(float64((dend-dstart).Nanoseconds())/n, "declared-cpu-ns/op")
		b.ReportMetric(float64((fend-dend).Nanoseconds())/n, "declared-fresh-cpu-ns/op")
	}
}
