package store_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/shared/diag"
)

var (
	ctx = context.Background()
	t0  = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

func hash(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

// enroll creates a token and enrolls a device with it.
func enroll(t testing.TB, s *store.Store, id, hostname string) store.Device {
	t.Helper()
	secret := "secret-" + id
	if err := s.CreateToken(ctx, store.Token{ID: "tok-" + id, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), MaxUses: 1}, hash(secret)); err != nil {
		t.Fatalf("create token: %v", err)
	}
	d, err := s.EnrollDevice(ctx, hash(secret), store.Device{ID: id, PublicKey: []byte("pk-" + id), Hostname: hostname, OS: "linux", Arch: "amd64"}, t0)
	if err != nil {
		t.Fatalf("enroll %s: %v", id, err)
	}
	return d
}

func sample(at time.Time, cpu, mem, disk, load, rx, tx float64) *diag.Sample {
	return &diag.Sample{
		Time:        at,
		CPU:         diag.CPU{TotalPct: cpu, Load1: load},
		Memory:      diag.Memory{UsedPct: mem},
		Filesystems: []diag.Filesystem{{Mount: "/", UsedPct: disk}, {Mount: "/boot", UsedPct: disk / 2}},
		Network:     []diag.NetInterface{{Name: "eth0", RxBps: rx, TxBps: tx}},
	}
}

func telemetryItem(dev string, seq uint64, s *diag.Sample) store.IngestItem {
	return store.IngestItem{DeviceID: dev, Seq: seq, Kind: store.KindTelemetry, Received: s.Time, Sample: s}
}

func mustIngest(t testing.TB, s *store.Store, items ...store.IngestItem) []store.IngestResult {
	t.Helper()
	res, err := s.Ingest(ctx, items)
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	if len(res) != len(items) {
		t.Fatalf("ingest: %d results for %d items", len(res), len(items))
	}
	return res
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want %v", what, err, want)
	}
}

var approx = cmpopts.EquateApprox(0, 1e-9)

func TestOpenAndMigrationsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	for i := range 3 {
		s, err := store.Open(ctx, path)
		if err != nil {
			t.Fatalf("open #%d: %v", i, err)
		}
		if s.Dialect() != "sqlite" {
			t.Errorf("dialect %q", s.Dialect())
		}
		if err := s.Ping(ctx); err != nil {
			t.Errorf("ping: %v", err)
		}
		if i == 0 {
			if err := s.PutSetting(ctx, "k", "v"); err != nil {
				t.Fatal(err)
			}
		} else if v, ok, err := s.GetSetting(ctx, "k"); err != nil || !ok || v != "v" {
			t.Errorf("setting after reopen: %q %v %v", v, ok, err)
		}
		for _, pr := range []struct{ name, want string }{
			{"journal_mode", "wal"}, {"synchronous", "2"}, {"foreign_keys", "1"}, {"busy_timeout", "10000"},
		} {
			var got string
			if err := s.DB().QueryRowContext(ctx, "PRAGMA "+pr.name).Scan(&got); err != nil || got != pr.want {
				t.Errorf("PRAGMA %s = %q, %v; want %q", pr.name, got, err, pr.want)
			}
		}
		var n int
		if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n < 1 {
			t.Errorf("schema_migrations rows %d, %v", n, err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}
	if _, err := store.Open(ctx, filepath.Join(t.TempDir(), "missing-dir", "x", "hub.db")); err == nil {
		t.Errorf("open in a missing directory succeeded")
	}
}

func TestPostgresMigrationsIdempotent(t *testing.T) {
	pg := os.Getenv(storetest.PostgresEnv)
	if pg == "" {
		t.Skip(storetest.PostgresEnv + " not set")
	}
	s := storetest.OpenPostgres(t, pg)
	if s.Dialect() != "postgres" {
		t.Errorf("dialect %q", s.Dialect())
	}
	var db string
	if err := s.DB().QueryRowContext(ctx, `SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	u := strings.Replace(pg, "/test?", "/"+db+"?", 1)
	if !strings.Contains(u, db) {
		t.Skip("cannot derive database URL from " + pg)
	}
	s2, err := store.Open(ctx, u)
	if err != nil {
		t.Fatalf("second open: %v", err)
	}
	s2.Close()
}

func TestTokens(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		toks := []store.Token{
			{ID: "a", Note: "first", CreatedBy: "admin", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), MaxUses: 2},
			{ID: "b", CreatedAt: t0.Add(time.Minute), ExpiresAt: t0.Add(time.Minute + time.Second), MaxUses: 5},
			{ID: "c", CreatedAt: t0.Add(2 * time.Minute), ExpiresAt: t0.Add(time.Hour), MaxUses: 1},
		}
		for _, tk := range toks {
			if err := s.CreateToken(ctx, tk, hash(tk.ID)); err != nil {
				t.Fatalf("create %s: %v", tk.ID, err)
			}
		}
		wantErr(t, "duplicate token", s.CreateToken(ctx, toks[0], hash("a")), store.ErrExists)

		now := t0.Add(30 * time.Second)
		d, err := s.EnrollDevice(ctx, hash("a"), store.Device{ID: "d1", PublicKey: []byte{1, 2}, Hostname: "h1"}, now)
		if err != nil {
			t.Fatalf("enroll: %v", err)
		}
		if d.TokenID != "a" || !d.EnrolledAt.Equal(now) {
			t.Errorf("enrolled device %+v", d)
		}
		// Same device id again: refused, and the use is not consumed.
		_, err = s.EnrollDevice(ctx, hash("a"), store.Device{ID: "d1", PublicKey: []byte{3}}, now)
		wantErr(t, "duplicate device", err, store.ErrExists)
		if _, err := s.EnrollDevice(ctx, hash("a"), store.Device{ID: "d2"}, now); err != nil {
			t.Fatalf("second use of a 2-use token: %v", err)
		}
		_, err = s.EnrollDevice(ctx, hash("a"), store.Device{ID: "d3"}, now)
		wantErr(t, "used up", err, store.ErrTokenUsedUp)
		_, err = s.EnrollDevice(ctx, hash("b"), store.Device{ID: "d3"}, t0.Add(2*time.Minute))
		wantErr(t, "expired", err, store.ErrTokenExpired)
		_, err = s.EnrollDevice(ctx, hash("nope"), store.Device{ID: "d3"}, now)
		wantErr(t, "unknown", err, store.ErrTokenUnknown)
		if err := s.RevokeToken(ctx, "c", now); err != nil {
			t.Fatal(err)
		}
		_, err = s.EnrollDevice(ctx, hash("c"), store.Device{ID: "d3"}, now)
		wantErr(t, "revoked", err, store.ErrTokenRevoked)
		wantErr(t, "revoke unknown", s.RevokeToken(ctx, "zz", now), store.ErrNotFound)

		got, err := s.ListTokens(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rev := now
		toks[0].Uses = 2
		toks[2].RevokedAt = &rev
		for i := range toks {
			toks[i].Site = store.DefaultSite // a token made without a site enrolls to the default one
		}
		want := []store.Token{toks[2], toks[1], toks[0]}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ListTokens (-want +got):\n%s", diff)
		}
		dev, err := s.GetDevice(ctx, "d1")
		if err != nil {
			t.Fatal(err)
		}
		if string(dev.PublicKey) != "\x01\x02" || dev.Hostname != "h1" || dev.TokenID != "a" {
			t.Errorf("GetDevice: %+v", dev)
		}
	})
}

func TestConcurrentEnrollment(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		if err := s.CreateToken(ctx, store.Token{ID: "once", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), MaxUses: 1}, hash("once")); err != nil {
			t.Fatal(err)
		}
		const n = 20
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = s.EnrollDevice(ctx, hash("once"), store.Device{ID: fmt.Sprintf("dev-%02d", i)}, t0.Add(time.Second))
			}()
		}
		close(start)
		wg.Wait()
		ok := 0
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, store.ErrTokenUsedUp):
				t.Errorf("enroll #%d: %v, want ErrTokenUsedUp", i, err)
			}
		}
		if ok != 1 {
			t.Errorf("%d enrollments succeeded, want 1", ok)
		}
		if total, _, err := s.CountDevices(ctx); err != nil || total != 1 {
			t.Errorf("CountDevices = %d, %v; want 1", total, err)
		}
	})
}

func TestDevices(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		enroll(t, s, "d-b", "bravo")
		enroll(t, s, "d-a", "alpha")
		enroll(t, s, "d-c", "charlie")

		_, err := s.GetDevice(ctx, "nope")
		wantErr(t, "GetDevice unknown", err, store.ErrNotFound)

		at := t0.Add(time.Minute)
		if err := s.MarkConnected(ctx, "d-a", store.DeviceHello{Hostname: "alpha2", OS: "windows", Arch: "arm64", Platform: "Windows 11", AgentVersion: "1.2.3", SpoolDropped: 7}, at); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "MarkConnected unknown", s.MarkConnected(ctx, "nope", store.DeviceHello{}, at), store.ErrNotFound)
		if err := s.MarkConnected(ctx, "d-b", store.DeviceHello{Hostname: "bravo"}, at); err != nil {
			t.Fatal(err)
		}
		d, err := s.GetDevice(ctx, "d-a")
		if err != nil {
			t.Fatal(err)
		}
		if !d.Online || d.Hostname != "alpha2" || d.OS != "windows" || d.Arch != "arm64" || d.Platform != "Windows 11" ||
			d.AgentVersion != "1.2.3" || d.SpoolDropped != 7 || d.LastSeen == nil || !d.LastSeen.Equal(at) {
			t.Errorf("after MarkConnected: %+v", d)
		}
		if total, online, err := s.CountDevices(ctx); err != nil || total != 3 || online != 2 {
			t.Errorf("CountDevices = %d, %d, %v; want 3, 2", total, online, err)
		}
		yes, no := true, false
		names := func(ds []store.Device) []string {
			var out []string
			for _, d := range ds {
				out = append(out, d.Hostname)
			}
			return out
		}
		for _, tc := range []struct {
			opt  store.ListDevicesOptions
			want []string
		}{
			{store.ListDevicesOptions{}, []string{"alpha2", "bravo", "charlie"}},
			{store.ListDevicesOptions{Online: &yes}, []string{"alpha2", "bravo"}},
			{store.ListDevicesOptions{Online: &no}, []string{"charlie"}},
			{store.ListDevicesOptions{Limit: 2}, []string{"alpha2", "bravo"}},
			{store.ListDevicesOptions{Group: "nope"}, nil},
		} {
			ds, err := s.ListDevices(ctx, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, names(ds)); diff != "" {
				t.Errorf("ListDevices(%+v) (-want +got):\n%s", tc.opt, diff)
			}
		}

		if err := s.MarkDisconnected(ctx, "d-a", at.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "MarkDisconnected unknown", s.MarkDisconnected(ctx, "nope", at), store.ErrNotFound)
		if _, online, _ := s.CountDevices(ctx); online != 1 {
			t.Errorf("online after disconnect = %d, want 1", online)
		}
		if err := s.MarkAllOffline(ctx); err != nil {
			t.Fatal(err)
		}
		if _, online, _ := s.CountDevices(ctx); online != 0 {
			t.Errorf("online after MarkAllOffline = %d, want 0", online)
		}

		touch := t0.Add(time.Hour)
		ids := []string{"d-a", "d-c", "unknown"}
		for i := range 1200 { // more than one batch
			ids = append(ids, fmt.Sprintf("x%d", i))
		}
		if err := s.TouchDevices(ctx, ids, touch); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"d-a", "d-c"} {
			d, _ := s.GetDevice(ctx, id)
			if d.LastSeen == nil || !d.LastSeen.Equal(touch) {
				t.Errorf("%s last seen %v, want %v", id, d.LastSeen, touch)
			}
		}
		if err := s.TouchDevices(ctx, nil, touch); err != nil {
			t.Errorf("TouchDevices(nil): %v", err)
		}

		// Revocation.
		if err := s.MarkConnected(ctx, "d-c", store.DeviceHello{Hostname: "charlie"}, touch); err != nil {
			t.Fatal(err)
		}
		revAt := t0.Add(2 * time.Hour)
		if err := s.RevokeDevice(ctx, "d-c", revAt); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "RevokeDevice unknown", s.RevokeDevice(ctx, "nope", revAt), store.ErrNotFound)
		d, _ = s.GetDevice(ctx, "d-c")
		if d.Online || d.RevokedAt == nil || !d.RevokedAt.Equal(revAt) {
			t.Errorf("revoked device: online %v revoked %v", d.Online, d.RevokedAt)
		}
		got, err := s.DevicesRevokedSince(ctx, revAt.Add(-time.Nanosecond))
		if err != nil || !cmp.Equal(got, []string{"d-c"}) {
			t.Errorf("DevicesRevokedSince before = %v, %v", got, err)
		}
		got, err = s.DevicesRevokedSince(ctx, revAt)
		if err != nil || len(got) != 0 {
			t.Errorf("DevicesRevokedSince at = %v, %v", got, err)
		}
		if total, online, _ := s.CountDevices(ctx); total != 2 || online != 0 {
			t.Errorf("CountDevices after revoke = %d, %d; want 2, 0", total, online)
		}
		ds, _ := s.ListDevices(ctx, store.ListDevicesOptions{})
		if diff := cmp.Diff([]string{"alpha2", "bravo"}, names(ds)); diff != "" {
			t.Errorf("ListDevices without revoked:\n%s", diff)
		}
		ds, _ = s.ListDevices(ctx, store.ListDevicesOptions{Revoked: true})
		if diff := cmp.Diff([]string{"alpha2", "bravo", "charlie"}, names(ds)); diff != "" {
			t.Errorf("ListDevices with revoked:\n%s", diff)
		}
	})
}

func TestIngest(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		enroll(t, s, "d1", "one")
		enroll(t, s, "d2", "two")
		s1 := sample(t0.Add(time.Second), 10, 20, 30, 0.5, 100, 200)
		s2 := sample(t0.Add(2*time.Second), 11, 21, 31, 0.6, 101, 201)
		res := mustIngest(t, s,
			telemetryItem("d1", 1, s1),
			telemetryItem("d1", 1, s1),                                          // duplicate within the batch
			telemetryItem("ghost", 1, s1),                                       // unknown device
			telemetryItem("d1", 3, s2),                                          // gaps are fine
			telemetryItem("d1", 2, s1),                                          // below last seq: duplicate
			telemetryItem("d2", 5, s2),                                          // another device
			store.IngestItem{DeviceID: "d2", Seq: 6, Kind: store.KindRejected},  // only advances
			store.IngestItem{DeviceID: "d2", Seq: 7, Kind: store.KindTelemetry}, // no sample: error, no effect
		)
		type r struct {
			Dup bool
			Err bool
		}
		var got []r
		for _, x := range res {
			got = append(got, r{x.Duplicate, x.Err != nil})
		}
		want := []r{{}, {Dup: true}, {Err: true}, {}, {Dup: true}, {}, {}, {Err: true}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("results (-want +got):\n%s", diff)
		}
		if !errors.Is(res[2].Err, store.ErrNotFound) {
			t.Errorf("unknown device error %v, want ErrNotFound", res[2].Err)
		}
		// The whole batch again: all duplicates, nothing applied twice.
		res = mustIngest(t, s, telemetryItem("d1", 1, s1), telemetryItem("d1", 3, s2), store.IngestItem{DeviceID: "d2", Seq: 6, Kind: store.KindRejected})
		for i, x := range res {
			if !x.Duplicate || x.Err != nil {
				t.Errorf("replay %d: %+v, want duplicate", i, x)
			}
		}

		d1, err := s.GetDevice(ctx, "d1")
		if err != nil {
			t.Fatal(err)
		}
		if d1.LastSeq != 3 {
			t.Errorf("d1 last seq %d, want 3", d1.LastSeq)
		}
		if diff := cmp.Diff(s2, d1.Latest); diff != "" {
			t.Errorf("latest sample (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(&diag.Summary{CPUPct: 11, MemPct: 21, DiskPct: 31, Load1: 0.6, RxBps: 101, TxBps: 201}, d1.Summary); diff != "" {
			t.Errorf("summary (-want +got):\n%s", diff)
		}
		if d1.LatestAt == nil || !d1.LatestAt.Equal(s2.Time) || d1.LastSeen == nil || !d1.LastSeen.Equal(s2.Time) {
			t.Errorf("latest at %v, last seen %v", d1.LatestAt, d1.LastSeen)
		}
		pts, err := s.Telemetry(ctx, store.TelemetryQuery{DeviceID: "d1", Since: t0, Until: t0.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if len(pts) != 2 || pts[0].Seq != 1 || pts[1].Seq != 3 {
			t.Errorf("d1 telemetry %+v, want seqs 1 and 3", pts)
		}
		d2, _ := s.GetDevice(ctx, "d2")
		if d2.LastSeq != 6 {
			t.Errorf("d2 last seq %d, want 6 (rejected advances, failed item does not)", d2.LastSeq)
		}
		ds, _ := s.ListDevices(ctx, store.ListDevicesOptions{})
		if len(ds) != 2 || ds[0].Summary == nil || ds[0].LatestAt == nil || ds[0].Latest != nil || ds[0].Health != nil {
			t.Errorf("ListDevices: %+v", ds)
		}

		// Inventory replaces the previous one.
		inv := &diag.Inventory{Time: t0, Hostname: "one", OS: diag.OSInfo{Name: "linux", Arch: "amd64"}, Hash: "h1"}
		mustIngest(t, s, store.IngestItem{DeviceID: "d1", Seq: 4, Kind: store.KindInventory, Received: t0, Inventory: inv})
		inv2 := &diag.Inventory{Time: t0.Add(time.Minute), Hostname: "one", OS: diag.OSInfo{Name: "linux", Arch: "arm64"}, Hash: "h2"}
		mustIngest(t, s, store.IngestItem{DeviceID: "d1", Seq: 5, Kind: store.KindInventory, Received: t0, Inventory: inv2, SpoolDropped: 3})
		d1, _ = s.GetDevice(ctx, "d1")
		if diff := cmp.Diff(inv2, d1.Inventory); diff != "" {
			t.Errorf("inventory (-want +got):\n%s", diff)
		}
		if d1.SpoolDropped != 3 || d1.LastSeq != 5 {
			t.Errorf("spool dropped %d last seq %d", d1.SpoolDropped, d1.LastSeq)
		}
		if res, err := s.Ingest(ctx, nil); err != nil || len(res) != 0 {
			t.Errorf("empty ingest: %v %v", res, err)
		}
	})
}

// TestConcurrentIngest sends the same sequenced items from several
// goroutines (as several hub replicas might): each seq is applied once.
func TestConcurrentIngest(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		enroll(t, s, "d1", "one")
		enroll(t, s, "d2", "two")
		const seqs = 20
		var mu sync.Mutex
		applied, transitions := 0, 0
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for seq := uint64(1); seq <= seqs; seq++ {
					st := diag.StatusOK
					if seq%2 == 0 {
						st = diag.StatusFailing
					}
					var items []store.IngestItem
					for _, dev := range []string{"d1", "d2"} {
						items = append(items, store.IngestItem{DeviceID: dev, Seq: seq, Kind: store.KindHealth, Received: t0,
							Checks: []diag.CheckResult{{Name: "disk", Status: st, Time: t0.Add(time.Duration(seq) * time.Second)}}})
					}
					if g%2 == 1 { // the other lock order
						items[0], items[1] = items[1], items[0]
					}
					res, err := s.Ingest(ctx, items)
					if err != nil {
						t.Errorf("ingest: %v", err)
						return
					}
					mu.Lock()
					for _, r := range res {
						if !r.Duplicate {
							applied++
						}
						transitions += len(r.Transitions)
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if applied != 2*seqs || transitions != 2*seqs {
			t.Errorf("applied %d items with %d transitions, want %d each", applied, transitions, 2*seqs)
		}
		for _, dev := range []string{"d1", "d2"} {
			hist, err := s.CheckHistory(ctx, dev, time.Time{}, 1000)
			if err != nil || len(hist) != seqs {
				t.Errorf("%s history: %d transitions, %v; want %d", dev, len(hist), err, seqs)
			}
		}
	})
}

func TestHealthTransitions(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		enroll(t, s, "d1", "one")
		check := func(name string, st diag.Status, at time.Time) diag.CheckResult {
			return diag.CheckResult{Name: name, Status: st, Summary: name + " is " + string(st), Time: at,
				Evidence: []diag.Evidence{{Label: "used", Value: string(st)}}, Fix: "fix-" + name, Micros: 42}
		}
		health := func(seq uint64, cs ...diag.CheckResult) store.IngestItem {
			return store.IngestItem{DeviceID: "d1", Seq: seq, Kind: store.KindHealth, Received: t0, Checks: cs}
		}
		ta, tb, tc := t0.Add(time.Minute), t0.Add(2*time.Minute), t0.Add(3*time.Minute)
		res := mustIngest(t, s,
			health(1, check("disk", diag.StatusOK, ta), check("memory", diag.StatusWarning, ta)),
			health(2, check("disk", diag.StatusOK, tb), check("memory", diag.StatusWarning, tb)),
		)
		want0 := []store.CheckTransition{
			{DeviceID: "d1", Name: "disk", From: "", To: diag.StatusOK, Time: ta, Summary: "disk is ok"},
			{DeviceID: "d1", Name: "memory", From: "", To: diag.StatusWarning, Time: ta, Summary: "memory is warning"},
		}
		if diff := cmp.Diff(want0, res[0].Transitions); diff != "" {
			t.Errorf("first transitions (-want +got):\n%s", diff)
		}
		if len(res[1].Transitions) != 0 {
			t.Errorf("unchanged status made transitions: %+v", res[1].Transitions)
		}
		// A telemetry item carrying checks applies them too.
		it := telemetryItem("d1", 3, sample(tc, 1, 2, 3, 4, 5, 6))
		it.Checks = []diag.CheckResult{check("disk", diag.StatusFailing, tc)}
		res = mustIngest(t, s, it, health(3, check("disk", diag.StatusOK, tc)))
		want1 := []store.CheckTransition{{DeviceID: "d1", Name: "disk", From: diag.StatusOK, To: diag.StatusFailing, Time: tc, Summary: "disk is failing"}}
		if diff := cmp.Diff(want1, res[0].Transitions); diff != "" {
			t.Errorf("telemetry transitions (-want +got):\n%s", diff)
		}
		if !res[1].Duplicate || len(res[1].Transitions) != 0 {
			t.Errorf("duplicate health item: %+v", res[1])
		}
		d, err := s.GetDevice(ctx, "d1")
		if err != nil {
			t.Fatal(err)
		}
		wantHealth := []diag.CheckResult{check("disk", diag.StatusFailing, tc), check("memory", diag.StatusWarning, tb)}
		if diff := cmp.Diff(wantHealth, d.Health); diff != "" {
			t.Errorf("current health (-want +got):\n%s", diff)
		}
		hist, err := s.CheckHistory(ctx, "d1", time.Time{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		wantHist := append(append([]store.CheckTransition{}, want1...), want0[1], want0[0])
		if diff := cmp.Diff(wantHist, hist, cmpopts.SortSlices(func(a, b store.CheckTransition) bool {
			if !a.Time.Equal(b.Time) {
				return a.Time.After(b.Time)
			}
			return a.Name < b.Name
		})); diff != "" {
			t.Errorf("history (-want +got):\n%s", diff)
		}
		if !hist[0].Time.Equal(tc) {
			t.Errorf("history not newest first: %+v", hist)
		}
		hist, _ = s.CheckHistory(ctx, "d1", tb, 0)
		if diff := cmp.Diff(want1, hist); diff != "" {
			t.Errorf("history since (-want +got):\n%s", diff)
		}
		hist, _ = s.CheckHistory(ctx, "d1", time.Time{}, 2)
		if len(hist) != 2 {
			t.Errorf("history limit 2: %d", len(hist))
		}
	})
}

func TestTelemetryRange(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		enroll(t, s, "d1", "one")
		enroll(t, s, "d2", "two")
		var items []store.IngestItem
		for i := range 10 {
			items = append(items, telemetryItem("d1", uint64(i+1), sample(t0.Add(time.Duration(i)*time.Minute), float64(i), 0, 0, 0, 0, 0)))
		}
		items = append(items, telemetryItem("d2", 1, sample(t0.Add(3*time.Minute), 99, 0, 0, 0, 0, 0)))
		mustIngest(t, s, items...)
		seqs := func(pts []store.TelemetryPoint) []uint64 {
			var out []uint64
			for _, p := range pts {
				out = append(out, p.Seq)
			}
			return out
		}
		pts, err := s.Telemetry(ctx, store.TelemetryQuery{DeviceID: "d1", Since: t0.Add(2 * time.Minute), Until: t0.Add(5 * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]uint64{3, 4, 5, 6}, seqs(pts)); diff != "" {
			t.Errorf("range (-want +got):\n%s", diff)
		}
		for _, p := range pts {
			if p.Sample != nil || p.Count != 1 || p.Rollup || p.Summary.CPUPct != float64(p.Seq-1) {
				t.Errorf("point %+v", p)
			}
		}
		pts, _ = s.Telemetry(ctx, store.TelemetryQuery{DeviceID: "d1", Since: t0, Until: t0.Add(time.Hour), Limit: 3, WithSamples: true})
		if diff := cmp.Diff([]uint64{1, 2, 3}, seqs(pts)); diff != "" {
			t.Errorf("limit (-want +got):\n%s", diff)
		}
		if pts[1].Sample == nil || !pts[1].Sample.Time.Equal(t0.Add(time.Minute)) || pts[1].Sample.CPU.TotalPct != 1 {
			t.Errorf("with samples: %+v", pts[1].Sample)
		}
		pts, _ = s.Telemetry(ctx, store.TelemetryQuery{DeviceID: "d1", Since: t0.Add(time.Hour)})
		if len(pts) != 0 {
			t.Errorf("future range: %+v", pts)
		}
		pts, _ = s.Telemetry(ctx, store.TelemetryQuery{DeviceID: "d2", Since: t0})
		if diff := cmp.Diff([]uint64{1}, seqs(pts)); diff != "" {
			t.Errorf("d2 (Until zero = now) (-want +got):\n%s", diff)
		}
	})
}

func TestPrune(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		enroll(t, s, "d1", "one")
		at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
		mustIngest(t, s,
			telemetryItem("d1", 1, sample(at(0), 10, 50, 20, 1, 100, 10)),
			telemetryItem("d1", 2, sample(at(10), 20, 60, 40, 2, 300, 20)),
			telemetryItem("d1", 3, sample(at(20), 60, 40, 30, 6, 200, 90)),
			telemetryItem("d1", 4, sample(at(60), 40, 10, 10, 4, 50, 5)),
			telemetryItem("d1", 5, sample(at(125), 5, 5, 5, 5, 5, 5)),
		)
		res, err := s.Prune(ctx, at(120), t0.Add(-time.Hour), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(store.PruneResult{RolledUp: 4, RawDeleted: 4}, res); diff != "" {
			t.Errorf("prune result (-want +got):\n%s", diff)
		}
		pts, err := s.Telemetry(ctx, store.TelemetryQuery{DeviceID: "d1", Since: t0.Add(-time.Hour), Until: t0.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		want := []store.TelemetryPoint{
			{Time: at(0), Rollup: true, Count: 3,
				Summary: diag.Summary{CPUPct: 30, MemPct: 50, DiskPct: 30, Load1: 3, RxBps: 200, TxBps: 40},
				Max:     &diag.Summary{CPUPct: 60, MemPct: 60, DiskPct: 40, Load1: 6, RxBps: 300, TxBps: 90}},
			{Time: at(60), Rollup: true, Count: 1,
				Summary: diag.Summary{CPUPct: 40, MemPct: 10, DiskPct: 10, Load1: 4, RxBps: 50, TxBps: 5},
				Max:     &diag.Summary{CPUPct: 40, MemPct: 10, DiskPct: 10, Load1: 4, RxBps: 50, TxBps: 5}},
			{Time: at(125), Seq: 5, Count: 1, Summary: diag.Summary{CPUPct: 5, MemPct: 5, DiskPct: 5, Load1: 5, RxBps: 5, TxBps: 5}},
		}
		if diff := cmp.Diff(want, pts, approx); diff != "" {
			t.Errorf("after first prune (-want +got):\n%s", diff)
		}

		// A late point for bucket 0 merges into the existing rollup.
		mustIngest(t, s, telemetryItem("d1", 6, sample(at(30), 90, 10, 10, 1, 0, 10)))
		res, err = s.Prune(ctx, at(120), t0.Add(-time.Hour), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(store.PruneResult{RolledUp: 1, RawDeleted: 1}, res); diff != "" {
			t.Errorf("second prune result (-want +got):\n%s", diff)
		}
		pts, _ = s.Telemetry(ctx, store.TelemetryQuery{DeviceID: "d1", Since: t0, Until: at(59)})
		want = []store.TelemetryPoint{{Time: at(0), Rollup: true, Count: 4,
			Summary: diag.Summary{CPUPct: 45, MemPct: 40, DiskPct: 25, Load1: 2.5, RxBps: 150, TxBps: 32.5},
			Max:     &diag.Summary{CPUPct: 90, MemPct: 60, DiskPct: 40, Load1: 6, RxBps: 300, TxBps: 90}}}
		if diff := cmp.Diff(want, pts, approx); diff != "" {
			t.Errorf("merged bucket (-want +got):\n%s", diff)
		}

		// Rollup retention.
		res, err = s.Prune(ctx, at(120), at(60), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(store.PruneResult{RollupsDeleted: 1}, res); diff != "" {
			t.Errorf("third prune result (-want +got):\n%s", diff)
		}
		pts, _ = s.Telemetry(ctx, store.TelemetryQuery{DeviceID: "d1", Since: t0, Until: t0.Add(time.Hour)})
		if len(pts) != 2 || !pts[0].Time.Equal(at(60)) || !pts[0].Rollup || pts[1].Seq != 5 {
			t.Errorf("after rollup retention: %+v", pts)
		}
		if _, err := s.Prune(ctx, at(0), at(0), 0); err == nil {
			t.Errorf("prune with zero bucket succeeded")
		}
	})
}

func TestUsersAndAPITokens(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		if n, err := s.CountUsers(ctx); err != nil || n != 0 {
			t.Errorf("CountUsers empty = %d, %v", n, err)
		}
		alice := store.User{ID: "u1", Name: "alice", Role: store.RoleAdmin, PasswordHash: "$argon2id$x", CreatedAt: t0}
		bob := store.User{ID: "u2", Name: "bob", Role: store.RoleTier1, CreatedAt: t0.Add(time.Second)}
		for _, u := range []store.User{bob, alice} {
			if err := s.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		wantErr(t, "duplicate name", s.CreateUser(ctx, store.User{ID: "u3", Name: "alice", Role: store.RoleTier2, CreatedAt: t0}), store.ErrExists)
		got, err := s.GetUserByName(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(alice, got); diff != "" {
			t.Errorf("GetUserByName (-want +got):\n%s", diff)
		}
		got, err = s.GetUser(ctx, "u2")
		if diff := cmp.Diff(bob, got); err != nil || diff != "" {
			t.Errorf("GetUser: %v (-want +got):\n%s", err, diff)
		}
		_, err = s.GetUser(ctx, "nope")
		wantErr(t, "GetUser unknown", err, store.ErrNotFound)
		_, err = s.GetUserByName(ctx, "nope")
		wantErr(t, "GetUserByName unknown", err, store.ErrNotFound)
		us, err := s.ListUsers(ctx)
		if diff := cmp.Diff([]store.User{alice, bob}, us); err != nil || diff != "" {
			t.Errorf("ListUsers: %v (-want +got):\n%s", err, diff)
		}
		if n, _ := s.CountUsers(ctx); n != 2 {
			t.Errorf("CountUsers = %d", n)
		}

		tk1 := store.APIToken{ID: "k1", UserID: "u1", Note: "ci", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		tk2 := store.APIToken{ID: "k2", UserID: "u2", CreatedAt: t0.Add(time.Minute)} // never expires
		tk3 := store.APIToken{ID: "k3", UserID: "u1", CreatedAt: t0.Add(2 * time.Minute), ExpiresAt: t0.Add(time.Hour)}
		for _, tk := range []store.APIToken{tk1, tk2, tk3} {
			if err := s.CreateAPIToken(ctx, tk, hash(tk.ID)); err != nil {
				t.Fatal(err)
			}
		}
		wantErr(t, "duplicate api token", s.CreateAPIToken(ctx, tk1, hash("k1")), store.ErrExists)
		wantErr(t, "api token for unknown user", s.CreateAPIToken(ctx, store.APIToken{ID: "k9", UserID: "zz"}, hash("k9")), store.ErrNotFound)

		now := t0.Add(10 * time.Minute)
		tk, u, err := s.LookupAPIToken(ctx, hash("k1"), now)
		if err != nil {
			t.Fatal(err)
		}
		if u.Name != "alice" || tk.ID != "k1" || tk.LastUsed == nil || !tk.LastUsed.Equal(now) {
			t.Errorf("lookup: %+v %+v", tk, u)
		}
		// Within a minute last_used is not rewritten.
		s.LookupAPIToken(ctx, hash("k1"), now.Add(30*time.Second))
		list, _ := s.ListAPITokens(ctx, "u1")
		if len(list) != 2 || list[0].ID != "k3" || list[1].LastUsed == nil || !list[1].LastUsed.Equal(now) {
			t.Errorf("ListAPITokens(u1) = %+v", list)
		}
		s.LookupAPIToken(ctx, hash("k1"), now.Add(2*time.Minute))
		list, _ = s.ListAPITokens(ctx, "")
		if len(list) != 3 || list[2].ID != "k1" || !list[2].LastUsed.Equal(now.Add(2*time.Minute)) {
			t.Errorf("ListAPITokens(all) = %+v", list)
		}
		if _, _, err := s.LookupAPIToken(ctx, hash("k2"), t0.Add(1000*time.Hour)); err != nil {
			t.Errorf("non-expiring token: %v", err)
		}
		_, _, err = s.LookupAPIToken(ctx, hash("k1"), t0.Add(time.Hour))
		wantErr(t, "expired", err, store.ErrAPITokenExpired)
		_, _, err = s.LookupAPIToken(ctx, hash("zz"), now)
		wantErr(t, "unknown", err, store.ErrNotFound)
		if err := s.RevokeAPIToken(ctx, "k3", now); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "revoke unknown", s.RevokeAPIToken(ctx, "zz", now), store.ErrNotFound)
		_, _, err = s.LookupAPIToken(ctx, hash("k3"), now)
		wantErr(t, "revoked", err, store.ErrAPITokenRevoked)

		// A disabled user's tokens stop working.
		dis := t0.Add(time.Second)
		carol := store.User{ID: "u4", Name: "carol", Role: store.RoleTier3, CreatedAt: t0, DisabledAt: &dis}
		if err := s.CreateUser(ctx, carol); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateAPIToken(ctx, store.APIToken{ID: "k4", UserID: "u4", CreatedAt: t0}, hash("k4")); err != nil {
			t.Fatal(err)
		}
		_, _, err = s.LookupAPIToken(ctx, hash("k4"), now)
		wantErr(t, "disabled user", err, store.ErrNotFound)
	})
}

func TestAuditAndSettings(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		evs := []store.AuditEvent{
			{Time: t0, Actor: "alice", Action: "token.create", Target: "tok1", Detail: map[string]any{"uses": float64(1)}, Remote: "10.0.0.1", Outcome: "ok"},
			{Time: t0.Add(time.Minute), Actor: "bob", Action: "device.revoke", Target: "d1", Outcome: "denied"},
			{Time: t0.Add(2 * time.Minute), Actor: "alice", Action: "device.revoke", Target: "d1", Outcome: "ok"},
			{Time: t0.Add(3 * time.Minute), Actor: "system", Action: "devices.prune", Outcome: "ok"},
		}
		for _, e := range evs {
			if err := s.AppendAudit(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		all, err := s.ListAudit(ctx, store.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 4 {
			t.Fatalf("ListAudit all: %d events", len(all))
		}
		for i := range evs {
			evs[i].ID = all[len(all)-1-i].ID
		}
		if diff := cmp.Diff([]store.AuditEvent{evs[3], evs[2], evs[1], evs[0]}, all); diff != "" {
			t.Errorf("ListAudit all (-want +got):\n%s", diff)
		}
		ids := func(es []store.AuditEvent) []int64 {
			var out []int64
			for _, e := range es {
				out = append(out, e.ID)
			}
			return out
		}
		for _, tc := range []struct {
			f    store.AuditFilter
			want []store.AuditEvent
		}{
			{store.AuditFilter{Actor: "alice"}, []store.AuditEvent{evs[2], evs[0]}},
			{store.AuditFilter{ActionPrefix: "device."}, []store.AuditEvent{evs[2], evs[1]}},
			{store.AuditFilter{ActionPrefix: "device"}, []store.AuditEvent{evs[3], evs[2], evs[1]}},
			{store.AuditFilter{Target: "d1", Actor: "bob"}, []store.AuditEvent{evs[1]}},
			{store.AuditFilter{Since: t0.Add(time.Minute), Until: t0.Add(2 * time.Minute)}, []store.AuditEvent{evs[2], evs[1]}},
			{store.AuditFilter{Limit: 2}, []store.AuditEvent{evs[3], evs[2]}},
			{store.AuditFilter{BeforeID: evs[2].ID, Limit: 1}, []store.AuditEvent{evs[1]}},
			{store.AuditFilter{Actor: "nobody"}, nil},
		} {
			got, err := s.ListAudit(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(ids(tc.want), ids(got)); diff != "" {
				t.Errorf("ListAudit(%+v) (-want +got):\n%s", tc.f, diff)
			}
		}
		if err := s.AppendAudit(ctx, store.AuditEvent{Actor: "x", Action: "user.login"}); err != nil {
			t.Fatal(err)
		}
		last, _ := s.ListAudit(ctx, store.AuditFilter{Limit: 1})
		if len(last) != 1 || last[0].Time.IsZero() {
			t.Errorf("zero time not filled: %+v", last)
		}

		if _, ok, err := s.GetSetting(ctx, "missing"); err != nil || ok {
			t.Errorf("missing setting: %v %v", ok, err)
		}
		for _, v := range []string{"one", "two"} {
			if err := s.PutSetting(ctx, "k", v); err != nil {
				t.Fatal(err)
			}
			if got, ok, err := s.GetSetting(ctx, "k"); err != nil || !ok || got != v {
				t.Errorf("GetSetting = %q %v %v, want %q", got, ok, err, v)
			}
		}
	})
}

// ---- durability ----

const durabilityEnv = "TIERLINE_STORE_DURABILITY_DB"

// TestDurability SIGKILLs a process that is ingesting and checks that every
// sequence number it acknowledged survived.
func TestDurability(t *testing.T) {
	if path := os.Getenv(durabilityEnv); path != "" {
		durabilityChild(path)
		return
	}
	if testing.Short() {
		t.Skip("short")
	}
	path := filepath.Join(t.TempDir(), "hub.db")
	s, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	enroll(t, s, "d1", "one")
	s.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^TestDurability$", "-test.count=1")
	cmd.Env = append(os.Environ(), durabilityEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[uint64]bool{}
	var maxSeq uint64
	sc := bufio.NewScanner(out)
	killed := false
	deadline := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 || f[0] != "ack" {
			continue
		}
		seq, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			continue
		}
		acked[seq] = true
		maxSeq = max(maxSeq, seq)
		if !killed && len(acked) >= 400 {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	cmd.Wait()
	if !killed {
		t.Fatalf("child ended before being killed after %d acks", len(acked))
	}

	s, err = store.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	pts, err := s.Telemetry(ctx, store.TelemetryQuery{DeviceID: "d1", Since: t0.Add(-time.Hour), Until: t0.Add(1000 * time.Hour), Limit: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	stored := map[uint64]bool{}
	for _, p := range pts {
		stored[p.Seq] = true
	}
	var lost []uint64
	for seq := range acked {
		if !stored[seq] {
			lost = append(lost, seq)
		}
	}
	if len(lost) > 0 {
		t.Errorf("%d acknowledged seqs lost after SIGKILL, e.g. %v", len(lost), lost[:min(10, len(lost))])
	}
	d, err := s.GetDevice(ctx, "d1")
	if err != nil {
		t.Fatal(err)
	}
	if d.LastSeq < maxSeq {
		t.Errorf("last seq %d below acknowledged %d", d.LastSeq, maxSeq)
	}
	t.Logf("%d seqs acknowledged, %d stored, last seq %d", len(acked), len(stored), d.LastSeq)
}

func durabilityChild(path string) {
	s, err := store.Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(2)
	}
	stop := time.Now().Add(30 * time.Second)
	seq := uint64(0)
	for time.Now().Before(stop) {
		var items []store.IngestItem
		for range 5 {
			seq++
			items = append(items, telemetryItem("d1", seq, sample(t0.Add(time.Duration(seq)*time.Second), 1, 2, 3, 4, 5, 6)))
		}
		res, err := s.Ingest(ctx, items)
		if err != nil {
			fmt.Fprintln(os.Stderr, "child ingest:", err)
			os.Exit(2)
		}
		var b strings.Builder
		for i, r := range res {
			if r.Err == nil && !r.Duplicate {
				fmt.Fprintf(&b, "ack %d\n", items[i].Seq)
			}
		}
		os.Stdout.WriteString(b.String())
	}
	os.Exit(0)
}

// ---- benchmark ----

func BenchmarkIngest(b *testing.B) {
	s := storetest.Open(b)
	const devices = 10
	for i := range devices {
		enroll(b, s, fmt.Sprintf("d%d", i), fmt.Sprintf("host%d", i))
	}
	base := sample(t0, 12.5, 40, 70, 0.8, 12345, 6789)
	base.CPU.PerCore = []float64{10, 15, 12, 13}
	base.TopCPU = []diag.Process{{PID: 1, Name: "init", CPUPct: 1}, {PID: 42, Name: "chrome", CPUPct: 30, RSS: 1 << 30}}
	seq := make([]uint64, devices)
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; b.Loop(); n++ {
		items := make([]store.IngestItem, 100)
		for i := range items {
			dev := i % devices
			seq[dev]++
			smp := *base
			smp.Time = t0.Add(time.Duration(seq[dev]) * time.Second)
			items[i] = telemetryItem(fmt.Sprintf("d%d", dev), seq[dev], &smp)
		}
		if _, err := s.Ingest(ctx, items); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "items/s")
}

func TestSetPresence(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		enroll(t, s, "p-a", "alpha")
		enroll(t, s, "p-b", "bravo")
		at := t0.Add(time.Minute)
		err := s.SetPresence(ctx, []store.Presence{
			{ID: "p-a", Online: true, Hello: store.DeviceHello{Hostname: "alpha2", OS: "linux", AgentVersion: "2.0"}, At: at},
			{ID: "p-b", Online: true, Hello: store.DeviceHello{Hostname: "bravo"}, At: at},
			{ID: "unknown", Online: true, At: at},
			{ID: "p-b", Online: false, At: at.Add(time.Second)},
		})
		if err != nil {
			t.Fatal(err)
		}
		a, _ := s.GetDevice(ctx, "p-a")
		b, _ := s.GetDevice(ctx, "p-b")
		if !a.Online || a.Hostname != "alpha2" || a.AgentVersion != "2.0" || a.LastSeen == nil || !a.LastSeen.Equal(at) {
			t.Errorf("p-a after connect: online %v host %q version %q seen %v", a.Online, a.Hostname, a.AgentVersion, a.LastSeen)
		}
		if b.Online || b.LastSeen == nil || !b.LastSeen.Equal(at.Add(time.Second)) {
			t.Errorf("p-b after connect then disconnect: online %v seen %v", b.Online, b.LastSeen)
		}
		total, online, err := s.CountDevices(ctx)
		if err != nil || total != 2 || online != 1 {
			t.Errorf("CountDevices = %d, %d, %v; want 2, 1", total, online, err)
		}
		// Several events of one device in a batch: the last decides, with
		// the hostname of the last connect.
		err = s.SetPresence(ctx, []store.Presence{
			{ID: "p-b", Online: true, Hello: store.DeviceHello{Hostname: "bravo2"}, At: at.Add(2 * time.Second)},
			{ID: "p-a", Online: false, At: at.Add(2 * time.Second)},
			{ID: "p-b", Online: false, At: at.Add(3 * time.Second)},
			{ID: "p-a", Online: true, Hello: store.DeviceHello{Hostname: "alpha3"}, At: at.Add(3 * time.Second)},
			{ID: "p-b", Online: true, Hello: store.DeviceHello{Hostname: "bravo3"}, At: at.Add(4 * time.Second)},
			{ID: "p-b", Online: false, At: at.Add(5 * time.Second)},
		})
		if err != nil {
			t.Fatal(err)
		}
		a, _ = s.GetDevice(ctx, "p-a")
		b, _ = s.GetDevice(ctx, "p-b")
		if !a.Online || a.Hostname != "alpha3" || !a.LastSeen.Equal(at.Add(3*time.Second)) {
			t.Errorf("p-a after disconnect then connect: online %v host %q seen %v", a.Online, a.Hostname, a.LastSeen)
		}
		if b.Online || b.Hostname != "bravo3" || !b.LastSeen.Equal(at.Add(5*time.Second)) {
			t.Errorf("p-b after connect, disconnect, connect, disconnect: online %v host %q seen %v", b.Online, b.Hostname, b.LastSeen)
		}
		if err := s.SetPresence(ctx, nil); err != nil {
			t.Errorf("empty batch: %v", err)
		}
	})
}

func TestDeviceAuth(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		enroll(t, s, "auth-a", "alpha")
		res, err := s.Ingest(ctx, []store.IngestItem{{DeviceID: "auth-a", Seq: 4, Kind: store.KindInventory, Inventory: &diag.Inventory{Hostname: "alpha"}}})
		if err != nil || res[0].Err != nil {
			t.Fatalf("ingest: %v %v", err, res)
		}
		d, err := s.DeviceAuth(ctx, "auth-a")
		if err != nil {
			t.Fatal(err)
		}
		if string(d.PublicKey) != "pk-auth-a" || d.LastSeq != 4 || d.RevokedAt != nil {
			t.Errorf("DeviceAuth: key %q last_seq %d revoked %v", d.PublicKey, d.LastSeq, d.RevokedAt)
		}
		if d.Inventory != nil || d.Latest != nil || d.Health != nil {
			t.Error("DeviceAuth decoded inventory, telemetry or health; it should read the device row only")
		}
		if err := s.RevokeDevice(ctx, "auth-a", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if d, _ := s.DeviceAuth(ctx, "auth-a"); d.RevokedAt == nil {
			t.Error("DeviceAuth does not show the revocation")
		}
		_, err = s.DeviceAuth(ctx, "nope")
		wantErr(t, "DeviceAuth unknown", err, store.ErrNotFound)
	})
}
